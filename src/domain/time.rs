//! Timestamps are stored as Unix milliseconds and shown in UTC.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The time as the customer portal reads it: the system's, moved on by `advance` (which only
/// tests call, so that links and sessions expire without waiting minutes).
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: std::sync::atomic::AtomicI64,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        now_ms() + self.offset_ms.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn advance(&self, by: std::time::Duration) {
        self.offset_ms
            .fetch_add(by.as_millis() as i64, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Days since 1970-01-01 to a civil (year, month, day), after Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn parts(ms: i64) -> (i64, u32, u32, i64, i64, i64) {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an RFC 3339 date-time (`2026-11-27T20:00:00Z`, `2026-11-27T21:00:00.250+01:00`) and
/// the shorter forms a person types or an HTML form sends: `2026-11-27T20:00` (a datetime-local
/// value) and a date alone, both read as UTC. Seconds are optional, a fraction of a second is
/// dropped, a leap second counts as the second before it. Years 0000 to 9999. Nothing around
/// it: callers that read what people type trim it first.
pub fn parse_utc(s: &str) -> Option<i64> {
    let mut c = Cursor(s.as_bytes());
    let y = c.digits(4)?;
    c.one_of(b"-")?;
    let mo = c.digits(2)?;
    c.one_of(b"-")?;
    let d = c.digits(2)?;
    let (mut h, mut mi, mut sec, mut offset_min) = (0, 0, 0, 0);
    if !c.0.is_empty() {
        c.one_of(b"Tt ")?;
        h = c.digits(2)?;
        c.one_of(b":")?;
        mi = c.digits(2)?;
        if c.one_of(b":").is_some() {
            sec = c.digits(2)?;
            if c.one_of(b".").is_some() {
                c.digits(1)?;
                while c.digits(1).is_some() {}
            }
        }
        if let Some(sign @ (b'+' | b'-')) = c.one_of(b"Zz+-") {
            let oh = c.digits(2)?;
            c.one_of(b":")?;
            let om = c.digits(2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            offset_min = (oh * 60 + om) * if sign == b'-' { -1 } else { 1 };
        }
        if !c.0.is_empty() {
            return None;
        }
    }
    let valid = (1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60 && sec <= 60;
    if !valid {
        return None;
    }
    let days = days_from_civil(y, mo as u32, d as u32);
    if civil_from_days(days) != (y, mo as u32, d as u32) {
        return None; // e.g. 31 February
    }
    let local = days * 86_400 + h * 3600 + mi * 60 + sec.min(59);
    Some((local - offset_min * 60) * 1000)
}

/// What is left of a timestamp being read, left to right.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    /// Exactly `n` ASCII digits, as a number.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let (head, rest) = self.0.split_at_checked(n)?;
        if !head.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.0 = rest;
        Some(head.iter().fold(0, |v, d| v * 10 + i64::from(d - b'0')))
    }

    /// The next byte, when it is one of `set`.
    fn one_of(&mut self, set: &[u8]) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        if !set.contains(&first) {
            return None;
        }
        self.0 = rest;
        Some(first)
    }
}

/// `2026-11-27T20:00`, the value an HTML datetime-local input takes.
pub fn datetime_local(ms: i64) -> String {
    rfc3339(ms)[..16].to_owned()
}

/// `2026-11-27T20:00:00Z`, the API's format.
pub fn rfc3339(ms: i64) -> String {
    let (y, mo, d, h, mi, s) = parts(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `2026-11-27 20:00:05 UTC`, for the Delivery Log.
pub fn display_seconds(ms: i64) -> String {
    let (y, mo, d, h, mi, s) = parts(ms);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
}

/// `2026-11-27 20:00 UTC`, the UI's format.
pub fn display(ms: i64) -> String {
    let (y, mo, d, h, mi, _) = parts(ms);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_614_265_330_000), "2021-02-25T15:02:10Z");
        assert_eq!(rfc3339(1_709_164_800_000), "2024-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_809_600_999), "2026-11-27T20:00:00Z");
        assert_eq!(display(1_795_809_600_000), "2026-11-27 20:00 UTC");
        assert_eq!(rfc3339(-1000), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn parses_what_forms_send() {
        assert_eq!(parse_utc("2026-11-27T20:00"), Some(1_795_809_600_000));
        assert_eq!(parse_utc("2026-11-27T20:00:00Z"), Some(1_795_809_600_000));
        assert_eq!(parse_utc("2026-11-27"), Some(1_795_737_600_000));
        assert_eq!(parse_utc("2024-02-29T00:00"), Some(1_709_164_800_000));
        assert_eq!(parse_utc("2026-11-27 20:00:59"), Some(1_795_809_659_000));
        // RFC 3339 in full: fractions dropped, offsets applied, a leap second kept in its minute.
        assert_eq!(
            parse_utc("2026-11-27t20:00:00.999z"),
            Some(1_795_809_600_000)
        );
        assert_eq!(
            parse_utc("2026-11-27T21:30:00+01:30"),
            Some(1_795_809_600_000)
        );
        assert_eq!(
            parse_utc("2026-11-27T18:00:00-02:00"),
            Some(1_795_809_600_000)
        );
        assert_eq!(
            parse_utc("2016-12-31T23:59:60Z"),
            parse_utc("2016-12-31T23:59:59Z")
        );
        assert_eq!(parse_utc("1969-12-31T23:59:59Z"), Some(-1000));
        assert_eq!(parse_utc("0000-03-01"), Some(-62_162_035_200_000));
        for bad in [
            "",
            "yesterday",
            "2026-02-31",
            "2026-13-01",
            "2026-11-27T25:00",
            "2026-11-27T20",
            "2026-11-27T20:00:00.",
            "2026-11-27T20:00:00+1:00",
            "2026-11-27T20:00:00+24:00",
            "2026-11-27T20:00:00Zjunk",
            "2026-11-27Z",
            " 2026-11-27",
            "2026-11-27\r",
            "2026-1-27",
            "+026-11-27",
            "2026-11-27T20:00:61",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
        assert_eq!(datetime_local(1_795_809_600_000), "2026-11-27T20:00");
    }
}
