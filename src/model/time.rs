//! Timestamps: stored as microseconds since the Unix epoch, written as RFC 3339 with six fractional
//! digits and `Z` (contract §1.3), and as HTTP-dates for `Last-Modified` (§11).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// Microseconds since the Unix epoch.
pub type Micros = i64;

pub fn now_micros() -> Micros {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    elapsed.as_micros() as i64
}

/// `2017-10-03T21:35:54.813000Z`.
pub fn rfc3339(micros: Micros) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// `Tue, 03 Oct 2017 23:02:11 GMT` (the fraction of a second dropped).
pub fn http_date(micros: Micros) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(micros.max(0) as u64 / 1_000_000))
}

/// Parse an `If-Modified-Since` value into whole seconds since the epoch: an HTTP-date (IMF-fixdate,
/// RFC 850, asctime) or ISO-8601 / RFC 3339 (with or without a fraction; `Z`, an offset, or none
/// meaning UTC). `None` when unparseable (the header is then ignored).
pub fn parse_if_modified_since(value: &str) -> Option<i64> {
    let value = value.trim();
    if let Ok(time) = httpdate::parse_http_date(value) {
        return time
            .duration_since(UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs() as i64);
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Some(time.timestamp());
    }
    // ISO-8601 without an offset means UTC.
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(time) = NaiveDateTime::parse_from_str(value, format) {
            return Some(time.and_utc().timestamp());
        }
    }
    None
}

/// Contract §11: 304 when `updated_at`, truncated to whole seconds, is not later than the header.
pub fn not_modified_since(updated_at: Micros, if_modified_since: Option<&str>) -> bool {
    match if_modified_since.and_then(parse_if_modified_since) {
        Some(since) => updated_at.div_euclid(1_000_000) <= since,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = 1_507_066_554_813_000; // 2017-10-03T21:35:54.813Z
        assert_eq!(rfc3339(t), "2017-10-03T21:35:54.813000Z");
        assert_eq!(http_date(t), "Tue, 03 Oct 2017 21:35:54 GMT");
    }

    #[test]
    fn parses_every_accepted_form() {
        let s = 1_507_066_554;
        for v in [
            "Tue, 03 Oct 2017 21:35:54 GMT",
            "Tuesday, 03-Oct-17 21:35:54 GMT",
            "Tue Oct  3 21:35:54 2017",
            "2017-10-03T21:35:54Z",
            "2017-10-03T21:35:54.999Z",
            "2017-10-03T23:35:54+02:00",
            "2017-10-03T21:35:54",
            "2017-10-03T21:35:54.5",
        ] {
            assert_eq!(parse_if_modified_since(v), Some(s), "{v}");
        }
        assert_eq!(parse_if_modified_since("yesterday"), None);
    }

    #[test]
    fn not_modified_compares_whole_seconds() {
        let t = 1_507_066_554_813_000;
        assert!(not_modified_since(t, Some("2017-10-03T21:35:54Z")));
        assert!(!not_modified_since(t, Some("2017-10-03T21:35:53Z")));
        assert!(!not_modified_since(t, Some("garbage")));
        assert!(!not_modified_since(t, None));
    }
}
