//! Applying records to the engine and writing the changelog that mirrors it: an owned
//! by-shipment record, a shared record, the tombstones of what became unreachable, and the
//! status and links records of the shipments a cycle changed.

use super::*;

impl Tenure<'_> {
    /// A by-shipment record of an owned partition.
    /// `event`: the record's payload, decoded (`None` for a tombstone).
    pub(super) fn apply_owned(
        &mut self,
        message: &OwnedMessage,
        event: Option<Result<Event, kouan_model::Reject>>,
    ) -> Result<(), ProcessError> {
        let partition = message.partition();
        let Some(event) = event else {
            self.progress.read(Input::ByShipment, partition, None);
            return Ok(());
        };
        self.stats.applied.fetch_add(1, Ordering::Relaxed);
        let Ok(event) = event else {
            self.progress.read(Input::ByShipment, partition, None);
            tracing::warn!(
                partition = message.partition(),
                offset = message.offset(),
                "undecodable record on the by-shipment topic"
            );
            return Ok(());
        };
        let recorded = message
            .timestamp()
            .to_millis()
            .unwrap_or(event.recorded_time().unix_millis());
        self.progress.read(
            Input::ByShipment,
            partition,
            reported_millis(&event, recorded),
        );
        // the key is only needed off the hot path: a forgotten shipment or an older version
        if let Some((subject, finish)) = direct_subject(&event)
            .and_then(|subject| Some((subject, self.engine.forgotten_finish(subject)?)))
        {
            // a late event of a forgotten shipment: not applied, not kept, dead-lettered —
            // unless the restore read it already (applied then, forgotten since: a redelivery)
            let restored =
                (self.restored_to.get(&partition)).is_some_and(|to| message.offset() < *to);
            if !restored {
                self.dead_letter_forgotten(message, subject, finish)?;
            }
            return self.write_by_shipment(message.partition(), &event_key(&event), None, None);
        }
        if !self.engine.is_news(&event) {
            // an older version arrived after the counted one: write the counted one again, so
            // that compaction keeps it
            if let Some(winner) = self.engine.winner_of(&event) {
                if *winner != event {
                    let bytes = protobuf::encode_event(&winner);
                    self.write_by_shipment(
                        message.partition(),
                        &event_key(&event),
                        Some(&bytes),
                        None,
                    )?;
                }
            }
            return Ok(());
        }
        if let Some(timestamp) = message.timestamp().to_millis() {
            self.cycle_timestamps.push(timestamp);
        }
        self.engine
            .apply_recorded(event, recorded, &mut self.affected);
        Ok(())
    }

    /// `event`: the record's event, decoded ([`restore::decode_shared_event`]).
    pub(super) fn apply_shared(
        &mut self,
        message: &OwnedMessage,
        event: Option<Result<Event, kouan_model::Reject>>,
    ) -> Result<(), ProcessError> {
        let change =
            restore::apply_shared_decoded(&mut self.engine, message, event, &mut self.affected);
        let reported = match &change {
            SharedChange::Event { reported } | SharedChange::Stale { reported, .. } => {
                // an event the router put here (links and tombstones are the stage's own)
                self.stats.applied.fetch_add(1, Ordering::Relaxed);
                *reported
            }
            SharedChange::Forgotten(_) | SharedChange::Other => None,
        };
        self.progress
            .read(Input::Shared, message.partition(), reported);
        match change {
            SharedChange::Forgotten(dropped) => {
                self.tombstone_unreachable(dropped.shared_events())?
            }
            // an older version written after the counted one: its home owner writes the counted
            // one again, so that compaction keeps it
            SharedChange::Stale { winner, .. } => {
                let key = event_key(&winner);
                if self
                    .owned
                    .contains(&partition_of(&key, self.layout.shipments))
                {
                    let bytes = protobuf::encode_event(&winner);
                    self.producer.send_placed(Placed {
                        topic: &self.config.topics.shared(),
                        partition: partition_of(&key, self.layout.shared),
                        key: &key,
                        payload: Some(&bytes),
                        timestamp: None,
                        headers: None,
                    })?;
                }
            }
            SharedChange::Event { .. } | SharedChange::Other => {}
        }
        Ok(())
    }

    /// Tombstones the shared events of containers and conveyances that became unreachable, for
    /// those whose home partition (by identity) this instance owns — one writer each.
    pub(super) fn tombstone_unreachable<'e>(
        &mut self,
        dropped: impl IntoIterator<Item = &'e Arc<Event>>,
    ) -> Result<(), ProcessError> {
        for event in dropped.into_iter().filter(|e| direct_subject(e).is_none()) {
            let key = event_key(event);
            let home = partition_of(&key, self.layout.shipments);
            if self.owned.contains(&home) {
                self.producer.send_placed(Placed {
                    topic: &self.config.topics.shared(),
                    partition: partition_of(&key, self.layout.shared),
                    key: &key,
                    payload: None,
                    timestamp: None,
                    headers: None,
                })?;
            }
        }
        Ok(())
    }

    pub(super) fn write_by_shipment(
        &self,
        partition: i32,
        key: &[u8],
        payload: Option<&[u8]>,
        timestamp: Option<i64>,
    ) -> Result<(), ProcessError> {
        self.producer.send_placed(Placed {
            topic: &self.config.topics.by_shipment(),
            partition,
            key,
            payload,
            timestamp,
            headers: None,
        })?;
        Ok(())
    }

    /// Derives every affected owned shipment and publishes the records that changed, with the
    /// links other instances need.
    pub(super) fn publish_affected(&mut self) -> Result<(), ProcessError> {
        let now = now();
        for shipment_id in self.affected.take_sorted() {
            let partition = partition_of(shipment_id.as_bytes(), self.layout.shipments);
            if !self.owned.contains(&partition) || self.engine.is_forgotten(&shipment_id) {
                continue;
            }
            let previous = self.published.get(shipment_id.as_str()).copied();
            // its links before the refresh, which parks a finished shipment's events; a parked
            // shipment's are those written when it was parked (an event of its own since would
            // have brought its events back into memory)
            let links = (!self.engine.is_parked(&shipment_id)).then(|| self.links(&shipment_id));
            match self.engine.refresh_encoded(&shipment_id) {
                Some(Refreshed {
                    encoded,
                    finish_millis,
                }) => {
                    let version = previous.map_or(1, |p| p.version + 1);
                    let digest = encoded.digest;
                    self.retention.note_finish(&shipment_id, finish_millis);
                    if let Some(links) = links {
                        self.write_links(&shipment_id, links)?;
                    }
                    if previous.and_then(|p| p.digest) == Some(digest) {
                        continue;
                    }
                    let payload = encoded.payload(version, &now);
                    let published = Published {
                        version,
                        digest: Some(digest),
                    };
                    self.publish_status(partition, shipment_id.into(), Some(&payload), published)?;
                }
                None => {
                    if let Some(p) = previous.filter(|p| p.digest.is_some()) {
                        let published = Published {
                            version: p.version + 1,
                            digest: None,
                        };
                        self.publish_status(partition, shipment_id.into(), None, published)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes one record (or tombstone) of `kouan.status` and remembers what it published.
    fn publish_status(
        &mut self,
        partition: i32,
        shipment_id: String,
        payload: Option<&[u8]>,
        published: Published,
    ) -> Result<(), ProcessError> {
        self.producer.send_placed(Placed {
            topic: &self.config.topics.status(),
            partition,
            key: shipment_id.as_bytes(),
            payload,
            timestamp: None,
            // how far every input of this instance has got in event time (crate::progress): the
            // readers' clock (see kouan_bus::event_clock; none before any actual event was seen)
            headers: Some(self.progress.stamp(self.engine.watermark_millis()))
                .filter(|&watermark| watermark > 0)
                .map(kouan_bus::headers::watermark_headers),
        })?;
        // counted once its transaction commits (what readers of the topic will see)
        self.uncommitted_published += 1;
        self.published.insert(shipment_id, published);
        Ok(())
    }

    /// A shipment's links as its own events tell them.
    fn links(&self, shipment_id: &str) -> Links {
        let (units, flights) = self.engine.links_of(shipment_id);
        Links {
            units,
            flights,
            forgotten: false,
            since_millis: self.engine.since_of(shipment_id),
            finished_millis: None,
        }
    }

    /// Writes a shipment's links to the shared table when they changed.
    pub(super) fn write_links(
        &mut self,
        shipment_id: &str,
        links: Links,
    ) -> Result<(), ProcessError> {
        let bytes = links.encode_to_vec();
        let digest = kouan_model::fnv1a(&bytes);
        let unchanged = match self.links_written.get(shipment_id) {
            Some(written) => *written == digest,
            // nothing to tell about a shipment without units or flights
            None => links.units.is_empty() && links.flights.is_empty(),
        };
        if unchanged {
            return Ok(());
        }
        self.send_links(shipment_id, &bytes)?;
        self.links_written.insert(shipment_id.to_string(), digest);
        Ok(())
    }

    pub(super) fn send_links(&self, shipment_id: &str, bytes: &[u8]) -> Result<(), ProcessError> {
        let key = links_key(shipment_id);
        self.producer.send_placed(Placed {
            topic: &self.config.topics.shared(),
            partition: partition_of(&key, self.layout.shared),
            key: &key,
            payload: Some(bytes),
            timestamp: None,
            headers: None,
        })?;
        Ok(())
    }
}
