//! Instants as milliseconds since 1970 (UTC), written the way UWS 1.1
//! §2.2.1 asks: ISO 8601 with a `T` and the `Z` zone designator.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// An instant in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub i64);

impl Millis {
    /// Now.
    pub fn now() -> Millis {
        Millis(Utc::now().timestamp_millis())
    }

    /// This instant plus `seconds`.
    pub fn plus_seconds(self, seconds: u64) -> Millis {
        let ms = i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
        Millis(self.0.saturating_add(ms))
    }

    /// `2026-12-02T13:48:03.123Z`.
    pub fn to_iso(self) -> String {
        let mut s = String::with_capacity(24);
        self.write_iso(&mut s);
        s
    }

    /// Appends [`Millis::to_iso`]'s text to `out` (job lists write 10^5 of
    /// them; this skips chrono's format-string interpreter).
    pub fn write_iso(self, out: &mut String) {
        use chrono::Datelike;
        let day = self.0.div_euclid(86_400_000);
        let in_day = self.0.rem_euclid(86_400_000);
        let date = DateTime::<Utc>::from_timestamp_millis(day * 86_400_000).unwrap_or_default();
        fn digits(out: &mut String, n: i64, width: u32, end: char) {
            let mut place = 10i64.pow(width.saturating_sub(1));
            if n >= place * 10 {
                out.push_str(&n.to_string());
            } else {
                while place > 0 {
                    out.push(char::from(b'0' + (n / place % 10) as u8));
                    place /= 10;
                }
            }
            out.push(end);
        }
        digits(out, i64::from(date.year()), 4, '-');
        digits(out, i64::from(date.month()), 2, '-');
        digits(out, i64::from(date.day()), 2, 'T');
        digits(out, in_day / 3_600_000, 2, ':');
        digits(out, in_day / 60_000 % 60, 2, ':');
        digits(out, in_day / 1000 % 60, 2, '.');
        digits(out, in_day % 1000, 3, 'Z');
    }

    /// Reads an ISO 8601 instant: with a zone (`Z` or `+01:00`), or without
    /// one, then taken as UTC as UWS says all its times are; a date alone
    /// is its midnight.
    pub fn parse_iso(text: &str) -> Option<Millis> {
        let text = text.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Some(Millis(t.timestamp_millis()));
        }
        let bare = text.trim_end_matches(['Z', 'z']);
        for format in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
        ] {
            if let Ok(t) = NaiveDateTime::parse_from_str(bare, format) {
                return Some(Millis(t.and_utc().timestamp_millis()));
            }
        }
        let day = NaiveDate::parse_from_str(bare, "%Y-%m-%d").ok()?;
        Some(Millis(
            day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_round_trip_through_iso_8601() {
        let t = Millis(1_796_219_283_123);
        assert_eq!(t.to_iso(), "2026-12-02T13:48:03.123Z");
        assert_eq!(Millis::parse_iso(&t.to_iso()), Some(t));
        assert_eq!(Millis::parse_iso("2026-12-02T14:48:03.123+01:00"), Some(t));
        assert_eq!(
            Millis::parse_iso("2026-12-02T13:48:03"),
            Some(Millis(1_796_219_283_000))
        );
        assert_eq!(
            Millis::parse_iso("2026-12-02"),
            Some(Millis(1_796_169_600_000))
        );
        assert_eq!(Millis::parse_iso("yesterday"), None);
    }
}
