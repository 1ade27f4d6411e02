//! The group's assignments followed: restoring each partition assigned (from the checkpoint
//! or from the topics), and letting go of each one revoked.

use super::*;

/// How often a restore logs how far it got.
const RESTORE_PROGRESS: Duration = Duration::from_secs(5);

impl Tenure<'_> {
    /// Acts on what the group decided: restores gained by-shipment partitions, releases lost ones.
    pub(super) fn follow_rebalances(&mut self) -> Result<(), ProcessError> {
        let before = self.owned.clone();
        let mut heard = false;
        for change in self.group.context().take() {
            heard = true;
            match change {
                Change::Assigned(partitions) => {
                    let partitions: Vec<i32> = partitions.iter().map(|(_, p)| *p).collect();
                    self.restore_partitions(&partitions)?;
                }
                Change::Revoked(partitions) => {
                    for (_, partition) in partitions {
                        self.release_partition(partition);
                    }
                }
            }
        }
        if heard {
            self.links_read = HashMap::new();
        }
        if heard && !self.resumable.is_empty() {
            // the group gave these to another member: restored whole if they come back
            let dropped: Vec<i32> = self.resumable.keys().copied().collect();
            self.resumable.clear();
            for partition in dropped {
                self.release_partition(partition);
            }
        }
        self.stats
            .owned
            .store(self.owned.len() as u64, Ordering::Relaxed);
        if self.owned != before {
            tracing::info!(owned = ?self.owned, "ownership changed");
        }
        if heard {
            self.engine.set_owner(Some(Owner {
                partitions: self.layout.shipments,
                owned: self.owned.clone(),
            }));
        }
        // live once the group has spoken (an instance may be given nothing)
        if heard && !self.stats.live.swap(true, Ordering::Relaxed) {
            tracing::info!(owned = ?self.owned, "restored, processing");
        }
        Ok(())
    }

    /// Restores gained partitions together: their by-shipment records and what `kouan.status`
    /// holds for them, one reader per topic — whole, or from a loaded checkpoint's offsets for
    /// the partitions it knew.
    pub(super) fn restore_partitions(&mut self, partitions: &[i32]) -> Result<(), ProcessError> {
        if partitions.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        // shipments change owner: each due one is derived again before it is forgotten
        self.retention.doubt_noted();
        // where the previous owner left off first: the group coordinator answers only once the
        // offsets of its last transaction are stable (committed or aborted)
        self.start.extend(kouan_bus::batch::committed(
            &self.group,
            &self.config.topics.by_shipment(),
            partitions,
        )?);
        let resumed: HashMap<i32, Resumable> = partitions
            .iter()
            .filter_map(|p| self.resumable.remove(p).map(|r| (*p, r)))
            .collect();
        let whole: Vec<i32> = partitions
            .iter()
            .copied()
            .filter(|p| !resumed.contains_key(p))
            .collect();
        // where to read each from: a whole partition from its beginning, a resumed one from its
        // checkpoint's offset unless nothing (committed) came after it
        let group = &self.group;
        let at = |topic: &str, offset: fn(&Resumable) -> i64| -> Vec<(i32, rdkafka::Offset)> {
            let resumed: Vec<(i32, i64)> = resumed.iter().map(|(p, r)| (*p, offset(r))).collect();
            let asked: Vec<(String, i32)> = resumed
                .iter()
                .map(|(p, _)| (topic.to_string(), *p))
                .collect();
            let ends =
                kouan_bus::watermarks::fetch_all(group, &asked, kouan_bus::timing::WATERMARKS);
            resumed
                .into_iter()
                .zip(ends)
                // unanswered: read from there, whatever comes
                .filter(|((_, from), end)| end.as_ref().map_or(true, |(_, end)| end > from))
                .map(|((p, from), _)| (p, rdkafka::Offset::Offset(from)))
                .chain(whole.iter().map(|p| (*p, rdkafka::Offset::Beginning)))
                .collect()
        };
        let mut touched = BTreeSet::new();
        let records = std::cell::Cell::new(0u64);
        let by_shipment = self.config.topics.by_shipment();
        let status = self.config.topics.status();
        let reads = at(&by_shipment, |r| r.by_shipment_offset);
        let (brokers, cancel) = (&self.config.brokers, self.cancel);
        let name = format!("{}-restore", self.name);
        // the group is polled while the restore reads, so that a restore longer than
        // `max.poll.interval.ms` does not get the member evicted (and restored again); the
        // partitions restored are paused meanwhile (what they hold past the restore's end is
        // read once they are owned), the owned ones flow on into `polled` and are held, and
        // the pacing's own pauses of those are left as they are
        let mut restoring = TopicPartitionList::new();
        for partition in partitions {
            restoring.add_partition(&by_shipment, *partition);
        }
        if let Err(error) = self.group.pause(&restoring) {
            tracing::warn!(%error, "pausing the partitions restored");
        }
        let mut polled: Vec<OwnedMessage> = Vec::new();
        let (group, stats) = (&self.group, self.stats);
        let mut reported = Instant::now();
        let mut keep_alive = || {
            while let Some(result) = group.poll(Duration::ZERO) {
                match result {
                    Ok(message) => polled.push(message.detach()),
                    Err(error) => tracing::warn!(%error, "polling the group during a restore"),
                }
            }
            if reported.elapsed() >= RESTORE_PROGRESS {
                reported = Instant::now();
                tracing::info!(
                    ?partitions,
                    records = records.get(),
                    seconds = started.elapsed().as_secs_f64(),
                    "restoring"
                );
            }
        };
        let restored_to = &mut self.restored_to;
        read_from(
            brokers,
            &name,
            &by_shipment,
            &reads,
            cancel,
            |message| {
                records.set(records.get() + 1);
                stats.restored.fetch_add(1, Ordering::Relaxed);
                restored_to.insert(message.partition(), message.offset() + 1);
                restore::apply_by_shipment(&mut self.engine, message, &mut touched);
            },
            &mut keep_alive,
        )?;
        // every status its transactions published, not only those whose commit markers were
        // written by now: a version learned short would be published a second time
        self.probes.await_settled_polling(
            &self.config.topics.status(),
            partitions,
            self.cancel,
            &mut keep_alive,
        )?;
        for resumable in resumed.values() {
            self.published.extend(resumable.published.iter().cloned());
            self.links_written
                .extend(resumable.links_written.iter().cloned());
            self.retention.restore(resumable.finished.iter().cloned());
        }
        // the links the shared table holds (since the checkpoint, for a resumed partition)
        let shipments = self.layout.shipments;
        self.links_written.extend(
            self.links_read
                .iter()
                .filter(|(id, _)| partitions.contains(&partition_of(id.as_bytes(), shipments)))
                .map(|(id, digest)| (id.clone(), *digest)),
        );
        let reads = at(&status, |r| r.status_offset);
        let published = &mut self.published;
        let name = format!("{}-restore-status", self.name);
        read_from(
            brokers,
            &name,
            &status,
            &reads,
            cancel,
            |message| {
                restore::learn_published(published, message);
                // another owner published it since the checkpoint: derived again
                if let Some(key) = message.key().and_then(|k| std::str::from_utf8(k).ok()) {
                    touched.insert(key.to_string());
                }
            },
            &mut keep_alive,
        )?;
        if let Err(error) = self.group.resume(&restoring) {
            tracing::warn!(%error, "resuming the partitions restored");
        }
        if self.cancel.is_cancelled() {
            self.cut_short = true;
        }
        self.owned.extend(partitions);
        let wall = kouan_model::wall_millis();
        for partition in partitions {
            self.in_step.assigned((Input::ByShipment, *partition), wall);
        }
        // every shipment of a partition restored whole is recomputed once and compared with
        // what is published; of a resumed one, those the records since the checkpoint touched
        let in_whole = |id: &str| whole.contains(&partition_of(id.as_bytes(), shipments));
        let in_resumed = |id: &str| resumed.contains_key(&partition_of(id.as_bytes(), shipments));
        self.affected
            .extend((self.engine.shipments()).filter(|id| in_whole(id)));
        self.affected.extend(
            touched
                .iter()
                .chain(self.pending_affected.iter())
                .filter(|id| in_resumed(id))
                .cloned(),
        );
        self.pending_affected.retain(|id| !in_resumed(id));
        tracing::info!(
            ?partitions,
            from_checkpoint = ?resumed.keys().collect::<BTreeSet<_>>(),
            records = records.get(),
            affected = self.affected.len(),
            seconds = started.elapsed().as_secs_f64(),
            "partitions restored"
        );
        // what the group handed out meanwhile: the owned partitions' records, held as any batch
        // (one of a partition assigned during the restore is dropped: its restore reads it)
        self.hold(polled, Vec::new(), wall);
        Ok(())
    }

    pub(super) fn release_partition(&mut self, partition: i32) {
        self.owned.remove(&partition);
        self.restored_to.remove(&partition);
        self.retention.doubt_noted();
        self.progress.release(Input::ByShipment, partition);
        self.in_step.revoked(&(Input::ByShipment, partition));
        self.start
            .remove(&(self.config.topics.by_shipment(), partition));
        let shipments = self.layout.shipments;
        let released: Vec<String> = self
            .published
            .keys()
            .map(String::as_str)
            .chain(self.engine.shipments().map(|id| id.as_str()))
            .filter(|id| partition_of(id.as_bytes(), shipments) == partition)
            .map(str::to_string)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for id in &released {
            self.engine.release(id);
            self.published.remove(id);
            self.links_written.remove(id);
        }
        self.pending_affected
            .retain(|id| partition_of(id.as_bytes(), shipments) != partition);
        tracing::info!(partition, shipments = released.len(), "partition released");
    }
}
