//! A TLS handshake with the client's TLS feature: the API's client, the token endpoint's and the
//! site discovery's reach a loopback HTTPS server whose certificate a test authority signed, and
//! refuse one nothing trusts or one for another name, sending no request to either. The client
//! hello shows which TLS library spoke: only aws-lc-rs offers the post-quantum hybrid group, only
//! OpenSSL offers X448 or finite-field groups, and ring offers exactly its three curves.
//!
//! Run with each feature (CI does): `cargo test -p atlassian-csm-tls-tests`, then with
//! `--no-default-features --features rustls-aws-lc`, and with `--features native-tls`.
//!
//! The test authority is trusted the way an administrator trusts a company's own: through
//! `SSL_CERT_FILE`, which the platform's verifier (rustls) and OpenSSL (native-tls) both read on
//! Linux. The variable is set before anything else runs in this binary, which holds one test.
#![cfg(target_os = "linux")]

use atlassian_csm::{Client, Credentials, Error, OAuthTokenSource, RetryPolicy};
use atlassian_csm_tls_tests::{fixture, TlsServer};
use rustls::NamedGroup;

fn client(base_url: String, credentials: Credentials) -> Client {
    Client::builder()
        .base_url(base_url)
        .credentials(credentials)
        .retry_policy(RetryPolicy::default().max_attempts(1))
        .build()
        .unwrap()
}

/// Whether a client hello's groups are the ones the TLS feature under test offers.
fn offered_by_the_feature(groups: &[NamedGroup]) -> bool {
    if cfg!(feature = "native-tls") {
        groups
            .iter()
            .any(|g| matches!(g, NamedGroup::X448 | NamedGroup::FFDHE2048))
    } else if cfg!(feature = "rustls-aws-lc") {
        groups.contains(&NamedGroup::X25519MLKEM768)
    } else {
        groups
            == [
                NamedGroup::X25519,
                NamedGroup::secp256r1,
                NamedGroup::secp384r1,
            ]
    }
}

/// One test, so that setting the environment races with no other thread of this binary.
#[test]
fn every_client_the_crate_makes_speaks_the_features_tls_and_trusts_only_the_platforms_roots() {
    std::env::set_var("SSL_CERT_FILE", fixture("ca.pem"));
    std::env::remove_var("SSL_CERT_DIR");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let trusted = TlsServer::start("localhost.pem").await;
        let stranger = TlsServer::start("stranger.pem").await;

        // The API's client.
        client(trusted.url("localhost"), Credentials::bearer("t"))
            .get_products()
            .send()
            .await
            .expect("a certificate the trusted authority signed is accepted");
        assert_eq!(trusted.requests(), ["GET /api/v1/product"]);

        // Refused, before any request: a certificate nothing trusts, or one for another name.
        for (server, host, why) in [
            (&stranger, "localhost", "a self-signed certificate"),
            (&trusted, "127.0.0.1", "a certificate for another name"),
        ] {
            let before = server.requests().len();
            let error = client(server.url(host), Credentials::bearer("t"))
                .get_products()
                .send()
                .await
                .expect_err(why);
            assert!(matches!(error, Error::Transport { .. }), "{why}: {error:?}");
            assert_eq!(server.requests().len(), before, "{why}: a request was read");
        }

        // The token endpoint's client.
        // A call to the trusted API whose token comes from `server`'s endpoint.
        let with_tokens_from = |server: &TlsServer| {
            let tokens = OAuthTokenSource::client_credentials("client-id", "secret")
                .token_url(format!("{}/oauth/token", server.url("localhost")));
            client(trusted.url("localhost"), Credentials::token_source(tokens))
        };
        with_tokens_from(&trusted)
            .get_products()
            .send()
            .await
            .expect("the token endpoint's certificate is accepted");
        assert!(trusted
            .requests()
            .contains(&"POST /oauth/token".to_string()));
        let error = with_tokens_from(&stranger)
            .get_products()
            .send()
            .await
            .expect_err("a token endpoint with a self-signed certificate");
        assert!(stranger.requests().is_empty(), "{error:?}");

        // The site discovery's client.
        let discover = |server: &TlsServer| {
            Client::builder()
                .site("acme.atlassian.net")
                .tenant_info_url(format!("{}/_edge/tenant_info", server.url("localhost")))
                .credentials(Credentials::bearer("t"))
                .retry_policy(RetryPolicy::default().max_attempts(1))
                .build_async()
        };
        discover(&trusted)
            .await
            .expect("the site's certificate is accepted");
        assert!(trusted
            .requests()
            .contains(&"GET /_edge/tenant_info".to_string()));
        discover(&stranger)
            .await
            .expect_err("a site with a self-signed certificate");
        assert!(stranger.requests().is_empty());

        // Every hello, accepted or refused, came from the feature's TLS library.
        let hellos: Vec<_> = [&trusted, &stranger]
            .iter()
            .flat_map(|server| server.offered_groups())
            .collect();
        assert_eq!(hellos.len(), 8, "one handshake a connection: {hellos:?}");
        for groups in hellos {
            assert!(offered_by_the_feature(&groups), "{groups:?}");
        }
        // And the client installed no provider for the whole process.
        assert!(rustls::crypto::CryptoProvider::get_default().is_none());
    });
}
