//! The customer portal's pure rules: what a link may ask for (role, lifetime, accent colour,
//! who it is for), which origins may frame it, and the CSRF token a portal session derives.

use super::ids::token_hash;

/// A link must be opened within this long of being made.
pub const OPEN_WITHIN_MS: i64 = 5 * 60 * 1000;
/// The session a link starts lasts `expires_in` seconds from the link's making: this long at
/// least, at most a day, an hour when not said.
pub const MIN_EXPIRES_IN: i64 = 300;
pub const MAX_EXPIRES_IN: i64 = 86_400;
pub const DEFAULT_EXPIRES_IN: i64 = 3_600;
/// Who the link is for, as the audit log names them: at most this many characters.
pub const MAX_USER_CHARS: usize = 200;
/// White text on an accent colour must reach this contrast (WCAG 2.1 AA for normal text).
pub const MIN_CONTRAST: f64 = 4.5;

/// The role of a portal session; `support` reads and sends tests, and sees no secret.
pub fn check_role(raw: Option<&str>) -> Result<&'static str, String> {
    match raw {
        None | Some("admin") => Ok("admin"),
        Some("support") => Ok("support"),
        Some(_) => Err("role must be \"admin\" or \"support\"".into()),
    }
}

pub fn check_expires_in(raw: Option<i64>) -> Result<i64, String> {
    match raw.unwrap_or(DEFAULT_EXPIRES_IN) {
        n if (MIN_EXPIRES_IN..=MAX_EXPIRES_IN).contains(&n) => Ok(n),
        _ => Err(format!(
            "expires_in must be a number of seconds from {MIN_EXPIRES_IN} to {MAX_EXPIRES_IN}"
        )),
    }
}

/// Who the link is for (trimmed); empty or absent means nobody in particular.
pub fn check_user(raw: Option<&str>) -> Result<String, String> {
    let user = raw.unwrap_or("").trim();
    if user.chars().count() > MAX_USER_CHARS {
        return Err(format!("user must be at most {MAX_USER_CHARS} characters"));
    }
    if user.chars().any(char::is_control) {
        return Err("user cannot contain control characters".into());
    }
    Ok(user.to_owned())
}

/// How the audit log names a portal session's actor: `portal: <user from the link>`.
pub fn actor_name(user: &str) -> String {
    if user.is_empty() {
        "portal".into()
    } else {
        format!("portal: {user}")
    }
}

/// `#rrggbb` → its three channels.
fn parse_hex(raw: &str) -> Option<[u8; 3]> {
    let hex = raw.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// WCAG 2.1 relative luminance of an sRGB colour.
fn luminance([r, g, b]: [u8; 3]) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.040_45 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
}

/// The contrast of white text on `rgb` (1 to 21).
pub fn contrast_with_white(rgb: [u8; 3]) -> f64 {
    1.05 / (luminance(rgb) + 0.05)
}

/// An accent colour for buttons and links: `#rrggbb` (lower-cased), dark enough for white text
/// on it to reach 4.5:1.
pub fn check_accent(raw: &str) -> Result<String, String> {
    let rgb = parse_hex(raw)
        .ok_or_else(|| "accent must be a colour written #rrggbb, e.g. #1d4ed8".to_owned())?;
    let contrast = contrast_with_white(rgb);
    if contrast < MIN_CONTRAST {
        return Err(format!(
            "white text on {raw} has a contrast of {contrast:.2}:1; choose a darker accent \
             (at least {MIN_CONTRAST}:1)"
        ));
    }
    Ok(raw.to_ascii_lowercase())
}

/// The stylesheet of an accent already checked: buttons and links take it; in the dark scheme
/// only buttons (white text on it), since a dark accent on a dark background would be hard to
/// read.
pub fn accent_css(accent: &str) -> Option<String> {
    let rgb = parse_hex(accent)?;
    let hex = format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
    Some(format!(
        ":root {{ --brand: {hex}; --brand-ink: #fff; }}\n\
         @media (prefers-color-scheme: dark) {{\n\
         \x20 :root {{ --brand: #8ea8ff; --brand-ink: #10131a; }}\n\
         \x20 button.primary, .button.primary {{ background: {hex}; border-color: {hex}; color: #fff; }}\n\
         }}\n"
    ))
}

/// The CSRF token of a portal session: derived from its token (which only its frame knows),
/// so a portal needs no cookie at all, which a browser's third-party rules would drop.
pub fn csrf_token(session_token: &str) -> String {
    token_hash(&format!("portal csrf {session_token}"))[..43].to_owned()
}

/// One origin of `--portal-frame-ancestors`: `scheme://host[:port]` with nothing after it.
pub fn check_origin(raw: &str) -> Result<String, String> {
    let bad = || {
        format!(
            "'{raw}' is not an origin: write each as scheme://host or scheme://host:port, \
             e.g. https://app.aethenox.ai"
        )
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-.:/[]".contains(c);
    if !raw.chars().all(allowed) {
        return Err(bad());
    }
    let url = url::Url::parse(raw).map_err(|_| bad())?;
    let origin = url.origin().ascii_serialization();
    let plain = matches!(url.scheme(), "http" | "https")
        && raw.trim_end_matches('/').eq_ignore_ascii_case(&origin)
        && raw.matches('/').count() <= 3;
    if !plain {
        return Err(bad());
    }
    Ok(origin)
}

/// `--portal-frame-ancestors`: `'none'` (the default: no site may frame the portal) or origins
/// separated by spaces or commas. Returns the origins (none for `'none'`).
pub fn parse_frame_ancestors(raw: &str) -> Result<Vec<String>, String> {
    let parts: Vec<&str> = raw
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    match parts.as_slice() {
        [] | ["'none'"] | ["none"] => Ok(Vec::new()),
        _ => parts.iter().map(|p| check_origin(p)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_lifetimes_and_users() {
        assert_eq!(check_role(None), Ok("admin"));
        assert_eq!(check_role(Some("support")), Ok("support"));
        assert!(check_role(Some("Admin")).is_err());
        assert_eq!(check_expires_in(None), Ok(3600));
        assert_eq!(check_expires_in(Some(300)), Ok(300));
        assert_eq!(check_expires_in(Some(86_400)), Ok(86_400));
        assert!(check_expires_in(Some(299)).is_err());
        assert!(check_expires_in(Some(86_401)).is_err());
        assert_eq!(
            check_user(Some("  ana@acme.test ")),
            Ok("ana@acme.test".into())
        );
        assert!(check_user(Some("a\u{85}b")).is_err());
        assert!(check_user(Some(&"x".repeat(201))).is_err());
        assert_eq!(actor_name("ana"), "portal: ana");
        assert_eq!(actor_name(""), "portal");
    }

    #[test]
    fn accents_need_4_5_to_1_against_white_text() {
        // Known contrasts against white: #767676 is the lightest grey at 4.54:1.
        assert!((contrast_with_white([0x76, 0x76, 0x76]) - 4.54).abs() < 0.01);
        assert!((contrast_with_white([0, 0, 0]) - 21.0).abs() < 0.01);
        assert!((contrast_with_white([255, 255, 255]) - 1.0).abs() < 0.01);
        assert_eq!(check_accent("#1D4ED8"), Ok("#1d4ed8".into()));
        assert!(check_accent("#767676").is_ok());
        let light = check_accent("#777777").unwrap_err();
        assert!(light.contains("4.48:1"), "{light}");
        for bad in ["1d4ed8", "#1d4ed", "#1d4ed80", "#gggggg", "", "#fff", "red"] {
            assert!(check_accent(bad).unwrap_err().contains("#rrggbb"), "{bad}");
        }
        let css = accent_css("#1d4ed8").unwrap();
        assert!(css.contains("--brand: #1d4ed8"), "{css}");
        assert_eq!(accent_css("x;}</style>"), None);
    }

    #[test]
    fn frame_ancestors_are_origins_only() {
        assert_eq!(parse_frame_ancestors("'none'"), Ok(vec![]));
        assert_eq!(parse_frame_ancestors(""), Ok(vec![]));
        assert_eq!(
            parse_frame_ancestors("https://app.aethenox.ai, http://localhost:3000/"),
            Ok(vec![
                "https://app.aethenox.ai".into(),
                "http://localhost:3000".into()
            ])
        );
        for bad in [
            "https://app.aethenox.ai/dashboard",
            "https://*.aethenox.ai",
            "*",
            "'self'",
            "app.aethenox.ai",
            "ftp://app.aethenox.ai",
            "https://user@app.aethenox.ai",
            "https://app.aethenox.ai?x=1",
            "https://a.test 'none'",
            "https://app.aethenox.ai;script-src",
        ] {
            let e = parse_frame_ancestors(bad).unwrap_err();
            assert!(e.contains("not an origin"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_csrf_token_is_the_shape_of_a_cookie_token_and_differs_per_session() {
        let a = csrf_token("one");
        assert_eq!(a.len(), 43);
        assert_ne!(a, csrf_token("two"));
        assert_eq!(a, csrf_token("one"));
    }
}
