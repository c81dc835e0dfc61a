//! Compression: responses to GET are gzipped when the client accepts it (pages, lists, the
//! OpenAPI document, metrics), by actix-web's `Compress` around the app; static files are
//! gzipped once, at their first request, and served from memory. Answers to writes (a
//! published event's 202, a form's redirect) are small and stay as they are, so the hot path
//! pays nothing for it.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// In front of `Compress`: a request that is not a read is answered uncompressed.
pub async fn reads_only(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() != Method::GET {
        req.headers_mut().remove(header::ACCEPT_ENCODING);
    }
    next.call(req).await
}

/// The client takes gzip (`Accept-Encoding: gzip`, not with `q=0`).
pub fn accepts_gzip(req: &actix_web::HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.replace(' ', "") == "q=0" || p == "q=0.0");
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// The gzip of a static file, made at most once per file.
pub fn gzipped(path: &str, data: &[u8]) -> Bytes {
    static CACHE: OnceLock<Mutex<HashMap<String, Bytes>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(path) {
        return hit.clone();
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let packed = encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .unwrap_or_default();
    let packed = Bytes::from(packed);
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(path.to_owned(), packed.clone());
    packed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_taken_unless_refused() {
        let req = |v: &str| {
            actix_web::test::TestRequest::default()
                .insert_header((header::ACCEPT_ENCODING, v))
                .to_http_request()
        };
        for yes in [
            "gzip",
            "gzip, deflate, br",
            "br;q=1.0, gzip;q=0.8",
            "*",
            "GZIP",
        ] {
            assert!(accepts_gzip(&req(yes)), "{yes}");
        }
        for no in ["br", "identity", "gzip;q=0", "gzip; q=0", "deflate"] {
            assert!(!accepts_gzip(&req(no)), "{no}");
        }
        assert!(!accepts_gzip(
            &actix_web::test::TestRequest::default().to_http_request()
        ));
    }

    #[test]
    fn a_file_is_gzipped_once_and_unpacks_to_itself() {
        use std::io::Read;
        let data = b"body { color: red; } ".repeat(200);
        let first = gzipped("test/a.css", &data);
        assert!(first.len() < data.len() / 10);
        assert_eq!(first.as_ptr(), gzipped("test/a.css", &data).as_ptr());
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&first[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
    }
}
