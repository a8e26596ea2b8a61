//! The crate's error type.

/// Everything that can go wrong when configuring or using the client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client was configured in a way that cannot work; nothing was sent.
    #[error("invalid client configuration: {0}")]
    Config(String),
}
