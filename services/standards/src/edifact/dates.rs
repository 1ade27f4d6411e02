//! EDIFACT dates and times (DTM's C507 and UNB's S004), read into instants.
//!
//! Formats (code list 2379) read: `102` CCYYMMDD (midnight), `203` CCYYMMDDHHMM, `204`
//! CCYYMMDDHHMMSS — local times, read in the source's configured zone — and `303`/`304`, the
//! same with a zone `ZZZ` written `Z`, `UTC`, or a signed offset (`+08`, `+0800`, `-0530`).
//! Without a format code, the length decides between 102, 203 and 204.

use crate::zones::SourceZones;
use chrono::{FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use kouan_model::Timestamp;

/// A date/time value with its format code, read for `source`.
pub fn read(
    value: &str,
    format: Option<&str>,
    source: &str,
    zones: &SourceZones,
) -> Result<Timestamp, String> {
    let format = match format {
        Some(code) => code,
        None => match value.len() {
            8 => "102",
            12 => "203",
            14 => "204",
            _ => {
                return Err(format!(
                    "{value:?} has no format code and a length that is none of 102, 203, 204"
                ))
            }
        },
    };
    let (digits, zone) = match format {
        "102" => (8, None),
        "203" => (12, None),
        "204" => (14, None),
        "303" => (12, Some(value.get(12..).unwrap_or(""))),
        "304" => (14, Some(value.get(14..).unwrap_or(""))),
        other => {
            return Err(format!(
                "date/time format {other} is not read (102, 203, 204, 303 or 304)"
            ))
        }
    };
    if value.len() < digits
        || !value.as_bytes()[..digits].iter().all(u8::is_ascii_digit)
        || (zone.is_none() && value.len() != digits)
    {
        return Err(format!("{value:?} is not a format {format} date/time"));
    }
    let local = local(&value[..digits])
        .ok_or_else(|| format!("{value:?} is not a calendar date and time"))?;
    match zone {
        None => zones.resolve(source, local),
        Some(zone) => {
            let offset = offset(zone)
                .ok_or_else(|| format!("{zone:?} is not a time zone (Z, UTC or ±hh[mm])"))?;
            let at = offset
                .from_local_datetime(&local)
                .single()
                .ok_or_else(|| format!("{value:?} is out of range"))?;
            Ok(Timestamp::from(at))
        }
    }
}

/// UNB's date (YYMMDD, or CCYYMMDD in syntax 4) and time (HHMM), local to the sender.
pub fn preparation(
    date: &str,
    time: &str,
    source: &str,
    zones: &SourceZones,
) -> Result<Timestamp, String> {
    let date = match date.len() {
        6 => format!("20{date}"),
        8 => date.to_string(),
        _ => return Err(format!("UNB date {date:?} is neither YYMMDD nor CCYYMMDD")),
    };
    let joined = format!("{date}{time}");
    if joined.len() != 12 || !joined.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "UNB date/time {date}:{time} is not a date and HHMM"
        ));
    }
    let local =
        local(&joined).ok_or_else(|| format!("UNB date/time {joined} is not a calendar date"))?;
    zones.resolve(source, local)
}

fn local(digits: &str) -> Option<NaiveDateTime> {
    let number = |range: std::ops::Range<usize>| digits.get(range)?.parse::<u32>().ok();
    let date = NaiveDate::from_ymd_opt(number(0..4)? as i32, number(4..6)?, number(6..8)?)?;
    let (hour, minute, second) = match digits.len() {
        8 => (0, 0, 0),
        12 => (number(8..10)?, number(10..12)?, 0),
        _ => (number(8..10)?, number(10..12)?, number(12..14)?),
    };
    date.and_hms_opt(hour, minute, second)
}

fn offset(zone: &str) -> Option<FixedOffset> {
    if matches!(zone, "Z" | "UTC" | "GMT") {
        return FixedOffset::east_opt(0);
    }
    let (sign, rest) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    if !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = match rest.len() {
        2 => (rest.parse::<i32>().ok()?, 0),
        4 => (
            rest[..2].parse::<i32>().ok()?,
            rest[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    if hours > 14 || minutes > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// `at` as format 204 in `zone` (the writer's side).
pub fn write_204(at: Timestamp, zone: chrono_tz::Tz) -> String {
    at.to_datetime()
        .with_timezone(&zone)
        .format("%Y%m%d%H%M%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zones() -> SourceZones {
        SourceZones::default().with("ZZYARD", chrono_tz::Asia::Shanghai)
    }

    #[test]
    fn local_formats_take_the_sources_zone() {
        let at = read("202611200815", Some("203"), "ZZYARD", &zones()).unwrap();
        assert_eq!(at, Timestamp::parse("2026-11-20T08:15:00+08:00").unwrap());
        let at = read("20261120081530", None, "ZZYARD", &zones()).unwrap();
        assert_eq!(at, Timestamp::parse("2026-11-20T08:15:30+08:00").unwrap());
        let refused = read("202611200815", Some("203"), "NOBODY", &zones()).unwrap_err();
        assert!(refused.contains("no zone"), "{refused}");
    }

    #[test]
    fn zoned_formats_need_no_configuration() {
        let at = read("202611200815+01", Some("303"), "NOBODY", &zones()).unwrap();
        assert_eq!(at, Timestamp::parse("2026-11-20T08:15:00+01:00").unwrap());
        let at = read("20261120081500Z", Some("304"), "NOBODY", &zones()).unwrap();
        assert_eq!(at, Timestamp::parse("2026-11-20T08:15:00Z").unwrap());
        assert!(read("202611200815XYZ", Some("303"), "NOBODY", &zones()).is_err());
    }

    #[test]
    fn broken_values_say_why() {
        assert!(read("20261320", Some("102"), "ZZYARD", &zones())
            .unwrap_err()
            .contains("calendar"));
        assert!(read("2026112008", Some("203"), "ZZYARD", &zones())
            .unwrap_err()
            .contains("format 203"));
        assert!(read("2026", Some("999"), "ZZYARD", &zones())
            .unwrap_err()
            .contains("999"));
        assert_eq!(
            write_204(
                Timestamp::parse("2026-11-20T01:15:00+01:00").unwrap(),
                chrono_tz::Asia::Shanghai
            ),
            "20261120081500"
        );
    }
}
