//! The processor core's hot paths, one number each (`cargo bench -p kouan-processor`): decoding
//! event records, deriving every shipment of a warm engine, and the whole core — decode, apply,
//! derive, compare, encode — over a cold stream, as `kouan bench process` measures it end to end.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kouan_model::{protobuf, Timestamp};
use kouan_processor::replay::Replay;
use kouan_processor::Engine;
use std::collections::BTreeSet;
use std::time::Duration;

fn simulated(count: usize) -> Vec<Vec<u8>> {
    kouan_emitter::simulator::sample(1, 2000.0, count)
        .iter()
        .map(protobuf::encode_event)
        .collect()
}

fn warm_engine(records: &[Vec<u8>]) -> Engine {
    let mut engine = Engine::new();
    let mut ignored = BTreeSet::new();
    for record in records {
        if let Ok(event) = protobuf::decode_event(record) {
            engine.apply(event, &mut ignored);
        }
    }
    engine
}

/// The runner's work over `records` from an empty engine, in batches of 10,000: half the
/// runner's cycle, so that a sample of 100,000 is many cycles as in a long replay.
fn core(records: &[Vec<u8>]) -> usize {
    let mut replay = Replay::new(Duration::from_secs(30 * 86_400));
    for chunk in records.chunks(10_000) {
        replay.batch(chunk);
    }
    replay.encoded_bytes
}

fn benches(c: &mut Criterion) {
    let records = simulated(100_000);
    let mut group = c.benchmark_group("core");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(1));

    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("decode", |b| {
        b.iter(|| {
            records
                .iter()
                .filter(|r| protobuf::decode_event(r).is_ok())
                .count()
        })
    });

    let engine = warm_engine(&records);
    let shipments: Vec<String> = engine.shipments().map(|id| id.to_string()).collect();
    group.throughput(Throughput::Elements(shipments.len() as u64));
    group.bench_function("derive every shipment", |b| {
        b.iter(|| shipments.iter().filter_map(|id| engine.status(id)).count())
    });

    let statuses: Vec<_> = shipments
        .iter()
        .filter_map(|id| engine.status(id))
        .collect();
    let zero = Timestamp::from_parts(0, 0, 0).expect("epoch");
    group.bench_function("record and encode every status", |b| {
        b.iter(|| {
            statuses
                .iter()
                .map(|status| status.encoded().payload(1, &zero).len())
                .sum::<usize>()
        })
    });

    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("apply (decoded)", |b| {
        b.iter_batched(
            || {
                records
                    .iter()
                    .filter_map(|r| protobuf::decode_event(r).ok())
                    .collect::<Vec<_>>()
            },
            |events| {
                let mut engine = Engine::new();
                let mut affected = BTreeSet::new();
                for (n, event) in events.into_iter().enumerate() {
                    engine.apply(event, &mut affected);
                    if n % 10_000 == 9_999 {
                        affected.clear();
                    }
                }
                engine
            },
            criterion::BatchSize::LargeInput,
        )
    });

    group.bench_function("decode, apply, derive, encode", |b| {
        b.iter(|| core(&records))
    });
    group.finish();
}

criterion_group!(core_benches, benches);
criterion_main!(core_benches);
