//! RFC 3339 instants that keep the offset they were reported in.
//!
//! Ordering and equality are by instant (UTC); the offset is kept only so that the NDJSON form
//! comes back as it was written. A time without an offset is refused: `2026-11-20T08:15:00` could
//! be any of 24 instants.

use chrono::{DateTime, FixedOffset, TimeZone};
use serde::{Serialize, Serializer};
use std::fmt;

/// The instant as plain integers: the processor reads an event's time many times over (ordering,
/// windows, the watermark, every status record it encodes), and through chrono's
/// `DateTime<FixedOffset>` each read converted a calendar date to seconds again (its
/// representation is the local date and time). Chrono still parses and formats.
#[derive(Clone, Copy)]
pub struct Timestamp {
    /// Seconds since the Unix epoch (UTC); a leap second counts as the second before it.
    seconds: i64,
    /// Within the second, below 1e9.
    nanos: u32,
    /// East of UTC, in minutes (RFC 3339 offsets are whole minutes).
    offset_minutes: i16,
    /// A leap second (`23:59:60`): after every other instant of `seconds`, as chrono orders it.
    leap: bool,
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.instant() == other.instant()
    }
}

impl Eq for Timestamp {}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.instant().cmp(&other.instant())
    }
}

impl std::hash::Hash for Timestamp {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.instant().hash(state);
    }
}

/// The wall clock, Unix milliseconds: kouan's one reading of it (0 before 1970).
pub fn wall_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Timestamp {
    /// The wall clock as a UTC timestamp, to the millisecond.
    pub fn now() -> Self {
        Timestamp::from_unix_millis(wall_millis()).expect("the clock is in range")
    }

    /// What equality and order go by: the instant, whatever the offset.
    fn instant(&self) -> (i64, bool, u32) {
        (self.seconds, self.leap, self.nanos)
    }

    /// Parses RFC 3339 with an explicit offset (`Z` or `±hh:mm`).
    pub fn parse(text: &str) -> Result<Self, String> {
        DateTime::parse_from_rfc3339(text)
            .map(Timestamp::from)
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
        Some(Timestamp {
            seconds: unix_seconds,
            nanos,
            offset_minutes: (offset_seconds / 60) as i16,
            leap: false,
        })
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
        // as chrono counts it: a leap second's milliseconds run on past 999
        self.seconds * 1000 + i64::from(self.subsec_nanos() / 1_000_000)
    }

    pub fn unix_seconds(&self) -> i64 {
        self.seconds
    }

    /// Nanoseconds within the second; from 1e9 on within a leap second (as chrono gives them).
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos + if self.leap { 1_000_000_000 } else { 0 }
    }

    pub fn offset_seconds(&self) -> i32 {
        i32::from(self.offset_minutes) * 60
    }

    /// The same instant shifted by `millis` (negative goes back), keeping the offset.
    pub fn plus_millis(&self, millis: i64) -> Self {
        Timestamp::from(self.to_datetime() + chrono::Duration::milliseconds(millis))
    }

    /// The instant in its offset, as chrono has it.
    pub fn to_datetime(&self) -> DateTime<FixedOffset> {
        let offset = FixedOffset::east_opt(self.offset_seconds()).expect("an offset under 24 h");
        let utc = DateTime::from_timestamp(self.seconds, self.subsec_nanos())
            .expect("a time within years 0000–9999");
        offset.from_utc_datetime(&utc.naive_utc())
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
        let local = self.to_datetime();
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
        let nanos = value.timestamp_subsec_nanos();
        Timestamp {
            seconds: value.timestamp(),
            nanos: nanos % 1_000_000_000,
            offset_minutes: (value.offset().local_minus_utc() / 60) as i16,
            leap: nanos >= 1_000_000_000,
        }
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
                    time.to_datetime().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
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
                time.to_datetime()
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
            );
        }
    }

    /// Order, equality and the Unix readings are chrono's, leap seconds included.
    #[test]
    fn the_integers_read_as_chrono_does() {
        use proptest::prelude::*;
        let time = (
            -62_000_000_000i64..253_000_000_000i64,
            prop_oneof![Just(0u32), 0u32..1_000_000_000],
            -1439i32..=1439,
        )
            .prop_filter_map("in range", |(seconds, nanos, minutes)| {
                Timestamp::from_parts(seconds, nanos, minutes * 60)
            });
        proptest!(|(a in time.clone(), b in time)| {
            let (x, y) = (a.to_datetime(), b.to_datetime());
            prop_assert_eq!(a.cmp(&b), x.cmp(&y));
            prop_assert_eq!(a == b, x == y);
            prop_assert_eq!(a.unix_millis(), x.timestamp_millis());
            prop_assert_eq!(Timestamp::from(x).to_rfc3339(), a.to_rfc3339());
        });
        let leap = Timestamp::parse("2016-12-31T23:59:60.5+00:00").unwrap();
        let before = Timestamp::parse("2016-12-31T23:59:59.9+00:00").unwrap();
        let after = Timestamp::parse("2017-01-01T00:00:00+00:00").unwrap();
        assert!(before < leap && leap < after);
        assert_eq!(leap.unix_millis(), leap.to_datetime().timestamp_millis());
        assert_eq!(leap.to_rfc3339(), "2016-12-31T23:59:60.500+00:00");
        assert_eq!(std::mem::size_of::<Option<Timestamp>>(), 16);
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
