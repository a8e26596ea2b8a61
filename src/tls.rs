//! The TLS configuration of every HTTP client the crate makes (the API's, the site discovery's
//! and the token endpoint's), chosen by the crate's features.
//!
//! With a `rustls` feature, reqwest is built without a cryptography provider of its own and is
//! handed a configuration made here: no process-wide default provider is installed, so the
//! crate changes nothing for the rest of the program. With `native-tls`, reqwest uses the
//! platform's library (it wins when a `rustls` feature is also on, as it does in reqwest).

/// The rustls configuration reqwest is handed.
///
/// The provider is the one the process installed as rustls's default, when it installed one
/// (a FIPS provider, say); otherwise aws-lc-rs with the `rustls-aws-lc` feature, else ring.
///
/// Certificates are checked by the platform's verifier (`rustls-platform-verifier`), exactly as
/// reqwest's own rustls does: the operating system's trust store, so the roots an administrator
/// installed (a company's proxy, say) are trusted, and macOS and Windows check revocation as the
/// system does. A compiled-in list of roots (`webpki-roots`) would ignore them, and age with the
/// crate's release. On Linux the store is the system's bundle, or `SSL_CERT_FILE` /
/// `SSL_CERT_DIR` when set.
///
/// Only HTTP/1.1 is offered by ALPN, as reqwest offers without its `http2` feature.
#[cfg(all(
    any(feature = "rustls", feature = "rustls-aws-lc"),
    not(feature = "native-tls")
))]
pub(crate) fn rustls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_platform_verifier()?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The process's default provider when it installed one, else the feature's.
#[cfg(all(
    any(feature = "rustls", feature = "rustls-aws-lc"),
    not(feature = "native-tls")
))]
fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    if let Some(installed) = rustls::crypto::CryptoProvider::get_default() {
        return installed.clone();
    }
    #[cfg(feature = "rustls-aws-lc")]
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    #[cfg(not(feature = "rustls-aws-lc"))]
    let provider = rustls::crypto::ring::default_provider();
    std::sync::Arc::new(provider)
}

#[cfg(all(
    test,
    any(feature = "rustls", feature = "rustls-aws-lc"),
    not(feature = "native-tls")
))]
mod tests {
    use super::*;

    /// The provider is the feature's (the TLS handshakes themselves are tested in `tests/tls.rs`),
    /// and building a configuration installs no process-wide default.
    #[test]
    fn the_provider_is_the_features_and_none_is_installed() {
        let config = rustls_config().expect("the platform's roots load");
        let random = format!("{:?}", config.crypto_provider().secure_random);
        let expected = if cfg!(feature = "rustls-aws-lc") {
            "AwsLcRs"
        } else {
            "Ring"
        };
        assert_eq!(random, expected);
        assert!(rustls::crypto::CryptoProvider::get_default().is_none());
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    }
}
