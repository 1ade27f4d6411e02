//! The status record's JSON form: STATUS.md's names, every field present (absent values are
//! explicit nulls, as are hours that are not finite numbers).

use crate::status::{Milestone, Status};
use crate::{Location, Timestamp, TransportRef};
use serde::Serialize;
use utoipa::ToSchema;

impl Status {
    /// The JSON object of STATUS.md for this record as emitted with `version` at `updated_at`
    /// (API.md's answers add `dwellHours`).
    pub fn to_json(&self, version: u64, updated_at: Option<&Timestamp>) -> String {
        serde_json::to_string(&self.json_view(version, updated_at))
            .expect("status records always serialize")
    }

    /// The record's JSON form as a value to serialize.
    pub fn json_view<'a>(
        &'a self,
        version: u64,
        updated_at: Option<&'a Timestamp>,
    ) -> StatusJson<'a> {
        StatusJson::of(self, version, updated_at)
    }
}

/// A JSON form's struct, `[head] { fields }`, with each listed field of its kind's type: the
/// derives read the types as written, so the kinds are turned into types here, field by field.
macro_rules! json_struct {
    ([$($head:tt)*] { $($done:tt)* } [$($tail:tt)*]) => {
        $($head)* { $($done)* $($tail)* }
    };
    (
        [$($head:tt)*] { $($done:tt)* } [$($tail:tt)*]
        $(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, text $(#[$attr:meta])*;
        $($rest:tt)*
    ) => {
        json_struct! {
            [$($head)*] { $($done)* $(#[doc = $doc])* $(#[$attr])* $name: &'a str, } [$($tail)*] $($rest)*
        }
    };
    (
        [$($head:tt)*] { $($done:tt)* } [$($tail:tt)*]
        $(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, milestone_code $(#[$attr:meta])*;
        $($rest:tt)*
    ) => {
        json_struct! {
            [$($head)*] { $($done)* $(#[doc = $doc])* $(#[$attr])* $name: &'static str, } [$($tail)*] $($rest)*
        }
    };
    (
        [$($head:tt)*] { $($done:tt)* } [$($tail:tt)*]
        $(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, opt_text $(#[$attr:meta])*;
        $($rest:tt)*
    ) => {
        json_struct! {
            [$($head)*] { $($done)* $(#[doc = $doc])* $(#[$attr])* $name: Option<&'a str>, } [$($tail)*] $($rest)*
        }
    };
    (
        [$($head:tt)*] { $($done:tt)* } [$($tail:tt)*]
        $(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, texts $(#[$attr:meta])*;
        $($rest:tt)*
    ) => {
        json_struct! {
            [$($head)*] { $($done)* $(#[doc = $doc])* $(#[$attr])* $name: &'a [String], } [$($tail)*] $($rest)*
        }
    };
    (
        [$($head:tt)*] { $($done:tt)* } [$($tail:tt)*]
        $(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, (code $t:ty) $(#[$attr:meta])*;
        $($rest:tt)*
    ) => {
        json_struct! {
            [$($head)*] { $($done)* $(#[doc = $doc])* $(#[$attr])* $name: Option<$t>, } [$($tail)*] $($rest)*
        }
    };
    (
        [$($head:tt)*] { $($done:tt)* } [$($tail:tt)*]
        $(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, (opt_code $t:ty) $(#[$attr:meta])*;
        $($rest:tt)*
    ) => {
        json_struct! {
            [$($head)*] { $($done)* $(#[doc = $doc])* $(#[$attr])* $name: Option<$t>, } [$($tail)*] $($rest)*
        }
    };
    (
        [$($head:tt)*] { $($done:tt)* } [$($tail:tt)*]
        $(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, (state $t:ty) $(#[$attr:meta])*;
        $($rest:tt)*
    ) => {
        json_struct! {
            [$($head)*] { $($done)* $(#[doc = $doc])* $(#[$attr])* $name: $t, } [$($tail)*] $($rest)*
        }
    };
    (
        [$($head:tt)*] { $($done:tt)* } [$($tail:tt)*]
        $(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, time $(#[$attr:meta])*;
        $($rest:tt)*
    ) => {
        json_struct! {
            [$($head)*] { $($done)* $(#[doc = $doc])* $(#[$attr])* $name: Option<&'a Timestamp>, } [$($tail)*] $($rest)*
        }
    };
    (
        [$($head:tt)*] { $($done:tt)* } [$($tail:tt)*]
        $(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, at $(#[$attr:meta])*;
        $($rest:tt)*
    ) => {
        json_struct! {
            [$($head)*] { $($done)* $(#[doc = $doc])* $(#[$attr])* $name: &'a Timestamp, } [$($tail)*] $($rest)*
        }
    };
    (
        [$($head:tt)*] { $($done:tt)* } [$($tail:tt)*]
        $(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, flag $(#[$attr:meta])*;
        $($rest:tt)*
    ) => {
        json_struct! {
            [$($head)*] { $($done)* $(#[doc = $doc])* $(#[$attr])* $name: bool, } [$($tail)*] $($rest)*
        }
    };
    (
        [$($head:tt)*] { $($done:tt)* } [$($tail:tt)*]
        $(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, opt_flag $(#[$attr:meta])*;
        $($rest:tt)*
    ) => {
        json_struct! {
            [$($head)*] { $($done)* $(#[doc = $doc])* $(#[$attr])* $name: Option<bool>, } [$($tail)*] $($rest)*
        }
    };
    (
        [$($head:tt)*] { $($done:tt)* } [$($tail:tt)*]
        $(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, hours $(#[$attr:meta])*;
        $($rest:tt)*
    ) => {
        json_struct! {
            [$($head)*] { $($done)* $(#[doc = $doc])* $(#[$attr])* $name: Option<f64>, } [$($tail)*] $($rest)*
        }
    };
    (
        [$($head:tt)*] { $($done:tt)* } [$($tail:tt)*]
        $(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, place $(#[$attr:meta])*;
        $($rest:tt)*
    ) => {
        json_struct! {
            [$($head)*] { $($done)* $(#[doc = $doc])* $(#[$attr])* $name: Option<&'a Location>, } [$($tail)*] $($rest)*
        }
    };
    (
        [$($head:tt)*] { $($done:tt)* } [$($tail:tt)*]
        $(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, conveyance $(#[$attr:meta])*;
        $($rest:tt)*
    ) => {
        json_struct! {
            [$($head)*] { $($done)* $(#[doc = $doc])* $(#[$attr])* $name: Option<&'a TransportRef>, } [$($tail)*] $($rest)*
        }
    };
    (
        [$($head:tt)*] { $($done:tt)* } [$($tail:tt)*]
        $(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, milestones $(#[$attr:meta])*;
        $($rest:tt)*
    ) => {
        json_struct! {
            [$($head)*] { $($done)* $(#[doc = $doc])* $(#[$attr])* $name: Vec<MilestoneJson<'a>>, } [$($tail)*] $($rest)*
        }
    };
}

/// A field of an owned record as its JSON form holds it.
macro_rules! json_value {
    (text, $x:expr) => {
        $x.as_str()
    };
    (opt_text, $x:expr) => {
        $x.as_deref()
    };
    (texts, $x:expr) => {
        &$x
    };
    (time, $x:expr) => {
        $x.as_ref()
    };
    (at, $x:expr) => {
        &$x
    };
    (place, $x:expr) => {
        $x.as_ref()
    };
    (conveyance, $x:expr) => {
        $x.as_ref()
    };
    (milestones, $x:expr) => {
        $x.iter().map(MilestoneJson::of).collect()
    };
    ($copied:tt, $x:expr) => {
        $x
    };
}

macro_rules! declare_status_json {
    ($($(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, $kind:tt $(#[$attr:meta])*;)*) => {
        json_struct! {
            [
                /// STATUS.md's JSON names; absent values are explicit nulls so every record has
                /// every field. Its OpenAPI schema is the status record of the HTTP API.
                #[derive(Serialize, ToSchema)]
                #[serde(rename_all = "camelCase")]
                #[schema(as = Status)]
                pub struct StatusJson<'a>
            ]
            {}
            [
                version: u64,
                #[schema(required = true)]
                updated_at: Option<&'a Timestamp>,
            ]
            $($(#[doc = $doc])* $name = $tag, $json, $kind $(#[$attr])*;)*
        }

        impl<'a> StatusJson<'a> {
            fn of(status: &'a Status, version: u64, updated_at: Option<&'a Timestamp>) -> Self {
                Self { $($name: json_value!($kind, status.$name),)* version, updated_at }
            }
        }
    };
}
crate::status_fields!(declare_status_json);

macro_rules! declare_milestone_json {
    ($($(#[doc = $doc:literal])* $name:ident = $tag:literal, $json:literal, $kind:tt $(#[$attr:meta])*;)*) => {
        json_struct! {
            [
                /// One entry of `milestones`.
                #[derive(Serialize, ToSchema)]
                #[serde(rename_all = "camelCase")]
                #[schema(as = Milestone)]
                pub struct MilestoneJson<'a>
            ]
            {}
            []
            $($(#[doc = $doc])* $name = $tag, $json, $kind $(#[$attr])*;)*
        }

        impl<'a> MilestoneJson<'a> {
            fn of(milestone: &'a Milestone) -> Self {
                Self { $($name: json_value!($kind, milestone.$name),)* }
            }
        }
    };
}
crate::milestone_fields!(declare_milestone_json);
