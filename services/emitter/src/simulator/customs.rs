//! Customs declarations through the China single window: standard, advance (提前申报) and
//! two-step (两步申报) procedures, with review, duty, inspection, suspension, rejection, release
//! and closure.
//!
//! Clearance times (STATUS.md's `clearanceHours`) drawn here, from NETWORK.md's national figures
//! (imports ~32 h, exports ~1 h overall in 2022), are documented in the README:
//! imports are released a log-normal time after arrival (air median 4 h, p90 14 h; rail median
//! 16 h, p90 36 h);
//! exports a log-normal time after declaration (median 1 h).

use super::network::Node;
use super::wave::{Wave, DAY, HOUR, MINUTE, SOURCE_CUSTOMS};
use kouan_model::*;

/// What customs needs to know about one shipment.
pub struct Declaration<'a> {
    pub shipment_id: &'a str,
    pub direction: Direction,
    pub mode: ShipmentMode,
    pub port: &'a Node,
    /// Export: when the cargo is received for departure; import: when it arrives.
    pub anchor: i64,
    /// Injected anomaly: the declaration is suspended (HELD) for days, or rejected.
    pub trouble: Option<AlertKind>,
}

/// Emits the declaration's events; returns when the cargo is released (the earliest it may leave
/// the port).
pub fn declare(wave: &mut Wave<'_>, declaration: &Declaration<'_>) -> i64 {
    match declaration.direction {
        Direction::Export => export(wave, declaration),
        _ => import(wave, declaration),
    }
}

fn export(wave: &mut Wave<'_>, d: &Declaration<'_>) -> i64 {
    let number = wave.registry.declaration_number(d.port);
    let declared = d.anchor - wave.uniform_ms(2 * HOUR, 12 * HOUR);
    let clearance = wave.skewed_hours(1.0, 3.0);
    steps(
        wave,
        d,
        &number,
        CustomsProcedure::Standard,
        declared,
        declared + clearance,
    )
}

fn import(wave: &mut Wave<'_>, d: &Declaration<'_>) -> i64 {
    let number = wave.registry.declaration_number(d.port);
    let (median, p90) = match d.mode {
        ShipmentMode::Air => (4.0, 14.0),
        _ => (16.0, 36.0),
    };
    let procedure = *wave.pick_weighted(&[
        (CustomsProcedure::Advance, 0.55),
        (CustomsProcedure::TwoStep, 0.15),
        (CustomsProcedure::Standard, 0.30),
    ]);
    let released_after_arrival = wave.skewed_hours(median, p90);
    let released = d.anchor + released_after_arrival;
    let declared = match procedure {
        // declared up to two days before arrival
        CustomsProcedure::Advance | CustomsProcedure::TwoStep => {
            d.anchor - wave.uniform_ms(4 * HOUR, 48 * HOUR)
        }
        // declared after arrival, some time before the release
        CustomsProcedure::Standard => {
            d.anchor + (released_after_arrival as f64 * wave.uniform(0.1, 0.5)) as i64
        }
    };
    steps(wave, d, &number, procedure, declared, released)
}

/// The status sequence of one declaration from `declared` to `released`.
fn steps(
    wave: &mut Wave<'_>,
    d: &Declaration<'_>,
    number: &str,
    procedure: CustomsProcedure,
    declared: i64,
    mut released: i64,
) -> i64 {
    let emit = |wave: &mut Wave<'_>, status: CustomsStatus, at: i64| {
        let body = Body::Customs(CustomsBody {
            status,
            declaration_number: number.to_string().into(),
            shipment_id: d.shipment_id.to_string().into(),
            direction: Some(d.direction),
            procedure: Some(procedure),
        });
        wave.actual(SOURCE_CUSTOMS, at, Some(d.port), body);
    };
    let first = if procedure == CustomsProcedure::TwoStep {
        CustomsStatus::SummaryDeclared
    } else {
        CustomsStatus::Declared
    };
    emit(wave, first, declared);
    let accepted = declared + wave.uniform_ms(2 * MINUTE, 40 * MINUTE);
    emit(wave, CustomsStatus::Accepted, accepted);
    released = released.max(accepted + 10 * MINUTE);
    let mid = accepted + (released - accepted) / 2;

    match d.trouble {
        Some(AlertKind::CustomsHold) => {
            emit(wave, CustomsStatus::Suspended, mid);
            wave.anomaly(d.shipment_id, d.port, AlertKind::CustomsHold, mid);
            released = mid + wave.uniform_ms(3 * DAY, 8 * DAY);
        }
        Some(AlertKind::CustomsRejected) => {
            emit(wave, CustomsStatus::Rejected, mid);
            wave.anomaly(d.shipment_id, d.port, AlertKind::CustomsRejected, mid);
            // a rejected declaration is dead: the declarant files a new one days later
            let number = wave.registry.declaration_number(d.port);
            let again = mid + wave.uniform_ms(DAY, 3 * DAY);
            let clearance = wave.skewed_hours(2.0, 8.0);
            let retry = Declaration {
                trouble: None,
                ..*d
            };
            return steps(
                wave,
                &retry,
                &number,
                CustomsProcedure::Standard,
                again,
                again + clearance,
            );
        }
        _ => {}
    }
    if wave.chance(0.4) {
        emit(
            wave,
            CustomsStatus::Reviewed,
            accepted + (mid - accepted) / 2,
        );
    }
    if d.direction == Direction::Import && wave.chance(0.3) {
        emit(wave, CustomsStatus::DutyDue, mid);
    }
    if wave.chance(0.03) {
        emit(wave, CustomsStatus::SupplementRequired, mid + MINUTE);
        released += wave.skewed_hours(4.0, 12.0);
    }
    if wave.chance(0.07) {
        let notice = mid + 2 * MINUTE;
        emit(wave, CustomsStatus::InspectionNotice, notice);
        let inspected = notice + wave.skewed_hours(3.0, 10.0);
        emit(wave, CustomsStatus::Inspected, inspected);
        released = released.max(inspected + wave.uniform_ms(10 * MINUTE, 2 * HOUR));
    }
    emit(wave, CustomsStatus::Released, released);
    if procedure == CustomsProcedure::TwoStep {
        // the complete declaration is due within 14 days of entry, then the file is closed
        let complete = released + wave.uniform_ms(2 * DAY, 12 * DAY);
        emit(wave, CustomsStatus::Declared, complete);
        let closed = complete + wave.uniform_ms(DAY, 3 * DAY);
        emit(wave, CustomsStatus::Closed, closed);
    } else if wave.chance(0.5) {
        let closed = released + wave.uniform_ms(DAY, 5 * DAY);
        emit(wave, CustomsStatus::Closed, closed);
    }
    released
}
