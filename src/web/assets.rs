//! Static files compiled into the binary, served with their content type, an ETag and
//! cache headers.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Assets;

#[get("/static/{path:.*}")]
pub async fn asset(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let Some(file) = Assets::get(&path) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("not found");
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let cache = ("Cache-Control", "public, max-age=3600, must-revalidate");
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if matches {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header(cache)
            .finish();
    }
    let mime = mime_guess::from_path(path.as_str()).first_or_octet_stream();
    let content_type = if mime.type_() == "text" || mime.subtype() == "javascript" {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    };
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::ETAG, etag))
        .insert_header(cache)
        .insert_header((header::VARY, "Accept-Encoding"));
    let textual =
        mime.type_() == "text" || matches!(mime.subtype().as_str(), "javascript" | "json" | "svg");
    if textual && file.data.len() > 1024 && super::compress::accepts_gzip(&req) {
        let packed = super::compress::gzipped(&path, &file.data);
        return res
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(packed);
    }
    res.body(file.data.into_owned())
}
