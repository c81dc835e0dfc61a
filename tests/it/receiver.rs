//! A real HTTP receiver on 127.0.0.1 that records what it gets and answers as scripted.
//! Signatures are checked here with hmac/sha2 directly, independently of the app's code.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
            .unwrap_or("")
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
    /// Answer only once `Receiver::release` is called.
    pub held: bool,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: Duration::ZERO,
            held: false,
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn body(mut self, b: &str) -> Reply {
        self.body = b.into();
        self
    }
    pub fn delay(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
    /// Holds the answer until the test calls `Receiver::release`.
    pub fn held(mut self) -> Reply {
        self.held = true;
        self
    }
}

#[derive(Default)]
struct Shared {
    got: Vec<Received>,
    script: VecDeque<Reply>,
    default: Option<Reply>,
    in_flight: usize,
    max_in_flight: usize,
}

pub struct Receiver {
    pub base: String,
    shared: Arc<Mutex<Shared>>,
    release: Arc<tokio::sync::watch::Sender<bool>>,
    handle: actix_web::dev::ServerHandle,
}

async fn record(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Arc<Mutex<Shared>>>,
    release: web::Data<Arc<tokio::sync::watch::Sender<bool>>>,
) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let reply = {
        let mut s = shared.lock().unwrap();
        s.got.push(Received {
            path: req.path().to_owned(),
            headers,
            body: body.to_vec(),
            at: Instant::now(),
        });
        s.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(s.in_flight);
        s.script
            .pop_front()
            .or_else(|| s.default.clone())
            .unwrap_or_else(|| Reply::status(204))
    };
    if !reply.delay.is_zero() {
        actix_rt::time::sleep(reply.delay).await;
    }
    if reply.held {
        let _ = release.subscribe().wait_for(|released| *released).await;
    }
    shared.lock().unwrap().in_flight -= 1;
    let mut res = HttpResponse::build(actix_web::http::StatusCode::from_u16(reply.status).unwrap());
    for (k, v) in &reply.headers {
        res.insert_header((k.as_str(), v.as_str()));
    }
    res.body(reply.body)
}

impl Receiver {
    pub async fn start() -> Receiver {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let data = web::Data::new(shared.clone());
        let release = Arc::new(tokio::sync::watch::channel(false).0);
        let release_data = web::Data::new(release.clone());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(release_data.clone())
                .default_service(web::to(record))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Receiver {
            base,
            shared,
            release,
            handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Answers the next requests with these replies, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.lock().unwrap().script.extend(replies);
    }

    /// Answers every request without a scripted reply with this one (204 otherwise).
    pub fn always(&self, reply: Reply) {
        self.shared.lock().unwrap().default = Some(reply);
    }

    pub fn got(&self) -> Vec<Received> {
        self.shared.lock().unwrap().got.clone()
    }

    /// The most requests this receiver was answering at once.
    pub fn max_in_flight(&self) -> usize {
        self.shared.lock().unwrap().max_in_flight
    }

    /// Requests being answered right now.
    pub fn in_flight(&self) -> usize {
        self.shared.lock().unwrap().in_flight
    }

    /// Lets every held reply (and every later one) go.
    pub fn release(&self) {
        self.release.send_replace(true);
    }

    pub fn count(&self) -> usize {
        self.shared.lock().unwrap().got.len()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.release();
        drop(self.handle.stop(false));
    }
}

type HmacSha256 = Hmac<Sha256>;

/// X-Aethenox-Signature as the product documentation tells receivers to check it.
pub fn aethenox_signature_ok(r: &Received, secret: &str) -> bool {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&r.body);
    let Ok(given) = hex::decode(r.header("x-aethenox-signature")) else {
        return false;
    };
    mac.verify_slice(&given).is_ok()
}

/// The secrets whose Standard Webhooks v1 signature is in webhook-signature.
pub fn standard_signature_count(r: &Received, secrets: &[&str]) -> usize {
    let signed = format!(
        "{}.{}.",
        r.header("webhook-id"),
        r.header("webhook-timestamp")
    );
    let entries: Vec<&str> = r.header("webhook-signature").split(' ').collect();
    secrets
        .iter()
        .filter(|secret| {
            let key = STANDARD
                .decode(secret.trim_start_matches("whsec_"))
                .unwrap();
            let mut mac = HmacSha256::new_from_slice(&key).unwrap();
            mac.update(signed.as_bytes());
            mac.update(&r.body);
            let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
            entries.contains(&expected.as_str())
        })
        .count()
}
