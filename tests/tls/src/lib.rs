//! A loopback HTTPS server for the TLS tests: it presents the certificate it is given, answers
//! the few paths the tests call (a page of products, an OAuth grant, a site's tenant info), and
//! records each handshake's offered key exchange groups and each request it read, so a test knows
//! which TLS library spoke to it and whether a handshake it expected to fail let a request through.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::NamedGroup;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A test certificate: `ca.pem` (a test authority), `localhost.pem` (a certificate it signed for
/// `localhost`), `stranger.pem` (a self-signed one for `localhost` that nothing trusts), and their
/// keys. They are valid until 2126.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("certs")
        .join(name)
}

/// What the server saw.
#[derive(Default)]
struct Seen {
    /// The key exchange groups each client hello offered, in order.
    groups: Vec<Vec<NamedGroup>>,
    /// The request line (`GET /path`) of every request read after a handshake.
    requests: Vec<String>,
}

/// The server; it stops when dropped.
pub struct TlsServer {
    /// The port on 127.0.0.1.
    pub port: u16,
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl TlsServer {
    /// Serves `certificate` (`localhost.pem` or `stranger.pem`, with its key) on 127.0.0.1.
    pub async fn start(certificate: &str) -> Self {
        let chain = vec![CertificateDer::from_pem_file(fixture(certificate)).unwrap()];
        let key =
            PrivateKeyDer::from_pem_file(fixture(&certificate.replace(".pem", ".key"))).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let recorded = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, config.clone(), recorded.clone()));
            }
        });
        Self { port, seen, task }
    }

    /// `https://{host}:{port}`.
    pub fn url(&self, host: &str) -> String {
        format!("https://{host}:{}", self.port)
    }

    /// Every request line read so far.
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().requests.clone()
    }

    /// The key exchange groups each client hello offered so far.
    pub fn offered_groups(&self) -> Vec<Vec<NamedGroup>> {
        self.seen.lock().unwrap().groups.clone()
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    stream: tokio::net::TcpStream,
    config: Arc<rustls::ServerConfig>,
    seen: Arc<Mutex<Seen>>,
) {
    let acceptor = rustls::server::Acceptor::default();
    let Ok(start) = tokio_rustls::LazyConfigAcceptor::new(acceptor, stream).await else {
        return;
    };
    let groups = start.client_hello().named_groups().unwrap_or_default();
    seen.lock().unwrap().groups.push(groups.to_vec());
    // A client that refuses the certificate ends the handshake: nothing to serve.
    let Ok(mut stream) = start.into_stream(config).await else {
        return;
    };
    if let Some(line) = answer(&mut stream).await {
        seen.lock().unwrap().requests.push(line);
    }
}

/// Reads one request and answers it by its path; returns its request line.
async fn answer(
    stream: &mut tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
) -> Option<String> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        head.extend_from_slice(&chunk[..read]);
    }
    // The body (an OAuth grant's form) is read to its end before the answer.
    let text = String::from_utf8_lossy(&head).to_string();
    let head_end = head.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let length: usize = text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0);
    let mut read_so_far = head.len() - head_end;
    while read_so_far < length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        read_so_far += read;
    }
    let line = text.lines().next()?.rsplit_once(' ')?.0.to_string();
    let path = line.split(' ').nth(1)?.split('?').next()?;
    let body = match path {
        "/api/v1/product" => r#"{"results":[]}"#,
        "/oauth/token" => {
            r#"{"access_token":"granted","expires_in":3600,"scope":"read:product:jira-service-management"}"#
        }
        "/_edge/tenant_info" => r#"{"cloudId":"1a2b3c4d-0000-4000-8000-000000000001"}"#,
        _ => "{}",
    };
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await.ok()?;
    let _ = stream.shutdown().await;
    Some(line)
}
