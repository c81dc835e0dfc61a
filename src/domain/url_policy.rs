//! The target URL policy (SSRF). A webhook URL is checked when it is saved and again, against
//! the addresses actually connected to, when a delivery is sent.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use url::{Host, Url};

pub const MAX_URL_LEN: usize = 2048;

/// What the API document says of a webhook URL, as a regular expression (ECMA 262 and Python
/// read it alike): https, a host with no user name, and none of the characters [`parse`]
/// refuses anywhere (control characters, Unicode white space). Whether the host resolves to a
/// public address is beyond what a schema can say.
pub fn schema_pattern() -> String {
    let refused = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
    format!("^https://[^/?#@{refused}]+([/?#][^{refused}]*)?$")
}

/// Suffixes of names that only ever mean something inside a private network.
const PRIVATE_SUFFIXES: [&str; 7] = [
    "localhost",
    "local",
    "internal",
    "localdomain",
    "home.arpa",
    "lan",
    "intranet",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    Empty,
    TooLong,
    Invalid,
    /// Port 0, or one above 65535.
    Port,
    Scheme {
        allow_http: bool,
    },
    Userinfo,
    PrivateAddress(IpAddr),
    PrivateName(String),
    Unresolvable(String),
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::Empty => write!(f, "Enter the endpoint URL that should receive events."),
            UrlError::TooLong => write!(f, "The URL is longer than {MAX_URL_LEN} characters."),
            UrlError::Invalid => {
                write!(f, "Enter a full URL such as https://example.com/webhooks.")
            }
            UrlError::Port => write!(f, "The port must be a number from 1 to 65535."),
            UrlError::Scheme { allow_http: false } => {
                write!(f, "The URL must start with https://.")
            }
            UrlError::Scheme { allow_http: true } => {
                write!(f, "The URL must start with https:// or http://.")
            }
            UrlError::Userinfo => write!(f, "The URL must not contain a user name or password."),
            UrlError::PrivateAddress(ip) => write!(
                f,
                "The URL points to {ip}, a private, loopback or reserved address; only public addresses are allowed."
            ),
            UrlError::PrivateName(host) => write!(
                f,
                "{host} is a local or internal name; use a public domain name."
            ),
            UrlError::Unresolvable(host) => {
                write!(
                    f,
                    "The host {host} could not be resolved; check the spelling."
                )
            }
        }
    }
}

impl std::error::Error for UrlError {}

/// Checks everything that can be checked without DNS and returns the normalised URL.
/// IPv4 literals in decimal, octal or hex notation are normalised by the URL parser first,
/// so `https://2130706433/` is seen as 127.0.0.1.
pub fn parse(raw: &str, allow_private: bool) -> Result<Url, UrlError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(UrlError::Empty);
    }
    if raw.len() > MAX_URL_LEN {
        return Err(UrlError::TooLong);
    }
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(UrlError::Invalid);
    }
    let url = Url::parse(raw).map_err(|e| match e {
        url::ParseError::InvalidPort => UrlError::Port,
        _ => UrlError::Invalid,
    })?;
    if url.port() == Some(0) {
        return Err(UrlError::Port);
    }
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => {
            return Err(UrlError::Scheme {
                allow_http: allow_private,
            });
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Userinfo);
    }
    let host = url.host().ok_or(UrlError::Invalid)?;
    if url.as_str().len() > MAX_URL_LEN {
        return Err(UrlError::TooLong);
    }
    if allow_private {
        return Ok(url);
    }
    match host {
        Host::Ipv4(ip) => check_ip(IpAddr::V4(ip))?,
        Host::Ipv6(ip) => check_ip(IpAddr::V6(ip))?,
        Host::Domain(name) => check_name(name)?,
    }
    Ok(url)
}

fn check_name(name: &str) -> Result<(), UrlError> {
    let bare = name.trim_end_matches('.').to_ascii_lowercase();
    let private = !bare.contains('.')
        || PRIVATE_SUFFIXES
            .iter()
            .any(|s| bare == *s || bare.ends_with(&format!(".{s}")));
    if private {
        return Err(UrlError::PrivateName(name.to_string()));
    }
    Ok(())
}

pub fn check_ip(ip: IpAddr) -> Result<(), UrlError> {
    if is_public(ip) {
        Ok(())
    } else {
        Err(UrlError::PrivateAddress(ip))
    }
}

/// True only for globally routable unicast addresses.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const REFUSED: [([u8; 4], u32); 16] = [
        ([0, 0, 0, 0], 8),       // "this network", 0.0.0.0 included
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // CGNAT
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local, cloud metadata included
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // TEST-NET-1
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // TEST-NET-2
        ([203, 0, 113, 0], 24),  // TEST-NET-3
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, broadcast included
        ([255, 255, 255, 255], 32),
    ];
    !REFUSED.iter().any(|(net, prefix)| in_v4(ip, *net, *prefix))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // Forms that embed an IPv4 address are judged by that address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] {
        // ::/96 (unspecified, loopback and the deprecated IPv4-compatible form).
        return false;
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 well-known prefix.
        return is_public_v4(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    if s[0] == 0x2002 {
        // 6to4 embeds the IPv4 address in bits 16..48.
        return is_public_v4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    // Only global unicast (2000::/3) is public, minus its special-purpose blocks.
    if s[0] & 0xe000 != 0x2000 {
        return false;
    }
    // 2001::/23 (IETF assignments, Teredo included), 2001:db8::/32 and 3fff::/20 (documentation).
    let special =
        (s[0] == 0x2001 && (s[1] < 0x0200 || s[1] == 0x0db8)) || (s[0] & 0xfff0 == 0x3ff0);
    !special
}

/// True for this server's own test inbox path (`/inbox/…` on the address it listens on):
/// the one private target allowed without --allow-private-targets.
pub fn is_own_inbox(url: &Url, local: SocketAddr) -> bool {
    let host_ok = match url.host() {
        Some(Host::Ipv4(ip)) => {
            IpAddr::V4(ip) == local.ip() || (local.ip().is_unspecified() && ip.is_loopback())
        }
        Some(Host::Ipv6(ip)) => {
            IpAddr::V6(ip) == local.ip() || (local.ip().is_unspecified() && ip.is_loopback())
        }
        _ => false,
    };
    host_ok
        && url.port_or_known_default() == Some(local.port())
        && url.path().starts_with("/inbox/")
        && url.query().is_none()
}

/// Resolves the URL's host and checks every address; returns the addresses to connect to.
/// Blocking (it may query DNS): call it off the async runtime.
pub fn resolve(url: &Url, allow_private: bool) -> Result<Vec<SocketAddr>, UrlError> {
    let port = url.port_or_known_default().ok_or(UrlError::Invalid)?;
    let addrs: Vec<SocketAddr> = match url.host().ok_or(UrlError::Invalid)? {
        Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Host::Domain(name) => (name, port)
            .to_socket_addrs()
            .map_err(|_| UrlError::Unresolvable(name.to_string()))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(UrlError::Unresolvable(
            url.host_str().unwrap_or_default().to_string(),
        ));
    }
    if !allow_private {
        for a in &addrs {
            check_ip(a.ip())?;
        }
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(raw: &str) -> UrlError {
        match parse(raw, false) {
            Err(e) => e,
            Ok(u) => panic!("{raw} was accepted as {u}"),
        }
    }

    #[test]
    fn accepts_public_https() {
        for raw in [
            "https://example.com/hooks",
            "https://hooks.example.com:8443/a?b=c",
            "https://93.184.215.14/x",
            "https://[2606:4700:4700::1111]/x",
            "  https://example.com/trimmed  ",
        ] {
            assert!(parse(raw, false).is_ok(), "{raw}");
        }
    }

    #[test]
    fn refuses_other_schemes_and_garbage() {
        assert_eq!(refused(""), UrlError::Empty);
        assert_eq!(refused("   "), UrlError::Empty);
        assert_eq!(
            refused("http://example.com/"),
            UrlError::Scheme { allow_http: false }
        );
        assert_eq!(
            refused("ftp://example.com/"),
            UrlError::Scheme { allow_http: false }
        );
        assert_eq!(
            refused("javascript:alert(1)"),
            UrlError::Scheme { allow_http: false }
        );
        assert_eq!(
            refused("file:///etc/passwd"),
            UrlError::Scheme { allow_http: false }
        );
        assert_eq!(refused("example.com"), UrlError::Invalid);
        assert_eq!(refused("https://"), UrlError::Invalid);
        assert_eq!(refused("https://exa mple.com/"), UrlError::Invalid);
        assert_eq!(refused("https://example.com/\0"), UrlError::Invalid);
        assert_eq!(
            refused(&format!("https://example.com/{}", "a".repeat(2100))),
            UrlError::TooLong
        );
    }

    #[test]
    fn refuses_userinfo_tricks() {
        assert_eq!(
            refused("https://example.com@127.0.0.1/"),
            UrlError::Userinfo
        );
        assert_eq!(refused("https://user:pw@example.com/"), UrlError::Userinfo);
        assert_eq!(refused("https://:pw@example.com/"), UrlError::Userinfo);
    }

    #[test]
    fn refuses_every_notation_of_private_ipv4() {
        for raw in [
            "https://127.0.0.1/",
            "https://2130706433/",
            "https://0x7f000001/",
            "https://0x7f.0.0.1/",
            "https://0177.0.0.1/",
            "https://017700000001/",
            "https://127.1/",
            "https://0.0.0.0/",
            "https://0/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://172.31.255.255/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/",
            "https://192.0.2.10/",
            "https://198.51.100.7/",
            "https://203.0.113.9/",
            "https://198.18.0.1/",
            "https://224.0.0.1/",
            "https://255.255.255.255/",
        ] {
            assert!(matches!(refused(raw), UrlError::PrivateAddress(_)), "{raw}");
        }
    }

    #[test]
    fn refuses_private_ipv6_and_embedded_ipv4() {
        for raw in [
            "https://[::1]/",
            "https://[::]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:7f00:1]/",
            "https://[::ffff:169.254.169.254]/",
            "https://[::127.0.0.1]/",
            "https://[64:ff9b::a00:1]/",
            "https://[2002:7f00:1::]/",
            "https://[fc00::1]/",
            "https://[fd12:3456::1]/",
            "https://[fe80::1]/",
            "https://[ff02::1]/",
            "https://[2001:db8::1]/",
            "https://[2001::1]/",
        ] {
            assert!(matches!(refused(raw), UrlError::PrivateAddress(_)), "{raw}");
        }
        // Mapped forms of public addresses stay public.
        assert!(parse("https://[::ffff:93.184.215.14]/", false).is_ok());
    }

    #[test]
    fn refuses_local_names() {
        for raw in [
            "https://localhost/",
            "https://localhost./",
            "https://LOCALHOST/",
            "https://api.localhost/",
            "https://printer.local/",
            "https://metadata.google.internal/",
            "https://metadata/",
            "https://intranet/",
            "https://router.home.arpa/",
            "https://ｌｏｃａｌｈｏｓｔ/",
        ] {
            assert!(matches!(refused(raw), UrlError::PrivateName(_)), "{raw}");
        }
    }

    #[test]
    fn ports_must_be_from_1_to_65535() {
        for raw in [
            "https://93.184.216.34:0/",
            "https://example.com:0/hook",
            "https://example.com:65536/",
            "https://example.com:99999999999/",
            "https://example.com:-1/",
        ] {
            assert_eq!(parse(raw, false).err(), Some(UrlError::Port), "{raw}");
            assert_eq!(
                parse(raw, true).err(),
                Some(UrlError::Port),
                "{raw} (private allowed)"
            );
        }
        assert!(parse("https://93.184.216.34:1/", false).is_ok());
        assert!(parse("https://93.184.216.34:65535/", false).is_ok());
        assert!(UrlError::Port.to_string().contains("1 to 65535"));
    }

    #[test]
    fn allow_private_targets_opens_http_and_local_addresses() {
        for raw in [
            "http://127.0.0.1:9000/hook",
            "https://localhost/",
            "http://[::1]/",
            "http://10.0.0.5/",
        ] {
            assert!(parse(raw, true).is_ok(), "{raw}");
        }
        assert_eq!(
            parse("ftp://x/", true),
            Err(UrlError::Scheme { allow_http: true })
        );
        assert_eq!(
            parse("http://u:p@127.0.0.1/", true),
            Err(UrlError::Userinfo)
        );
    }

    #[test]
    fn only_this_servers_own_inbox_path_is_exempt() {
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(is_own_inbox(&u("http://127.0.0.1:8080/inbox/abc"), local));
        assert!(
            !is_own_inbox(&u("http://127.0.0.1:8081/inbox/abc"), local),
            "another port"
        );
        assert!(
            !is_own_inbox(&u("http://127.0.0.1:8080/webhooks"), local),
            "another path"
        );
        assert!(
            !is_own_inbox(&u("http://127.0.0.2:8080/inbox/abc"), local),
            "another address"
        );
        assert!(
            !is_own_inbox(&u("http://localhost:8080/inbox/abc"), local),
            "names are not trusted"
        );
        assert!(!is_own_inbox(
            &u("http://127.0.0.1:8080/inbox/abc?x=1"),
            local
        ));
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert!(is_own_inbox(&u("http://127.0.0.1:8080/inbox/abc"), any));
        assert!(!is_own_inbox(&u("http://10.0.0.1:8080/inbox/abc"), any));
    }

    #[test]
    fn resolution_checks_every_address() {
        let url = Url::parse("https://localhost:9/").unwrap();
        assert!(matches!(
            resolve(&url, false),
            Err(UrlError::PrivateAddress(_))
        ));
        assert!(resolve(&url, true).is_ok_and(|a| a.iter().all(|a| a.port() == 9)));
        let literal = Url::parse("https://93.184.215.14/").unwrap();
        assert_eq!(
            resolve(&literal, false).unwrap(),
            vec!["93.184.215.14:443".parse().unwrap()]
        );
        let nowhere = Url::parse("https://does-not-exist.invalid/").unwrap();
        assert!(matches!(
            resolve(&nowhere, false),
            Err(UrlError::Unresolvable(_))
        ));
    }
}
