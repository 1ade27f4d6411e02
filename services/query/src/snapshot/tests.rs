use super::*;
use crate::record::{Origin, TopicId};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{DataType, Float64Type, TimestampMillisecondType, UInt64Type};
use kouan_model::*;

#[derive(Debug, PartialEq)]
enum Cell {
    Null,
    Text(String),
    Millis(i64),
    Bool(bool),
    Float(f64),
    Unsigned(u64),
}

fn cell(array: &ArrayRef, row: usize) -> Cell {
    if array.is_null(row) {
        return Cell::Null;
    }
    match array.data_type() {
        DataType::Utf8 => Cell::Text(array.as_string::<i32>().value(row).to_string()),
        DataType::Timestamp(..) => {
            Cell::Millis(array.as_primitive::<TimestampMillisecondType>().value(row))
        }
        DataType::Boolean => Cell::Bool(array.as_boolean().value(row)),
        DataType::Float64 => Cell::Float(array.as_primitive::<Float64Type>().value(row)),
        DataType::UInt64 => Cell::Unsigned(array.as_primitive::<UInt64Type>().value(row)),
        other => panic!("no column is {other}"),
    }
}

fn text(value: Option<&str>) -> Cell {
    value.map_or(Cell::Null, |v| Cell::Text(v.to_string()))
}

fn time(value: &Option<Timestamp>) -> Cell {
    value
        .as_ref()
        .map_or(Cell::Null, |t| Cell::Millis(t.unix_millis()))
}

fn at(hours: i64) -> Timestamp {
    Timestamp::from_parts(1_790_000_000 + hours * 3600, 250_000_000, 8 * 3600).unwrap()
}

/// A record with every field set (or, for odd `i`, most of them left out).
fn status(i: usize) -> Status {
    let full = i.is_multiple_of(2);
    let place = |code: &str| Location {
        unlocode: code.to_string(),
        facility: Some("yard".into()),
        name: None,
    };
    let some = |t: Timestamp| full.then_some(t);
    Status {
        document_type: full.then_some(DocumentType::RailWaybill),
        shipper: full.then(|| "henan-elec".to_string()),
        mode: Some(ShipmentMode::Rail),
        direction: full.then_some(Direction::Import),
        origin: Some("DEHAM".into()),
        destination: full.then(|| "CNZZP".into()),
        port_of_entry: full.then(|| "CNZZP".into()),
        units: (0..i % 3).map(|u| format!("CSQU305438{u}")).collect(),
        booked_at: Some(at(0)),
        received_at: some(at(1)),
        departed_at: some(at(2)),
        arrived_at: some(at(3)),
        delivered_at: some(at(4)),
        declared_at: some(at(5)),
        customs_status: CustomsState::Released,
        released_at: some(at(6)),
        inspected: full,
        transport_stage: TransportStage::Delivered,
        advance_declared: full.then_some(false),
        clearance_hours: full.then_some(12.25),
        eta: some(at(7)),
        last_location: full.then(|| place("PLMAW")),
        dwell_since: some(at(8)),
        milestones: (0..i % 4)
            .map(|m| Milestone {
                code: ["LOAD", "DEP", "RELEASED"][m % 3],
                event_time: at(m as i64),
                classifier: [Classifier::Act, Classifier::Est][m % 2],
                location: (m % 2 == 0).then(|| place("KZDOS")),
                source: "rail-tms".into(),
                event_id: format!("e-{i}-{m}"),
                recorded_time: (m % 2 == 1).then(|| at(m as i64 + 1)),
                unit: (m == 0).then(|| "MSCU1234565".into()),
                empty_indicator: (m == 0).then_some(EmptyIndicator::Laden),
                conveyance: (m < 2).then(|| TransportRef {
                    mode: TransportMode::Rail,
                    reference: "X8001".into(),
                }),
                declaration: (m == 2).then(|| "4601202600012345".into()),
            })
            .collect(),
        ..Status::empty(format!("ZZH-{i:09}"))
    }
}

#[test]
fn a_chunk_holds_every_field_of_every_record() {
    let records: Vec<Arc<StatusRecord>> = (0..6)
        .map(|i| {
            let origin = Origin {
                topic: TopicId::Status,
                partition: 0,
                offset: i as i64,
            };
            Arc::new(StatusRecord::new(status(i), 3 + i as u64, at(9), origin))
        })
        .collect();
    let (shipments, milestones) = chunk_batches(&records);
    assert_eq!(shipments.num_rows(), 6);
    let mut milestone_row = 0;
    for (row, record) in records.iter().enumerate() {
        let st = status(row);
        let expected = [
            text(Some(&st.shipment_id)),
            text(st.document_type.map(|d| d.code())),
            text(st.shipper.as_deref()),
            text(st.mode.map(|m| m.code())),
            text(st.direction.map(|d| d.code())),
            text(st.origin.as_deref()),
            text(st.destination.as_deref()),
            text(st.port_of_entry.as_deref()),
            text(Some(&st.units.join(","))),
            time(&st.booked_at),
            time(&st.received_at),
            time(&st.departed_at),
            time(&st.arrived_at),
            time(&st.delivered_at),
            time(&st.declared_at),
            text(Some(st.customs_status.code())),
            time(&st.released_at),
            Cell::Bool(st.inspected),
            text(Some(st.transport_stage.code())),
            st.advance_declared.map_or(Cell::Null, Cell::Bool),
            st.clearance_hours.map_or(Cell::Null, Cell::Float),
            time(&st.eta),
            text(st.last_location.as_ref().map(|l| l.unlocode.as_str())),
            time(&st.dwell_since),
            Cell::Unsigned(record.version),
            time(&Some(at(9))),
        ];
        for (column, want) in expected.into_iter().enumerate() {
            assert_eq!(
                cell(shipments.column(column), row),
                want,
                "row {row}, {}",
                SHIPMENTS.field(column).name()
            );
        }
        for milestone in &st.milestones {
            let want = [
                text(Some(&st.shipment_id)),
                text(Some(milestone.code)),
                time(&Some(milestone.event_time)),
                text(Some(milestone.classifier.code())),
                text(milestone.location.as_ref().map(|l| l.unlocode.as_str())),
                text(Some(&milestone.source)),
                text(Some(&milestone.event_id)),
            ];
            for (column, want) in want.into_iter().enumerate() {
                assert_eq!(cell(milestones.column(column), milestone_row), want);
            }
            milestone_row += 1;
        }
    }
    assert_eq!(milestones.num_rows(), milestone_row);
    assert!(milestone_row > 0);
}
