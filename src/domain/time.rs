//! Timestamps are stored as Unix milliseconds and shown in UTC.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
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

/// Parses `2026-11-27T20:00` (an HTML datetime-local value, read as UTC), seconds optional,
/// or a date alone.
pub fn parse_utc(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, clock) = s.split_once(['T', ' ']).unwrap_or((s, "00:00"));
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, mo, day) = (d.next()??, d.next()??, d.next()??);
    let mut c = clock.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, mi) = (c.next()??, c.next()??);
    let sec = c.next().map_or(Some(0), |v| v)?;
    let valid = (1..=12).contains(&mo)
        && (1..=31).contains(&day)
        && (0..24).contains(&h)
        && (0..60).contains(&mi)
        && (0..60).contains(&sec);
    if !valid || !(1970..=9999).contains(&y) {
        return None;
    }
    let days = days_from_civil(y, mo as u32, day as u32);
    let (cy, cm, cd) = civil_from_days(days);
    if (cy, cm, cd) != (y, mo as u32, day as u32) {
        return None; // e.g. 31 February
    }
    Some(((days * 86_400) + h * 3600 + mi * 60 + sec) * 1000)
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
        for bad in [
            "",
            "yesterday",
            "2026-02-31",
            "2026-13-01",
            "2026-11-27T25:00",
            "2026-11-27T20",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
        assert_eq!(datetime_local(1_795_809_600_000), "2026-11-27T20:00");
    }
}
