//! The query of `GET /dcsa/tnt/v2/events` (and a DCSA subscription's filters): parsed from the
//! request's parameters as DCSA T&T 2.2 names them, every error naming the parameter, and
//! matched against a published event. Every filter holds for an event only when the event has
//! the field and its value matches (so `shipmentEventTypeCode` leaves out every equipment
//! event, as DCSA's own example says).

use super::{Facets, Key};
use std::collections::BTreeSet;
use std::ops::Bound;

/// What a request or subscription filters by; `None` filters nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    pub event_types: Option<BTreeSet<&'static str>>,
    pub shipment_codes: Option<BTreeSet<&'static str>>,
    pub document_types: Option<BTreeSet<&'static str>>,
    /// `carrierBookingReference` (also the deprecated `bookingReference`) and
    /// `transportDocumentReference`: kouan's shipment id is both its booking's and its
    /// transport document's reference.
    pub shipment: Option<String>,
    pub transport_codes: Option<BTreeSet<&'static str>>,
    pub transport_call: Option<String>,
    /// kouan's events name no vessel and no service: a filter on either matches nothing.
    pub vessel_imo: Option<String>,
    pub service: Option<String>,
    /// `exportVoyageNumber` (also the deprecated `carrierVoyageNumber`).
    pub voyage: Option<String>,
    pub unlocode: Option<String>,
    pub equipment_codes: Option<BTreeSet<&'static str>>,
    pub equipment: Option<String>,
    /// `eventCreatedDateTime` comparisons, Unix milliseconds.
    pub created: Vec<(Comparison, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Gte,
    Gt,
    Lte,
    Lt,
    Eq,
}

pub const EVENT_TYPES: &[&str] = &["SHIPMENT", "TRANSPORT", "EQUIPMENT"];
pub const SHIPMENT_CODES: &[&str] = &[
    "RECE", "DRFT", "PENA", "PENU", "REJE", "APPR", "ISSU", "SURR", "SUBM", "VOID", "CONF", "REQS",
    "CMPL", "HOLD", "RELS",
];
pub const DOCUMENT_TYPES: &[&str] = &[
    "CBR", "BKG", "SHI", "SRM", "TRD", "ARN", "VGM", "CAS", "CUS", "DGD", "OOG",
];
pub const TRANSPORT_CODES: &[&str] = &["ARRI", "DEPA"];
pub const EQUIPMENT_CODES: &[&str] = &[
    "LOAD", "DISC", "GTIN", "GTOT", "STUF", "STRP", "PICK", "DROP", "INSP", "RSEA", "RMVD",
];

/// A parameter at fault and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub parameter: String,
    pub message: String,
}

impl FilterError {
    pub fn new(parameter: &str, message: impl Into<String>) -> Self {
        FilterError {
            parameter: parameter.to_string(),
            message: message.into(),
        }
    }
}

/// The filter parameters (each also accepted in a subscription's body).
pub const FILTER_PARAMETERS: &[&str] = &[
    "eventType",
    "shipmentEventTypeCode",
    "documentTypeCode",
    "carrierBookingReference",
    "bookingReference",
    "transportDocumentReference",
    "transportDocumentID",
    "transportEventTypeCode",
    "scheduleID",
    "transportCallID",
    "vesselIMONumber",
    "carrierVoyageNumber",
    "exportVoyageNumber",
    "carrierServiceCode",
    "UNLocationCode",
    "equipmentEventTypeCode",
    "equipmentReference",
];

impl EventFilter {
    /// Applies one parameter; `name` must be one of [`FILTER_PARAMETERS`] or an
    /// `eventCreatedDateTime` form.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), FilterError> {
        let codes = |allowed: &[&'static str]| -> Result<BTreeSet<&'static str>, FilterError> {
            let mut set = BTreeSet::new();
            for code in value.split(',') {
                let code = code.trim();
                let known = allowed.iter().find(|c| **c == code).ok_or_else(|| {
                    FilterError::new(
                        name,
                        format!("unknown value `{code}`; one of {}", allowed.join(", ")),
                    )
                })?;
                set.insert(*known);
            }
            Ok(set)
        };
        let text = |max: usize| -> Result<String, FilterError> {
            if value.chars().count() > max {
                return Err(FilterError::new(
                    name,
                    format!("longer than {max} characters"),
                ));
            }
            Ok(value.to_string())
        };
        match name {
            "eventType" => self.event_types = Some(codes(EVENT_TYPES)?),
            "shipmentEventTypeCode" => self.shipment_codes = Some(codes(SHIPMENT_CODES)?),
            "documentTypeCode" => self.document_types = Some(codes(DOCUMENT_TYPES)?),
            "carrierBookingReference"
            | "bookingReference"
            | "transportDocumentReference"
            | "transportDocumentID" => {
                let value = text(if name == "transportDocumentReference" {
                    20
                } else {
                    35
                })?;
                if self.shipment.as_ref().is_some_and(|s| *s != value) {
                    return Err(FilterError::new(
                        name,
                        "names another booking than the request's other reference",
                    ));
                }
                self.shipment = Some(value);
            }
            "transportEventTypeCode" => self.transport_codes = Some(codes(TRANSPORT_CODES)?),
            "transportCallID" => self.transport_call = Some(text(100)?),
            "vesselIMONumber" => self.vessel_imo = Some(text(7)?),
            "carrierVoyageNumber" | "exportVoyageNumber" => self.voyage = Some(text(50)?),
            "carrierServiceCode" => self.service = Some(text(5)?),
            // the deprecated schedule filter names what kouan has none of, as a vessel does
            "scheduleID" => self.service = Some(text(100)?),
            "UNLocationCode" => self.unlocode = Some(text(5)?),
            "equipmentEventTypeCode" => self.equipment_codes = Some(codes(EQUIPMENT_CODES)?),
            "equipmentReference" => self.equipment = Some(text(15)?),
            _ => {
                let Some(comparison) = created_comparison(name) else {
                    return Err(FilterError::new(name, "unknown parameter"));
                };
                let time = kouan_model::Timestamp::parse(value).map_err(|error| {
                    FilterError::new(
                        name,
                        format!("must be a date-time with its offset: {error}"),
                    )
                })?;
                self.created.push((comparison, time.unix_millis()));
            }
        }
        Ok(())
    }

    /// Whether an event of these facets, created at `created_millis`, passes every filter.
    pub fn matches(&self, facets: &Facets, created_millis: i64) -> bool {
        let has = |set: &Option<BTreeSet<&'static str>>, value: Option<&str>| match set {
            None => true,
            Some(set) => value.is_some_and(|v| set.contains(v)),
        };
        let equals = |want: &Option<String>, value: Option<&str>| match want {
            None => true,
            Some(want) => value == Some(want.as_str()),
        };
        let code_of = |kind: &str| (facets.event_type == kind).then_some(facets.code);
        has(&self.event_types, Some(facets.event_type))
            && has(&self.shipment_codes, code_of("SHIPMENT"))
            && has(&self.document_types, facets.document_type)
            && has(&self.transport_codes, code_of("TRANSPORT"))
            && has(&self.equipment_codes, code_of("EQUIPMENT"))
            && equals(&self.equipment, facets.unit.as_deref())
            && self.transport_call.as_ref().is_none_or(|want| {
                want.len() == 16
                    && facets
                        .call
                        .as_ref()
                        .is_some_and(|c| u64::from_str_radix(want, 16).ok() == Some(c.0))
            })
            && equals(&self.voyage, facets.call.as_ref().map(|c| &*c.1))
            && self.vessel_imo.is_none()
            && self.service.is_none()
            // DCSA filters equipment and transport events by place; shipment events have none
            && equals(&self.unlocode, facets.place.as_deref())
            && self.created.iter().all(|(comparison, at)| match comparison {
                Comparison::Gte => created_millis >= *at,
                Comparison::Gt => created_millis > *at,
                Comparison::Lte => created_millis <= *at,
                Comparison::Lt => created_millis < *at,
                Comparison::Eq => created_millis == *at,
            })
    }

    /// The range of keys the `eventCreatedDateTime` comparisons leave (the tightest of each
    /// side), so that a page starts where they do instead of scanning up to it.
    pub fn created_bounds(&self) -> (Bound<Key>, Bound<Key>) {
        let first_at = |millis: i64| -> Key { (millis, 0, 0) };
        let (mut lower, mut upper): (Option<i64>, Option<i64>) = (None, None);
        for (comparison, at) in &self.created {
            // as half-open millisecond ranges [lower, upper)
            let (l, u) = match comparison {
                Comparison::Gte => (Some(*at), None),
                Comparison::Gt => (at.checked_add(1), None),
                Comparison::Lte => (None, at.checked_add(1)),
                Comparison::Lt => (None, Some(*at)),
                Comparison::Eq => (Some(*at), at.checked_add(1)),
            };
            if let Some(l) = l {
                lower = Some(lower.map_or(l, |x| x.max(l)));
            }
            if let Some(u) = u {
                upper = Some(upper.map_or(u, |x| x.min(u)));
            }
        }
        (
            lower.map_or(Bound::Unbounded, |l| Bound::Included(first_at(l))),
            upper.map_or(Bound::Unbounded, |u| Bound::Excluded(first_at(u))),
        )
    }
}

/// The comparison an `eventCreatedDateTime` parameter name asks for; a name without an
/// operator is a strict equality, as DCSA says.
pub fn created_comparison(name: &str) -> Option<Comparison> {
    let operator = name.strip_prefix("eventCreatedDateTime")?;
    Some(match operator {
        "" | ":eq" => Comparison::Eq,
        ":gte" => Comparison::Gte,
        ":gt" => Comparison::Gt,
        ":lte" => Comparison::Lte,
        ":lt" => Comparison::Lt,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_and_parameters_name_themselves() {
        let mut filter = EventFilter::default();
        let error = filter.set("eventType", "SHIPMENT,AIR").unwrap_err();
        assert_eq!(error.parameter, "eventType");
        assert!(error.message.contains("`AIR`"), "{}", error.message);
        let error = filter.set("eventCreatedDateTime:ne", "x").unwrap_err();
        assert_eq!(error.message, "unknown parameter");
        let error = filter
            .set("eventCreatedDateTime:gte", "2026-01-01T00:00:00")
            .unwrap_err();
        assert!(error.message.contains("offset"), "{}", error.message);
        assert!(filter.set("UNLocationCode", "PLMAWX").is_err());
        assert!(filter.set("vesselIMONumber", "93214830").is_err());
    }

    #[test]
    fn every_comparison_form_parses() {
        for (name, comparison) in [
            ("eventCreatedDateTime", Comparison::Eq),
            ("eventCreatedDateTime:eq", Comparison::Eq),
            ("eventCreatedDateTime:gte", Comparison::Gte),
            ("eventCreatedDateTime:gt", Comparison::Gt),
            ("eventCreatedDateTime:lte", Comparison::Lte),
            ("eventCreatedDateTime:lt", Comparison::Lt),
        ] {
            let mut filter = EventFilter::default();
            filter.set(name, "2026-03-01T08:00:00+08:00").unwrap();
            assert_eq!(filter.created, vec![(comparison, 1_772_323_200_000)]);
        }
    }

    #[test]
    fn created_bounds_are_the_tightest_and_may_be_empty() {
        let mut filter = EventFilter::default();
        filter
            .set("eventCreatedDateTime:gt", "2026-03-01T08:00:00+08:00")
            .unwrap();
        filter
            .set("eventCreatedDateTime:gte", "2026-02-01T08:00:00+08:00")
            .unwrap();
        filter
            .set("eventCreatedDateTime:lt", "2026-03-01T08:00:00.001+08:00")
            .unwrap();
        let (lower, upper) = filter.created_bounds();
        let at = 1_772_323_200_000;
        assert_eq!(lower, Bound::Included((at + 1, 0, 0)));
        assert_eq!(upper, Bound::Excluded((at + 1, 0, 0)));
        // nothing lies between them, and a page over them is empty rather than a panic
        assert!(super::super::read::is_empty(&lower, &upper));
    }
}
