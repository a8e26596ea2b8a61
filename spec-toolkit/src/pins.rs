//! The generator crates the build script's post-processing was written and tested against.
//!
//! `Cargo.toml` pins each exactly (`=`), so a user's build resolves the generator CI ran; `cargo
//! xtask check-pins` fails when these, the pins in `Cargo.toml` and `Cargo.lock` disagree. To move
//! to a newer generator, change all three together and run the tests.

/// progenitor (and progenitor-impl, progenitor-client: released together).
pub const PROGENITOR: &str = "0.15.1";
/// typify (and typify-impl), which progenitor generates the types with.
pub const TYPIFY: &str = "0.8.0";

/// Every pinned crate with its version.
pub const PINNED: [(&str, &str); 5] = [
    ("progenitor", PROGENITOR),
    ("progenitor-impl", PROGENITOR),
    ("progenitor-client", PROGENITOR),
    ("typify", TYPIFY),
    ("typify-impl", TYPIFY),
];
