//! Header names on the wire in the case DESIGN.md writes them (`X-Aethenox-Signature`, the
//! Standard Webhooks `webhook-*` in lower case, custom headers as typed). awc writes every name
//! in lower case (the `http` crate keeps them so), which receivers that look headers up
//! case-sensitively (PHP's `getallheaders()`, a plain dictionary) miss. So the connection awc
//! writes to is ours: it connects under the URL policy, does TLS itself (awc's TLS sits below
//! anything we could wrap), and recases the names of each request head as it passes, byte for
//! byte (a name's case never changes its length). An https target is handed to awc as
//! `http://tls@host:port/…` (see [`wire_url`]), which this connector reads as "TLS to host";
//! every connection speaks HTTP/1.1, where case exists (HTTP/2 has lower-case names only).

use actix_tls::connect::rustls_0_23::{self, TlsConnectorService, reexports::AsyncTlsStream};
use actix_tls::connect::{ConnectError, ConnectInfo, Connection, ConnectorService};
use actix_web::dev::Service;
use actix_web::rt::net::TcpStream;
use awc::http::Uri;
use futures_core::future::LocalBoxFuture;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The marker of a target to reach over TLS.
const TLS_USER: &str = "tls";

/// The names this server sends, as DESIGN.md writes them.
const OWN_NAMES: [&str; 14] = [
    "Host",
    "Content-Type",
    "Content-Length",
    "User-Agent",
    "X-Aethenox-Signature",
    "X-Aethenox-Event",
    "X-Aethenox-Delivery",
    "X-Aethenox-Timestamp",
    "X-Aethenox-Workspace",
    "X-Aethenox-Test",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "Transfer-Encoding",
];

/// Most custom names remembered per thread before the memory starts again.
const MAX_CUSTOM_NAMES: usize = 4096;

/// Longest request head recased; a longer one (never ours) passes as written.
const MAX_HEAD: usize = 64 * 1024;

thread_local! {
    /// Custom header names as typed, by their lower case: awc and its connections live on one
    /// thread, so the names `send` registers are the ones this thread's connections write.
    static CUSTOM: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
}

/// Remembers custom header names as typed, for the heads this thread writes next.
pub fn remember_names<'a>(names: impl Iterator<Item = &'a str>) {
    CUSTOM.with(|m| {
        let mut m = m.borrow_mut();
        for name in names {
            let lower = name.to_ascii_lowercase();
            if m.get(&lower).is_some_and(|n| n == name) {
                continue;
            }
            if m.len() >= MAX_CUSTOM_NAMES {
                m.clear();
            }
            m.insert(lower, name.to_owned());
        }
    });
}

/// The URL awc is given for `url`: an https target as `http://tls@host:port/…` (the port
/// written out, so that the Host header awc derives names the same host and port).
pub fn wire_url(url: &url::Url) -> String {
    if url.scheme() != "https" {
        return url.to_string();
    }
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(443);
    let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
    format!("http://{TLS_USER}@{host}:{port}{path}")
}

/// Recases the header names of one request head (request line to the blank line) in place.
pub fn recase_head(head: &mut [u8]) {
    let mut lines = head.split_mut(|b| *b == b'\n');
    lines.next(); // the request line
    CUSTOM.with(|custom| {
        let custom = custom.borrow();
        for line in lines {
            let Some(colon) = line.iter().position(|b| *b == b':') else {
                continue;
            };
            let name = &mut line[..colon];
            let own = OWN_NAMES
                .iter()
                .find(|n| n.as_bytes().eq_ignore_ascii_case(name));
            let cased = match own {
                Some(n) => Some(n.as_bytes()),
                None if custom.is_empty() => None,
                None => std::str::from_utf8(name)
                    .ok()
                    .and_then(|t| custom.get(&t.to_ascii_lowercase()))
                    .map(String::as_bytes),
            };
            if let Some(cased) = cased
                && cased.len() == name.len()
            {
                name.copy_from_slice(cased);
            }
        }
    });
}

/// The value of Content-Length in a head, if it has one.
fn content_length(head: &[u8]) -> Option<u64> {
    head.split(|b| *b == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|b| *b == b':')?;
        if !line[..colon].eq_ignore_ascii_case(b"content-length") {
            return None;
        }
        std::str::from_utf8(&line[colon + 1..])
            .ok()?
            .trim()
            .parse()
            .ok()
    })
}

/// The stream under a connection: TCP, or TLS over it.
pub enum Wire {
    Plain(TcpStream),
    Tls(Box<AsyncTlsStream<TcpStream>>),
}

impl Wire {
    fn tcp(&self) -> &TcpStream {
        match self {
            Wire::Plain(s) => s,
            Wire::Tls(s) => s.get_ref().0,
        }
    }
}

enum Writing {
    /// Gathering a request head.
    Head,
    /// Passing this many body bytes through.
    Body(u64),
    /// A request this stream does not understand (no Content-Length): everything passes.
    Through,
}

/// A connection that recases the names of every request head written to it.
pub struct Recased {
    io: Wire,
    writing: Writing,
    /// The head gathered so far.
    head: Vec<u8>,
    /// Recased bytes taken from the caller and not yet written.
    out: Vec<u8>,
    out_at: usize,
}

impl std::fmt::Debug for Recased {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.io {
            Wire::Plain(_) => "plain",
            Wire::Tls(_) => "tls",
        };
        f.debug_struct("Recased").field("io", &kind).finish()
    }
}

impl Recased {
    pub fn new(io: Wire) -> Self {
        Recased {
            io,
            writing: Writing::Head,
            head: Vec::new(),
            out: Vec::new(),
            out_at: 0,
        }
    }

    fn io(&mut self) -> Pin<&mut (dyn AsyncWriteRead + Unpin)> {
        pinned(&mut self.io)
    }

    /// Writes what was taken and not yet written.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_at < self.out.len() {
            let written = pinned(&mut self.io).poll_write(cx, &self.out[self.out_at..]);
            match ready!(written) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => self.out_at += n,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        self.out.clear();
        self.out_at = 0;
        Poll::Ready(Ok(()))
    }

    /// Takes head bytes from `buf`; a complete head is recased and queued. Returns how many
    /// bytes were taken.
    fn take_head(&mut self, buf: &[u8]) -> usize {
        let seen = self.head.len();
        self.head.extend_from_slice(buf);
        // The end may straddle what was gathered before and this buffer.
        let from = seen.saturating_sub(3);
        let end = self.head[from..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| from + i + 4);
        let Some(end) = end else {
            if self.head.len() > MAX_HEAD {
                self.writing = Writing::Through;
                self.out = std::mem::take(&mut self.head);
            }
            return buf.len();
        };
        let taken = end - seen;
        self.head.truncate(end);
        recase_head(&mut self.head);
        self.writing = match content_length(&self.head) {
            Some(0) => Writing::Head,
            Some(n) => Writing::Body(n),
            None => Writing::Through,
        };
        self.out = std::mem::take(&mut self.head);
        taken
    }
}

fn pinned(io: &mut Wire) -> Pin<&mut (dyn AsyncWriteRead + Unpin)> {
    match io {
        Wire::Plain(s) => Pin::new(s),
        Wire::Tls(s) => Pin::new(s.as_mut()),
    }
}

/// What `Recased` needs of the stream under it.
trait AsyncWriteRead: AsyncRead + AsyncWrite {}
impl<T: AsyncRead + AsyncWrite> AsyncWriteRead for T {}

impl AsyncWrite for Recased {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        match this.writing {
            Writing::Through => this.io().poll_write(cx, buf),
            Writing::Body(left) => {
                let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                let n = ready!(this.io().poll_write(cx, &buf[..n]))?;
                let left = left - n as u64;
                this.writing = if left == 0 {
                    Writing::Head
                } else {
                    Writing::Body(left)
                };
                Poll::Ready(Ok(n))
            }
            Writing::Head => {
                let mut taken = this.take_head(buf);
                // The body bytes that came with the head go in the same write (one segment on
                // the wire, as without this stream).
                if let Writing::Body(left) = this.writing
                    && taken < buf.len()
                {
                    let more = (buf.len() - taken).min(usize::try_from(left).unwrap_or(usize::MAX));
                    this.out.extend_from_slice(&buf[taken..taken + more]);
                    taken += more;
                    let left = left - more as u64;
                    this.writing = if left == 0 {
                        Writing::Head
                    } else {
                        Writing::Body(left)
                    };
                }
                // Taken is taken: what cannot be written now is written by the next call
                // or by flush.
                if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(taken))
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        this.io().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        this.io().poll_shutdown(cx)
    }
}

impl AsyncRead for Recased {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().io().poll_read(cx, buf)
    }
}

impl actix_web::rt::net::ActixStream for Recased {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<actix_web::rt::net::Ready>> {
        actix_web::rt::net::ActixStream::poll_read_ready(self.io.tcp(), cx)
    }

    fn poll_write_ready(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<actix_web::rt::net::Ready>> {
        actix_web::rt::net::ActixStream::poll_write_ready(self.io.tcp(), cx)
    }
}

/// The connector awc is given: TCP under the URL policy's resolver, TLS for `tls@` targets,
/// every connection recased.
#[derive(Clone)]
pub struct Connector {
    tcp: ConnectorService,
    tls: TlsConnectorService,
}

impl Connector {
    pub fn new(tcp: ConnectorService) -> Self {
        let mut config = rustls_0_23::reexports::ClientConfig::builder()
            .with_root_certificates(rustls_0_23::webpki_roots_cert_store())
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Connector {
            tcp,
            tls: rustls_0_23::TlsConnector::service(Arc::new(config)),
        }
    }
}

impl Service<ConnectInfo<Uri>> for Connector {
    type Response = Connection<Uri, Recased>;
    type Error = ConnectError;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    actix_web::dev::always_ready!();

    fn call(&self, req: ConnectInfo<Uri>) -> Self::Future {
        let tls = req
            .request()
            .authority()
            .is_some_and(|a| a.as_str().starts_with(&format!("{TLS_USER}@")));
        let connecting = self.tcp.call(req);
        let handshake = self.tls.clone();
        Box::pin(async move {
            let conn = connecting.await?;
            if !tls {
                let (io, uri) = conn.into_parts();
                return Ok(Connection::new(uri, Recased::new(Wire::Plain(io))));
            }
            let conn = handshake.call(conn).await.map_err(ConnectError::Io)?;
            let (io, uri) = conn.into_parts();
            Ok(Connection::new(uri, Recased::new(Wire::Tls(Box::new(io)))))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_recased_name_by_name_and_nothing_else_changes() {
        remember_names(["X-API-Key", "x-lower"].into_iter());
        let raw = "POST /x-aethenox-signature HTTP/1.1\r\nhost: example.com\r\ncontent-length: 2\r\n\
            x-aethenox-signature: x-aethenox-event\r\nwebhook-id: evt_1\r\nx-api-key: k\r\n\
            x-lower: v\r\nx-other: v\r\n\r\n";
        let mut head = raw.as_bytes().to_vec();
        recase_head(&mut head);
        assert_eq!(
            String::from_utf8(head).unwrap(),
            "POST /x-aethenox-signature HTTP/1.1\r\nHost: example.com\r\nContent-Length: 2\r\n\
            X-Aethenox-Signature: x-aethenox-event\r\nwebhook-id: evt_1\r\nX-API-Key: k\r\n\
            x-lower: v\r\nx-other: v\r\n\r\n"
        );
        assert_eq!(content_length(raw.as_bytes()), Some(2));
        assert_eq!(content_length(b"GET / HTTP/1.1\r\n\r\n"), None);
    }

    #[test]
    fn https_targets_go_to_awc_as_tls_at_host_and_port() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            wire_url(&url("https://Example.com/hook?a=1#no")),
            "http://tls@example.com:443/hook?a=1"
        );
        assert_eq!(
            wire_url(&url("https://[2001:db8::1]:8443/h")),
            "http://tls@[2001:db8::1]:8443/h"
        );
        assert_eq!(
            wire_url(&url("http://127.0.0.1:9/x")),
            "http://127.0.0.1:9/x"
        );
    }
}
