//! The short-code enums of the contracts.
//!
//! Each enum lists its variants in the order of the matching protobuf enum, so that the protobuf
//! number is the position plus one (0 is the protobuf "unspecified"). A unit test checks every
//! variant against the generated protobuf names.

use serde::{Serialize, Serializer};

macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every variant, in protobuf order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The contract's short code, e.g. `"LOAD"`.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }

            /// The protobuf enum number.
            pub fn to_proto(self) -> i32 {
                self as i32 + 1
            }

            /// `None` for 0 (unspecified) and for numbers this version does not know.
            pub fn from_proto(number: i32) -> Option<Self> {
                usize::try_from(number).ok()?.checked_sub(1).and_then(|i| Self::ALL.get(i).copied())
            }

            /// The accepted codes, for error messages.
            pub fn expected() -> String {
                Self::ALL.iter().map(|v| v.code()).collect::<Vec<_>>().join(", ")
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.code())
            }
        }

        /// The OpenAPI schema: a string, one of the codes.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some(Self::ALL.iter().map(|v| v.code())))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

code_enum!(
    /// DCSA eventClassifierCode: actual, estimated or planned.
    Classifier { Act = "ACT", Est = "EST", Pln = "PLN" }
);
code_enum!(ShipmentEventType { Booked = "BOOKED", Updated = "UPDATED", Cancelled = "CANCELLED" });
code_enum!(DocumentType { Awb = "AWB", RailWaybill = "RAIL_WAYBILL", BillOfLading = "BILL_OF_LADING" });
code_enum!(ShipmentMode { Air = "AIR", Rail = "RAIL", Sea = "SEA", Road = "ROAD", Multimodal = "MULTIMODAL" });
code_enum!(Direction { Import = "IMPORT", Export = "EXPORT", Transit = "TRANSIT" });
code_enum!(
    /// DCSA equipment event types.
    EquipmentEventType {
        Load = "LOAD", Disc = "DISC", Gtin = "GTIN", Gtot = "GTOT", Stuf = "STUF", Strp = "STRP",
        Pick = "PICK", Drop = "DROP", Insp = "INSP", Rsea = "RSEA", Rmvd = "RMVD",
    }
);
code_enum!(EmptyIndicator { Laden = "LADEN", Empty = "EMPTY" });
code_enum!(TransportMode { Air = "AIR", Rail = "RAIL", Vessel = "VESSEL", Truck = "TRUCK", Barge = "BARGE" });
code_enum!(TransportEventType { Departed = "DEPARTED", Arrived = "ARRIVED", BorderCrossed = "BORDER_CROSSED" });
code_enum!(
    /// Cargo iQ / Cargo-IMP FSU status codes.
    AirStatus {
        Bkd = "BKD", Rcs = "RCS", Foh = "FOH", Man = "MAN", Dep = "DEP", Arr = "ARR", Rcf = "RCF",
        Nfd = "NFD", Dlv = "DLV", Tfd = "TFD", Ccd = "CCD", Dis = "DIS", Awd = "AWD",
    }
);
code_enum!(
    /// Declaration statuses in rank order: the derived `Ord` is the contract's tie-break rank.
    CustomsStatus {
        SummaryDeclared = "SUMMARY_DECLARED", Declared = "DECLARED", Accepted = "ACCEPTED",
        Reviewed = "REVIEWED", SupplementRequired = "SUPPLEMENT_REQUIRED", DutyDue = "DUTY_DUE",
        InspectionNotice = "INSPECTION_NOTICE", Inspected = "INSPECTED", Suspended = "SUSPENDED",
        Rejected = "REJECTED", Released = "RELEASED", Closed = "CLOSED",
    }
);
code_enum!(CustomsProcedure { Standard = "STANDARD", Advance = "ADVANCE", TwoStep = "TWO_STEP" });
code_enum!(
    /// The customs state of a shipment's status record.
    CustomsState {
        NotDeclared = "NOT_DECLARED", Declared = "DECLARED", UnderInspection = "UNDER_INSPECTION",
        Held = "HELD", Rejected = "REJECTED", Released = "RELEASED",
    }
);
code_enum!(
    /// How far the cargo has moved.
    TransportStage {
        Booked = "BOOKED", Received = "RECEIVED", Departed = "DEPARTED", InTransit = "IN_TRANSIT",
        Arrived = "ARRIVED", Delivered = "DELIVERED", Cancelled = "CANCELLED",
    }
);
code_enum!(AlertKind { Dwell = "DWELL", MissingMilestone = "MISSING_MILESTONE", CustomsHold = "CUSTOMS_HOLD", CustomsRejected = "CUSTOMS_REJECTED" });
code_enum!(AlertState { Firing = "FIRING", Resolved = "RESOLVED" });

impl CustomsStatus {
    /// The status record's customs state this declaration status stands for.
    pub fn state(self) -> CustomsState {
        use CustomsStatus::*;
        match self {
            SummaryDeclared | Declared | Accepted | Reviewed | SupplementRequired | DutyDue => {
                CustomsState::Declared
            }
            InspectionNotice | Inspected => CustomsState::UnderInspection,
            Suspended => CustomsState::Held,
            Rejected => CustomsState::Rejected,
            Released | Closed => CustomsState::Released,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb;

    fn check<T: Copy>(
        all: &[T],
        code: fn(T) -> &'static str,
        number: fn(T) -> i32,
        name: fn(i32) -> Option<&'static str>,
    ) {
        for &variant in all {
            let proto_name = name(number(variant)).expect("protobuf knows the number");
            assert!(
                proto_name.ends_with(&format!("_{}", code(variant))),
                "{proto_name} does not end with {}",
                code(variant)
            );
        }
    }

    macro_rules! check_enum {
        ($ours:ty, $theirs:ty) => {
            check(<$ours>::ALL, <$ours>::code, <$ours>::to_proto, |n| {
                <$theirs>::try_from(n).ok().map(|v| v.as_str_name())
            });
            assert_eq!(<$ours>::from_proto(0), None);
            assert_eq!(<$ours>::from_proto(<$ours>::ALL.len() as i32 + 1), None);
            for &v in <$ours>::ALL {
                assert_eq!(<$ours>::from_proto(v.to_proto()), Some(v));
                assert_eq!(<$ours>::from_code(v.code()), Some(v));
            }
        };
    }

    #[test]
    fn every_code_matches_its_protobuf_number() {
        check_enum!(Classifier, pb::Classifier);
        check_enum!(ShipmentEventType, pb::ShipmentEventType);
        check_enum!(DocumentType, pb::DocumentType);
        check_enum!(ShipmentMode, pb::ShipmentMode);
        check_enum!(Direction, pb::Direction);
        check_enum!(EquipmentEventType, pb::EquipmentEventType);
        check_enum!(EmptyIndicator, pb::EmptyIndicator);
        check_enum!(TransportMode, pb::TransportMode);
        check_enum!(TransportEventType, pb::TransportEventType);
        check_enum!(AirStatus, pb::AirStatus);
        check_enum!(CustomsStatus, pb::CustomsStatus);
        check_enum!(CustomsProcedure, pb::CustomsProcedure);
        check_enum!(CustomsState, pb::CustomsState);
        check_enum!(TransportStage, pb::TransportStage);
        check_enum!(AlertKind, pb::AlertKind);
        check_enum!(AlertState, pb::AlertState);
    }

    #[test]
    fn customs_rank_is_the_contract_order() {
        assert!(CustomsStatus::Closed > CustomsStatus::Released);
        assert!(CustomsStatus::SummaryDeclared < CustomsStatus::Declared);
        assert_eq!(CustomsStatus::Suspended.state(), CustomsState::Held);
    }
}
