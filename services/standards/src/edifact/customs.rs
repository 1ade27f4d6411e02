//! CUSRES, the customs response: one declaration's status per message.

use super::codes;
use super::interchange::Message;
use super::messages::{event, event_time, find, location, scope, Header};
use crate::outcome::{Context, MessageOutcome};
use kouan_model::*;

pub fn read(message: &Message, header: &Header, context: &Context, outcome: &mut MessageOutcome) {
    let bgm = &message.segments[1];
    let all = scope(message.segments, &["UNT"]);
    let item = (|| {
        let gis = find(&[all], "GIS", |gis| gis.get(0, 0).is_some())
            .ok_or_else(|| message.reject(bgm, "the response has no status (GIS 7365)"))?;
        let code = gis.get(0, 0).unwrap_or_default();
        let status = codes::lookup(codes::CUSRES_STATUSES, code).ok_or_else(|| {
            message.reject(
                gis,
                format!(
                    "processing indicator {code:?} is not read ({})",
                    codes::codes(codes::CUSRES_STATUSES)
                ),
            )
        })?;
        let declaration = find(&[all], "RFF", |rff| {
            rff.get(0, 0) == Some(codes::DECLARATION_REFERENCE)
        })
        .and_then(|rff| rff.get(0, 1))
        .ok_or_else(|| message.reject(bgm, "the declaration's number (RFF+ABT) is required"))?;
        let shipment = find(&[all], "RFF", |rff| {
            rff.get(0, 0)
                .is_some_and(|q| codes::SHIPMENT_REFERENCES.contains(&q))
        })
        .and_then(|rff| rff.get(0, 1))
        .ok_or_else(|| {
            message.reject(
                bgm,
                "the transport document's number (RFF+BM, RFF+AWB or RFF+BN) is required",
            )
        })?;
        let when = event_time(message, &[all], context, bgm)?;
        let body = Body::Customs(CustomsBody {
            status,
            declaration_number: declaration.into(),
            shipment_id: shipment.into(),
            direction: None,
            procedure: None,
        });
        Ok(event(
            message,
            header,
            header.number.to_string(),
            when,
            location(&[all]),
            body,
        ))
    })();
    match item {
        Ok(event) => outcome.push_checked(event, &message.place(bgm)),
        Err(reject) => outcome.items.push(Err(reject)),
    }
}
