//! The indexes of held events by shipment, unit and conveyance, the relations between them, and
//! which shipments an arriving event may change.

use super::*;

impl Engine {
    pub(super) fn index(&mut self, event: &Arc<Event>) {
        match &event.body {
            Body::Shipment(_) | Body::Air(_) | Body::Customs(_) => {
                push(&mut self.direct, home_of(event), event);
                self.relate_own(event);
            }
            Body::Equipment(body) => {
                let unit = &body.equipment_reference;
                if self.splits() && !self.unit_events.contains_key(unit.as_str()) {
                    self.unsettled.insert(unit.clone());
                }
                push(&mut self.unit_events, unit, event);
                self.loads_changed(event);
                if is_stuffing(body) {
                    for shipment in &body.shipment_ids {
                        relate(
                            &mut self.shipment_units,
                            &mut self.unit_shipments,
                            shipment,
                            unit,
                        );
                    }
                }
                if let Some(transport) = &body.transport {
                    relate(
                        &mut self.unit_conveyances,
                        &mut self.conveyance_units,
                        unit,
                        &transport.reference,
                    );
                }
            }
            Body::Transport(body) => push(&mut self.conveyance_events, &body.reference, event),
        }
    }

    /// Relates a shipment's own event's shipment to the units of its booking or the flight of
    /// its air event.
    pub(super) fn relate_own(&mut self, event: &Event) {
        match &event.body {
            Body::Shipment(body) => {
                for unit in &body.units {
                    relate(
                        &mut self.shipment_units,
                        &mut self.unit_shipments,
                        &body.shipment_id,
                        unit,
                    );
                }
            }
            Body::Air(body) => {
                if let Some(flight) = &body.flight {
                    relate(
                        &mut self.shipment_flights,
                        &mut self.flight_shipments,
                        &body.awb,
                        flight,
                    );
                }
            }
            _ => {}
        }
    }

    pub(super) fn unindex(&mut self, event: &Arc<Event>) {
        let index = match &event.body {
            Body::Shipment(_) | Body::Air(_) | Body::Customs(_) => &mut self.direct,
            Body::Equipment(_) => &mut self.unit_events,
            Body::Transport(_) => &mut self.conveyance_events,
        };
        if let Some(events) = index.get_mut(home_of(event)) {
            events.retain(|held| !Arc::ptr_eq(held, event));
        }
        self.loads_changed(event);
    }

    pub(super) fn affected_by<A: Affected>(&self, event: &Event, affected: &mut A) {
        let at = event.event_time.unix_millis();
        let add_unit = |unit: &str, affected: &mut A| {
            let reached = self
                .unit_shipments
                .get(unit)
                .into_iter()
                .flatten()
                .filter(|id| self.reach.get(*id).is_none_or(|reach| at <= *reach));
            for id in reached {
                affected.mark(id);
            }
        };
        match &event.body {
            Body::Shipment(_) | Body::Air(_) | Body::Customs(_) => {
                affected.mark(direct_subject(event).expect("direct"));
            }
            Body::Equipment(body) => {
                add_unit(&body.equipment_reference, affected);
                if is_stuffing(body) {
                    // forgotten shipments were removed from the relations; only a STUF/STRP
                    // can still name one
                    let remembered = body
                        .shipment_ids
                        .iter()
                        .filter(|id| !self.forgotten.contains_key(id.as_str()));
                    for id in remembered {
                        affected.mark(id);
                    }
                }
            }
            Body::Transport(body) => {
                for unit in self
                    .conveyance_units
                    .get(body.reference.as_str())
                    .into_iter()
                    .flatten()
                {
                    add_unit(unit, affected);
                }
                for id in self
                    .flight_shipments
                    .get(body.reference.as_str())
                    .into_iter()
                    .flatten()
                {
                    affected.mark(id);
                }
            }
        }
    }
}
