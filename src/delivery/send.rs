//! One attempt: sign, send to a checked address, read a bounded response, classify errors.

use crate::domain::{signing, url_policy};
use crate::store::claims::Claimed;
use actix_tls::connect::{Resolve, Resolver};
use awc::error::{ConnectError, SendRequestError};
use futures_core::Stream;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::time::{Duration, Instant};

/// At most this much of a response body is stored.
pub const MAX_STORED_BODY: usize = 64 * 1024;

pub fn user_agent() -> String {
    format!("AethenoxAI-Webhooks/{}", env!("CARGO_PKG_VERSION"))
}

/// The address a host resolved to was refused by the URL policy.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Resolves a host, checks every address against the policy and hands the connector only
/// checked addresses: there is no second lookup between the check and the connection.
struct PolicyResolver {
    allow_private: bool,
}

impl Resolve for PolicyResolver {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> futures_core::future::LocalBoxFuture<'a, Result<Vec<SocketAddr>, Box<dyn std::error::Error>>>
    {
        let allow_private = self.allow_private;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        Box::pin(async move {
            let name = host.clone();
            let addrs = actix_web::rt::task::spawn_blocking(move || {
                (name.as_str(), port)
                    .to_socket_addrs()
                    .map(|a| a.collect::<Vec<_>>())
            })
            .await
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error>)??;
            if !allow_private {
                for a in &addrs {
                    if let Err(e) = url_policy::check_ip(a.ip()) {
                        return Err(
                            Box::new(Refused(format!("{host}: {e}"))) as Box<dyn std::error::Error>
                        );
                    }
                }
            }
            Ok(addrs)
        })
    }
}

/// Builds the HTTP client of one delivery thread (awc is not `Send`).
pub fn client(allow_private: bool, timeout: Duration, max_connections: usize) -> awc::Client {
    // rustls needs a process-wide crypto provider; installing it twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tcp =
        actix_tls::connect::Connector::new(Resolver::custom(PolicyResolver { allow_private }))
            .service();
    let connector = awc::Connector::new()
        .connector(super::wire::Connector::new(tcp))
        .timeout(timeout.min(Duration::from_secs(10)))
        .limit(max_connections)
        .conn_keep_alive(Duration::from_secs(30));
    awc::Client::builder()
        .connector(connector)
        .timeout(timeout)
        .disable_redirects()
        .no_default_headers()
        .finish()
}

/// Where an attempt may go: private targets only with --allow-private-targets, except this
/// server's own test inbox at `local`.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub allow_private: bool,
    pub local: SocketAddr,
}

impl Policy {
    /// This server's policy: its `--allow-private-targets` and its own address.
    pub fn of(state: &crate::state::AppState) -> Policy {
        Policy {
            allow_private: state.config.allow_private_targets,
            local: state.local_addr(),
        }
    }
}

/// What one attempt found out.
#[derive(Debug, Clone)]
pub struct Sent {
    pub attempted_at_ms: i64,
    pub duration: Duration,
    pub status: Option<u16>,
    /// timeout, connect, dns, tls, refused, redirect, http_status (None on success).
    pub error_class: Option<&'static str>,
    pub error: Option<String>,
    pub request_headers: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Vec<u8>,
    pub truncated: bool,
}

impl Sent {
    pub fn success(&self) -> bool {
        self.error_class.is_none()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The webhook's custom headers, opened for one attempt only; ones that do not open (a wrong
/// master key) are left out, and said in the log.
pub fn custom_headers(
    secrets: &crate::domain::crypto::SecretBox,
    job: &Claimed,
) -> Vec<(String, String)> {
    crate::domain::headers::open(secrets, job.headers.as_deref()).unwrap_or_else(|e| {
        tracing::error!(webhook_id = %job.webhook_id, error = %e, "custom headers do not open");
        Vec::new()
    })
}

/// The headers of an attempt, in the order they are sent.
pub fn request_headers(job: &Claimed, secrets: &[String], unix_secs: i64) -> Vec<(String, String)> {
    let ts = unix_secs.to_string();
    let current = secrets.first().map(String::as_str).unwrap_or_default();
    let mut h = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        ("User-Agent".to_owned(), user_agent()),
        (
            "X-Aethenox-Signature".to_owned(),
            signing::aethenox_signature(current, &job.body),
        ),
        ("X-Aethenox-Event".to_owned(), job.event_type.clone()),
        ("X-Aethenox-Delivery".to_owned(), job.id.clone()),
        ("X-Aethenox-Timestamp".to_owned(), ts.clone()),
        (
            "X-Aethenox-Workspace".to_owned(),
            job.workspace_key().to_owned(),
        ),
        ("webhook-id".to_owned(), job.event_id.clone()),
        ("webhook-timestamp".to_owned(), ts),
        (
            "webhook-signature".to_owned(),
            signing::standard_signature_header(
                secrets.iter().map(String::as_str),
                &job.event_id,
                unix_secs,
                &job.body,
            ),
        ),
    ];
    if job.is_test {
        h.push(("X-Aethenox-Test".to_owned(), "1".to_owned()));
    }
    h
}

fn classify(e: &SendRequestError, timeout: Duration) -> (&'static str, String) {
    let is_tls = |io: &std::io::Error| {
        io.get_ref()
            .is_some_and(|inner| inner.is::<rustls::Error>())
    };
    match e {
        SendRequestError::Timeout => ("timeout", format!("timed out after {}", human(timeout))),
        SendRequestError::Connect(ce) => match ce {
            ConnectError::Timeout => ("timeout", "timed out while connecting".to_owned()),
            ConnectError::Resolver(inner) if inner.is::<Refused>() => {
                ("refused", format!("refused by the URL policy: {inner}"))
            }
            ConnectError::Resolver(inner) => {
                ("dns", format!("the host could not be resolved: {inner}"))
            }
            ConnectError::NoRecords | ConnectError::Unresolved => {
                ("dns", "the host has no address".to_owned())
            }
            ConnectError::SslIsNotSupported => {
                ("tls", "TLS is not supported for this URL".to_owned())
            }
            ConnectError::Io(io) if is_tls(io) => ("tls", format!("TLS handshake failed: {io}")),
            ConnectError::Io(io) => ("connect", format!("could not connect: {io}")),
            other => ("connect", format!("could not connect: {other}")),
        },
        SendRequestError::Send(io) if is_tls(io) => ("tls", format!("TLS failed: {io}")),
        other => ("connect", format!("the request failed: {other}")),
    }
}

/// `15s`, `500ms`: how durations are written in errors.
pub fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// `5 days`, `2 hours`: how configured periods are written in reasons.
pub fn human_long(d: Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = match secs {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3600 && s % 3600 == 0 => (s / 3600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Sends one attempt of `job`, signed with `secrets` (the current one first), with the
/// webhook's `custom` headers after the server's own. The attempt records the custom headers'
/// values masked: they are never stored as sent.
pub async fn send(
    client: &awc::Client,
    job: &Claimed,
    secrets: &[String],
    custom: &[(String, String)],
    policy: Policy,
    timeout: Duration,
) -> Sent {
    let started = Instant::now();
    let attempted_at_ms = crate::domain::time::now_ms();
    let headers = request_headers(job, secrets, attempted_at_ms / 1000);
    let recorded: Vec<(String, String)> = headers
        .iter()
        .cloned()
        .chain(
            custom
                .iter()
                .map(|(k, v)| (k.clone(), crate::domain::headers::masked(v))),
        )
        .collect();
    let mut sent = Sent {
        attempted_at_ms,
        duration: Duration::ZERO,
        status: None,
        error_class: None,
        error: None,
        request_headers: recorded,
        response_headers: Vec::new(),
        response_body: Vec::new(),
        truncated: false,
    };
    // IP literals never reach the resolver: the policy is checked here for them (and for the scheme).
    let own_inbox =
        url::Url::parse(&job.url).is_ok_and(|u| url_policy::is_own_inbox(&u, policy.local));
    let target = match url_policy::parse(&job.url, policy.allow_private || own_inbox) {
        Ok(url) => url,
        Err(e) => {
            sent.error_class = Some("refused");
            sent.error = Some(format!("refused by the URL policy: {e}"));
            return sent;
        }
    };
    if secrets.is_empty() {
        sent.error_class = Some("refused");
        sent.error = Some("the webhook has no signing secret".to_owned());
        return sent;
    }
    super::wire::remember_names(custom.iter().map(|(k, _)| k.as_str()));
    let mut req = client.post(super::wire::wire_url(&target));
    for (k, v) in headers.iter().chain(custom) {
        req = req.insert_header((k.as_str(), v.as_str()));
    }
    let outcome = actix_web::rt::time::timeout(timeout, async {
        let mut res = req.send_body(job.body.clone()).await?;
        let status = res.status().as_u16();
        let headers: Vec<(String, String)> = res
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut res).poll_next(cx)).await {
            let Ok(chunk) = chunk else { break };
            let room = MAX_STORED_BODY - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok::<_, SendRequestError>((status, headers, body, truncated))
    })
    .await;
    sent.duration = started.elapsed();
    match outcome {
        Err(_) => {
            sent.error_class = Some("timeout");
            sent.error = Some(format!("timed out after {}", human(timeout)));
        }
        Ok(Err(e)) => {
            let (class, message) = classify(&e, timeout);
            sent.error_class = Some(class);
            sent.error = Some(message);
        }
        Ok(Ok((status, headers, body, truncated))) => {
            sent.status = Some(status);
            sent.response_headers = headers;
            sent.response_body = body;
            sent.truncated = truncated;
            match status {
                200..=299 => {}
                300..=399 => {
                    sent.error_class = Some("redirect");
                    let to = sent.header("location").unwrap_or("no Location").to_owned();
                    sent.error = Some(format!("HTTP {status}: redirect not followed (to {to})"));
                }
                _ => {
                    sent.error_class = Some("http_status");
                    sent.error = Some(format!("HTTP {status}"));
                }
            }
        }
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn the_resolver_refuses_names_that_resolve_to_private_addresses() {
        let strict = PolicyResolver {
            allow_private: false,
        };
        let err = strict.lookup("localhost", 80).await.unwrap_err();
        assert!(err.is::<Refused>(), "{err}");
        assert!(err.to_string().contains("localhost"));
        let open = PolicyResolver {
            allow_private: true,
        };
        assert!(
            open.lookup("localhost", 80)
                .await
                .unwrap()
                .iter()
                .all(|a| a.ip().is_loopback())
        );
        assert!(open.lookup("[::1]", 80).await.is_ok());
    }

    #[actix_web::test]
    async fn a_refused_resolution_is_classified_as_refused_and_nothing_connects() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let c = client(false, Duration::from_secs(5), 4);
        let e = c
            .post(format!("http://localhost:{port}/"))
            .send_body("{}")
            .await
            .unwrap_err();
        assert_eq!(classify(&e, Duration::from_secs(5)).0, "refused");
        assert!(listener.accept().is_err(), "no connection was made");
        drop(listener);
        let c = client(true, Duration::from_secs(5), 4);
        let e = c
            .post(format!("http://localhost:{port}/"))
            .send_body("{}")
            .await
            .unwrap_err();
        assert_eq!(
            classify(&e, Duration::from_secs(5)).0,
            "connect",
            "nothing listens there any more"
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_secs(15)), "15 s");
        assert_eq!(human(Duration::from_millis(300)), "300 ms");
        assert_eq!(human_long(Duration::from_secs(5 * 86_400)), "5 days");
        assert_eq!(human_long(Duration::from_secs(3600)), "1 hour");
        assert_eq!(human_long(Duration::from_secs(1)), "1 second");
        assert_eq!(human_long(Duration::from_secs(90)), "90 seconds");
    }
}
