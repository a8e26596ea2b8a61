//! A loopback HTTP/1.1 server that records every request and answers from a script, including
//! faults a real mock cannot make: a connection cut mid-body, a reply slower than a timeout.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// The request target exactly as sent (path and query, still percent-encoded).
    pub target: String,
    /// Header names lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the request had been read.
    pub received_at: std::time::Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete response.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Headers announcing `declared` body bytes, then only `sent`, then the connection closes.
    CutMidBody {
        status: u16,
        declared: usize,
        sent: Vec<u8>,
    },
    /// Waits before replying.
    After(Duration, Box<Reply>),
    /// A body that does not end: bytes are written until the client stops reading (or 4 GiB, or
    /// 30 s, whichever comes first), framed as `framing` says.
    Flood { status: u16, framing: Framing },
}

/// How a flood's body is framed.
#[derive(Clone, Copy, Debug)]
pub enum Framing {
    /// `Content-Length` announcing this many bytes.
    Declared(u64),
    /// `Transfer-Encoding: chunked`, never ending.
    Chunked,
    /// No length: the body lasts until the connection closes.
    UntilClose,
}

impl Reply {
    /// A body with a content type of its own (HTML from a proxy, truncated JSON…).
    pub fn raw(status: u16, content_type: &str, body: &str) -> Self {
        Self::Respond {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self::Respond {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    pub fn status(status: u16) -> Self {
        Self::Respond {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with_header(self, name: &str, value: &str) -> Self {
        match self {
            Self::Respond {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.to_string(), value.to_string()));
                Self::Respond {
                    status,
                    headers,
                    body,
                }
            }
            other => other,
        }
    }
}

/// The server; it stops when dropped.
pub struct ScriptedServer {
    pub base_url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedServer {
    /// Starts a server that answers the n-th request with `script[n]` (the last entry repeats).
    pub async fn start(script: Vec<Reply>) -> Self {
        assert!(!script.is_empty(), "a script needs at least one reply");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let script = Arc::new(script);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let recorded = recorded.clone();
                let script = script.clone();
                tokio::spawn(serve(stream, recorded, script));
            }
        });
        Self {
            base_url,
            requests,
            task,
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut stream: TcpStream,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    script: Arc<Vec<Reply>>,
) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    let reply = {
        let mut requests = recorded.lock().unwrap();
        let index = requests.len().min(script.len() - 1);
        requests.push(request);
        script[index].clone()
    };
    write_reply(&mut stream, reply).await;
}

async fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let target = request_line.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Some(Recorded {
        method,
        target,
        headers,
        body,
        received_at: std::time::Instant::now(),
    })
}

async fn write_reply(stream: &mut TcpStream, reply: Reply) {
    let mut reply = reply;
    while let Reply::After(delay, inner) = reply {
        tokio::time::sleep(delay).await;
        reply = *inner;
    }
    if let Reply::Flood { status, framing } = reply {
        return flood(stream, status, framing).await;
    }
    let (status, headers, body, declared) = match reply {
        Reply::Respond {
            status,
            headers,
            body,
        } => {
            let length = body.len();
            (status, headers, body, length)
        }
        Reply::CutMidBody {
            status,
            declared,
            sent,
        } => (
            status,
            vec![("content-type".to_string(), "application/json".to_string())],
            sent,
            declared,
        ),
        Reply::After(..) | Reply::Flood { .. } => unreachable!(),
    };
    let mut head =
        format!("HTTP/1.1 {status} Status\r\ncontent-length: {declared}\r\nconnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
}

/// Writes an endless body until the client stops reading; bounded in bytes and time.
async fn flood(stream: &mut TcpStream, status: u16, framing: Framing) {
    const MAX_BYTES: u64 = 4 << 30;
    let length = match framing {
        Framing::Declared(length) => format!("content-length: {length}\r\n"),
        Framing::Chunked => "transfer-encoding: chunked\r\n".to_string(),
        Framing::UntilClose => String::new(),
    };
    let head = format!(
        "HTTP/1.1 {status} Status\r\ncontent-type: application/json\r\n{length}connection: close\r\n\r\n"
    );
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let block = vec![b' '; 64 * 1024];
    let chunk_head = format!("{:x}\r\n", block.len());
    let started = std::time::Instant::now();
    let mut written = 0u64;
    while written < MAX_BYTES && started.elapsed() < Duration::from_secs(30) {
        let sent = match framing {
            Framing::Chunked => {
                stream.write_all(chunk_head.as_bytes()).await.is_ok()
                    && stream.write_all(&block).await.is_ok()
                    && stream.write_all(b"\r\n").await.is_ok()
            }
            _ => stream.write_all(&block).await.is_ok(),
        };
        if !sent {
            return;
        }
        written += block.len() as u64;
    }
}
