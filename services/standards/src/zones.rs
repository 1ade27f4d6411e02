//! The time zone of each source whose times carry no offset (`--source-zones FILE`).
//!
//! EDIFACT's `203` times and Cargo-IMP's times are local; which locality is an agreement between
//! partners, not part of the message. kouan reads such a time in its source's configured zone and
//! rejects it, saying so, when the source has none: reading it as UTC would silently move every
//! event of a Zhengzhou yard by eight hours.

use chrono::{LocalResult, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use kouan_model::Timestamp;
use std::collections::HashMap;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceZones {
    zones: HashMap<String, Tz>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ZonesError {
    #[error("line {line}: expected `SOURCE IANA-ZONE`, got {text:?}")]
    Shape { line: usize, text: String },
    #[error("line {line}: {zone:?} is not an IANA time zone")]
    UnknownZone { line: usize, zone: String },
    #[error("line {line}: source {source_id:?} is given a zone twice")]
    Twice { line: usize, source_id: String },
}

impl SourceZones {
    /// Reads `SOURCE IANA-ZONE` lines; blank lines and `#` comments are skipped.
    pub fn parse(text: &str) -> Result<Self, ZonesError> {
        let mut zones = HashMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let mut words = content.split_whitespace();
            let (Some(source), Some(zone), None) = (words.next(), words.next(), words.next())
            else {
                return Err(ZonesError::Shape {
                    line,
                    text: raw.to_string(),
                });
            };
            let tz: Tz = zone.parse().map_err(|_| ZonesError::UnknownZone {
                line,
                zone: zone.to_string(),
            })?;
            if zones.insert(source.to_string(), tz).is_some() {
                return Err(ZonesError::Twice {
                    line,
                    source_id: source.to_string(),
                });
            }
        }
        Ok(SourceZones { zones })
    }

    pub fn with(mut self, source: &str, zone: Tz) -> Self {
        self.zones.insert(source.to_string(), zone);
        self
    }

    pub fn zone(&self, source: &str) -> Option<Tz> {
        self.zones.get(source).copied()
    }

    /// The instant of a local time reported by `source`. In a daylight-saving fold the earlier
    /// instant is taken (the first time the clock showed it); a local time that never existed
    /// (a spring-forward gap) is rejected.
    pub fn resolve(&self, source: &str, local: NaiveDateTime) -> Result<Timestamp, String> {
        let zone = self.zone(source).ok_or_else(|| {
            format!(
                "the time {local} carries no zone and source {source:?} has none configured (--source-zones)"
            )
        })?;
        local_in(zone, local)
    }
}

/// An ISO 8601 date-time as XML and JSON-LD standards write it: with an offset (`Z`, `+08:00`)
/// it is that instant; without one it is local to `source` and read in its configured zone.
pub fn read_time(zones: &SourceZones, source: &str, text: &str) -> Result<Timestamp, String> {
    let text = text.trim();
    let date_end = text.find('T').unwrap_or(text.len());
    let has_offset =
        text.ends_with('Z') || text[date_end..].contains('+') || text[date_end..].contains('-');
    if has_offset {
        return Timestamp::parse(text);
    }
    let local = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .ok_or_else(|| format!("{text:?} is not an ISO 8601 date-time"))?;
    zones.resolve(source, local)
}

/// `local` read in `zone`, as [`SourceZones::resolve`] reads it.
pub fn local_in(zone: Tz, local: NaiveDateTime) -> Result<Timestamp, String> {
    let instant = match zone.from_local_datetime(&local) {
        LocalResult::Single(at) => at,
        LocalResult::Ambiguous(earlier, _) => earlier,
        LocalResult::None => {
            return Err(format!("the local time {local} does not exist in {zone}"));
        }
    };
    Ok(Timestamp::from(instant.fixed_offset()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn a_zones_file_is_read_and_its_errors_name_the_line() {
        let zones =
            SourceZones::parse("# sources\nZZYARD Asia/Shanghai\n\nDEHAM Europe/Berlin # yard\n")
                .unwrap();
        assert_eq!(zones.zone("ZZYARD"), Some(chrono_tz::Asia::Shanghai));
        assert_eq!(zones.zone("DEHAM"), Some(chrono_tz::Europe::Berlin));
        assert_eq!(
            SourceZones::parse("A Mars/Olympus").unwrap_err(),
            ZonesError::UnknownZone {
                line: 1,
                zone: "Mars/Olympus".into()
            }
        );
        assert!(matches!(
            SourceZones::parse("\nA"),
            Err(ZonesError::Shape { line: 2, .. })
        ));
        assert!(matches!(
            SourceZones::parse("A UTC\nA UTC"),
            Err(ZonesError::Twice { line: 2, .. })
        ));
    }

    #[test]
    fn a_local_time_takes_its_sources_zone_and_an_unknown_source_is_refused() {
        let zones = SourceZones::default().with("ZZYARD", chrono_tz::Asia::Shanghai);
        let local = NaiveDate::from_ymd_opt(2026, 11, 20)
            .unwrap()
            .and_hms_opt(8, 15, 0)
            .unwrap();
        let at = zones.resolve("ZZYARD", local).unwrap();
        assert_eq!(at, Timestamp::parse("2026-11-20T00:15:00Z").unwrap());
        assert_eq!(at.offset_seconds(), 8 * 3600);
        let refused = zones.resolve("OTHER", local).unwrap_err();
        assert!(refused.contains("no zone"), "{refused}");
    }

    #[test]
    fn daylight_saving_folds_take_the_earlier_instant_and_gaps_are_refused() {
        let berlin = chrono_tz::Europe::Berlin;
        let fold = NaiveDate::from_ymd_opt(2026, 10, 25)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(
            local_in(berlin, fold).unwrap(),
            Timestamp::parse("2026-10-25T02:30:00+02:00").unwrap()
        );
        let gap = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert!(local_in(berlin, gap).is_err());
    }
}
