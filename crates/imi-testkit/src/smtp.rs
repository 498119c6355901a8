//! A real SMTP server on loopback for tests: it accepts every mail and keeps what it received.

use mailin_embedded::{response, Handler, Response, Server, SslConfig};
use std::net::{IpAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A mail as the server received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// The whole message (headers and body) as sent.
    pub data: String,
}

impl ReceivedMail {
    /// The value of the first header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            match &mut value {
                Some(v) if line.starts_with([' ', '\t']) => v.push_str(line.trim_end()),
                Some(_) => break,
                None => {
                    if let Some((key, rest)) = line.split_once(':') {
                        if key.eq_ignore_ascii_case(name) {
                            value = Some(rest.trim().to_string());
                        }
                    }
                }
            }
        }
        value
    }

    /// The body, with quoted-printable soft line breaks and `=XX` escapes decoded.
    pub fn body(&self) -> String {
        let raw = self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        if !self
            .header("Content-Transfer-Encoding")
            .is_some_and(|e| e.eq_ignore_ascii_case("quoted-printable"))
        {
            return raw.to_string();
        }
        let joined = raw.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[derive(Clone)]
struct Collector {
    received: Arc<Mutex<Vec<ReceivedMail>>>,
    current: Option<ReceivedMail>,
}

impl Handler for Collector {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(ReceivedMail {
            from: from.to_string(),
            to: to.to_vec(),
            data: String::new(),
        });
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(mail) = &mut self.current {
            mail.data.push_str(&String::from_utf8_lossy(buf));
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(mail) = self.current.take() {
            self.received.lock().expect("mailbox").push(mail);
        }
        response::OK
    }

    fn helo(&mut self, _ip: IpAddr, _domain: &str) -> Response {
        response::OK
    }
}

/// An SMTP server listening on 127.0.0.1 (a free port) until the test process ends.
#[derive(Clone)]
pub struct SmtpServer {
    pub port: u16,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl SmtpServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let port = listener.local_addr().expect("its address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let mut server = Server::new(Collector {
            received: received.clone(),
            current: None,
        });
        server
            .with_name("smtp.test")
            .with_ssl(SslConfig::None)
            .expect("no TLS")
            .with_num_threads(4)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { port, received }
    }

    /// The URL the mailer takes.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn received(&self) -> Vec<ReceivedMail> {
        self.received.lock().expect("mailbox").clone()
    }

    /// The mails sent to `address`.
    pub fn to(&self, address: &str) -> Vec<ReceivedMail> {
        self.received()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// Waits (up to `timeout`) until at least `n` mails arrived; returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let start = Instant::now();
        loop {
            let got = self.received();
            if got.len() >= n || start.elapsed() > timeout {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
