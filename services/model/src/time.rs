//! RFC 3339 instants that keep the offset they were reported in.
//!
//! Ordering and equality are by instant (UTC); the offset is kept only so that the NDJSON form
//! comes back as it was written. A time without an offset is refused: `2026-11-20T08:15:00` could
//! be any of 24 instants.

use chrono::{DateTime, FixedOffset, TimeZone};
use serde::{Serialize, Serializer};
use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<FixedOffset>);

impl Timestamp {
    /// Parses RFC 3339 with an explicit offset (`Z` or `±hh:mm`).
    pub fn parse(text: &str) -> Result<Self, String> {
        DateTime::parse_from_rfc3339(text)
            .map(Timestamp)
            .map_err(|error| format!("`{text}` is not an RFC 3339 time with an offset ({error})"))
    }

    /// Builds a timestamp from its parts; `None` when they are out of range or could not be
    /// written as RFC 3339 (years 0000–9999, whole-minute offsets under 24 h, no leap nanos).
    pub fn from_parts(unix_seconds: i64, nanos: u32, offset_seconds: i32) -> Option<Self> {
        if nanos >= 1_000_000_000 || offset_seconds % 60 != 0 {
            return None;
        }
        let offset = FixedOffset::east_opt(offset_seconds)?;
        let utc = DateTime::from_timestamp(unix_seconds, nanos)?;
        let local = offset.from_utc_datetime(&utc.naive_utc());
        use chrono::Datelike;
        if !(0..=9999).contains(&local.year()) {
            return None;
        }
        Some(Timestamp(local))
    }

    /// A UTC instant from milliseconds since the Unix epoch; `None` outside years 0000–9999.
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        Self::from_parts(
            millis.div_euclid(1000),
            (millis.rem_euclid(1000) * 1_000_000) as u32,
            0,
        )
    }

    /// Milliseconds since the Unix epoch: the key the processor orders and compares by.
    pub fn unix_millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    pub fn unix_seconds(&self) -> i64 {
        self.0.timestamp()
    }

    pub fn subsec_nanos(&self) -> u32 {
        self.0.timestamp_subsec_nanos()
    }

    pub fn offset_seconds(&self) -> i32 {
        self.0.offset().local_minus_utc()
    }

    /// The same instant shifted by `millis` (negative goes back), keeping the offset.
    pub fn plus_millis(&self, millis: i64) -> Self {
        Timestamp(self.0 + chrono::Duration::milliseconds(millis))
    }

    pub fn as_datetime(&self) -> &DateTime<FixedOffset> {
        &self.0
    }

    /// RFC 3339 with the original offset; fractional seconds only when present (as chrono's
    /// `SecondsFormat::AutoSi`: 3, 6 or 9 digits, whichever is exact).
    pub fn to_rfc3339(&self) -> String {
        let mut buffer = [0u8; RFC3339_MAX];
        let length = self.write_rfc3339(&mut buffer);
        String::from_utf8_lossy(&buffer[..length]).into_owned()
    }

    /// Formats into a stack buffer: events carry two times each, and this is the hot path of
    /// every NDJSON line written.
    fn write_rfc3339(&self, buffer: &mut [u8; RFC3339_MAX]) -> usize {
        use chrono::{Datelike, Timelike};
        let local = self.0;
        let mut out = Cursor { buffer, length: 0 };
        // years are 0..=9999 by construction (see `from_parts` and RFC 3339 parsing)
        out.digits(local.year() as u32, 4);
        // chrono keeps a leap second as nanoseconds past 1e9 of second 59
        let leap = local.nanosecond() >= 1_000_000_000;
        for (separator, value) in [
            (b'-', local.month()),
            (b'-', local.day()),
            (b'T', local.hour()),
            (b':', local.minute()),
            (b':', local.second() + u32::from(leap)),
        ] {
            out.push(separator);
            out.digits(value, 2);
        }
        let nanos = local.nanosecond() % 1_000_000_000;
        let (fraction, count) = if nanos == 0 {
            (0, 0)
        } else if nanos.is_multiple_of(1_000_000) {
            (nanos / 1_000_000, 3)
        } else if nanos.is_multiple_of(1_000) {
            (nanos / 1_000, 6)
        } else {
            (nanos, 9)
        };
        if count > 0 {
            out.push(b'.');
            out.digits(fraction, count);
        }
        let offset = self.offset_seconds();
        out.push(if offset < 0 { b'-' } else { b'+' });
        let offset_minutes = offset.unsigned_abs() / 60;
        out.digits(offset_minutes / 60, 2);
        out.push(b':');
        out.digits(offset_minutes % 60, 2);
        out.length
    }
}

struct Cursor<'a> {
    buffer: &'a mut [u8; RFC3339_MAX],
    length: usize,
}

impl Cursor<'_> {
    fn push(&mut self, byte: u8) {
        self.buffer[self.length] = byte;
        self.length += 1;
    }

    fn digits(&mut self, value: u32, count: u32) {
        for position in (0..count).rev() {
            self.push(b'0' + (value / 10u32.pow(position) % 10) as u8);
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+HH:MM`
const RFC3339_MAX: usize = 35;

impl From<DateTime<FixedOffset>> for Timestamp {
    fn from(value: DateTime<FixedOffset>) -> Self {
        Timestamp(value)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buffer = [0u8; RFC3339_MAX];
        let length = self.write_rfc3339(&mut buffer);
        serializer.serialize_str(std::str::from_utf8(&buffer[..length]).expect("ascii"))
    }
}

/// The OpenAPI schema: an RFC 3339 date-time string.
impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                utoipa::openapi::schema::KnownFormat::DateTime,
            )))
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_matches_chrono_auto_si() {
        use proptest::prelude::*;
        proptest!(|(seconds in -62_000_000_000i64..253_000_000_000i64,
                    nanos in prop_oneof![Just(0u32), 0u32..1_000_000_000, (0u32..1000).prop_map(|n| n * 1_000_000), (0u32..1_000_000).prop_map(|n| n * 1000)],
                    offset_minutes in -1439i32..=1439)| {
            if let Some(time) = Timestamp::from_parts(seconds, nanos, offset_minutes * 60) {
                prop_assert_eq!(
                    time.to_rfc3339(),
                    time.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
                );
            }
        });
        for text in [
            "2016-12-31T23:59:60+00:00",
            "2016-12-31T23:59:60.5+00:00",
            "0000-01-01T00:00:00-23:59",
        ] {
            let time = Timestamp::parse(text).unwrap();
            assert_eq!(
                time.to_rfc3339(),
                time.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
            );
        }
    }

    #[test]
    fn offset_is_required_and_kept() {
        let time = Timestamp::parse("2026-11-20T08:15:00+08:00").unwrap();
        assert_eq!(time.to_rfc3339(), "2026-11-20T08:15:00+08:00");
        assert_eq!(time.offset_seconds(), 8 * 3600);
        assert!(Timestamp::parse("2026-11-20T08:15:00").is_err());
        assert!(Timestamp::parse("2026-11-20").is_err());
        let utc = Timestamp::parse("2026-11-20T00:15:00Z").unwrap();
        assert_eq!(utc, time, "equality is by instant");
        let fractional = Timestamp::parse("2026-11-20T08:15:00.250+08:00").unwrap();
        assert_eq!(fractional.to_rfc3339(), "2026-11-20T08:15:00.250+08:00");
    }

    #[test]
    fn parts_round_trip() {
        let time = Timestamp::parse("2026-11-20T08:15:00.123456789-05:30").unwrap();
        let back = Timestamp::from_parts(
            time.unix_seconds(),
            time.subsec_nanos(),
            time.offset_seconds(),
        )
        .unwrap();
        assert_eq!(back.to_rfc3339(), time.to_rfc3339());
        assert!(
            Timestamp::from_parts(0, 0, 30).is_none(),
            "offset with seconds"
        );
        assert!(
            Timestamp::from_parts(0, 1_500_000_000, 0).is_none(),
            "leap nanos"
        );
        assert!(
            Timestamp::from_parts(400_000_000_000, 0, 0).is_none(),
            "year past 9999"
        );
    }
}
