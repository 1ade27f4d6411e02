//! The standards' way in, on the real broker: one simulated stretch of the hub published once as
//! kouan's NDJSON and once as its sources would send it — gate moves, loading and discharge,
//! conveyance statuses and customs responses as UN/EDIFACT interchanges, air waybill statuses as
//! Cargo-IMP FSU, Cargo-XML XFSU or ONE Record LogisticsEvents (each airline in one of them), what
//! EDIFACT cannot say (plans) as DCSA Track & Trace events, the bookings as NDJSON — EDIFACT,
//! FSU and NDJSON through `kouan ingest`, XFSU, ONE Record and DCSA pushed to `kouan serve`'s
//! HTTP intake by a producer; a processor per path; every shipment's status equal on both paths,
//! field by field (a milestone's `source` and `eventId` are its message's own, so they are left
//! out).

use kouan_bus::Topics;
use kouan_e2e::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const CONVERGENCE: Duration = Duration::from_secs(240);
const SCENARIO: [&str; 8] = [
    "--rate",
    "40000",
    "--duration",
    "1s",
    "--seed",
    "21",
    "--shipments-per-day",
    "200",
];

fn simulate(namespace: &str, out: &Path, extra: &[&str]) -> String {
    let output = kouan(namespace)
        .arg("simulate")
        .args(SCENARIO)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    stderr
}

/// Runs `kouan ingest ARGS FILE`; returns its exit code, stdout and stderr.
fn ingest(namespace: &str, file: &Path, args: &[&str]) -> (i32, String, String) {
    let output = kouan(namespace)
        .args(["ingest", "--brokers", &brokers()])
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const PRODUCER: &str = "producer-token-std1";

/// Posts each body to the intake as the producer; every message must be taken. The events taken.
fn push(url: &str, format: &str, query: &str, bodies: &[String]) -> u64 {
    rustls::crypto::ring::default_provider()
        .install_default()
        .ok();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let mut taken = 0;
    for body in bodies {
        let response = client
            .post(format!("{url}/v1/intake/{format}{query}"))
            .bearer_auth(PRODUCER)
            .body(body.clone())
            .send()
            .unwrap();
        let status = response.status().as_u16();
        let answer: serde_json::Value = serde_json::from_str(&response.text().unwrap()).unwrap();
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["rejected"], 0, "{format}: {answer}");
        taken += answer["taken"].as_u64().unwrap();
    }
    taken
}

/// A JSON array file as bodies of up to 200 elements each.
fn json_chunks(file: &Path) -> Vec<String> {
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    all.chunks(200)
        .map(|chunk| serde_json::to_string(chunk).unwrap())
        .collect()
}

/// A status without what is the message's own (a milestone's source and event id, the offset a
/// time was written in: an FSU from Frankfurt says the sender's Beijing time, kouan's NDJSON
/// Frankfurt's) or the pipeline's (version, updatedAt); milestones in a fixed order.
fn comparable(mut status: kouan_model::pb::ShipmentStatus) -> String {
    status.version = 0;
    status.updated_at = None;
    let mut milestones: Vec<String> = status
        .milestones
        .drain(..)
        .map(|mut milestone| {
            milestone.source.clear();
            milestone.event_id.clear();
            format!("{milestone:?}")
        })
        .collect();
    milestones.sort();
    without_offsets(&format!("{status:?} {milestones:?}"))
}

/// The instants alone: every `offset_seconds: N` of a debug form dropped.
fn without_offsets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("offset_seconds: ") {
        out.push_str(&rest[..at]);
        rest = rest[at + "offset_seconds: ".len()..]
            .trim_start_matches(|c: char| c == '-' || c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

#[test]
fn a_simulated_stretch_through_the_standards_gives_every_shipment_the_status_ndjson_gives() {
    let plain = unique_namespace("std-ndjson");
    let standard = unique_namespace("std-formats");
    let dir = std::env::temp_dir().join(&standard);
    std::fs::create_dir_all(&dir).unwrap();

    // the NDJSON path
    let ndjson = dir.join("plain.ndjson");
    simulate(&plain, &ndjson, &[]);
    let (code, _, stderr) = ingest(&plain, &ndjson, &[]);
    assert!(code <= 1, "{stderr}");

    // the standards' path: the same run, each event in the first standard that can say it
    let prefix = dir.join("week");
    let summary = simulate(
        &standard,
        &prefix,
        &[
            "--format",
            "edifact,cargo-imp,cargo-xml,dcsa,onerecord",
            "--format-zone",
            "Asia/Shanghai",
        ],
    );
    eprintln!("{summary}");
    let zones = dir.join("zones");
    std::fs::write(
        &zones,
        "# the simulated hub's systems keep Beijing time\n\
         zz-yard Asia/Shanghai\nzz-rail Asia/Shanghai\nsingle-window Asia/Shanghai\n\
         cgo-flight-ops Asia/Shanghai\nCGOCARG Asia/Shanghai\ncgo-cargo Asia/Shanghai\n",
    )
    .unwrap();
    let zones_arg = zones.to_str().unwrap();
    let with = |extension: &str| {
        let mut name = prefix.as_os_str().to_owned();
        name.push(extension);
        std::path::PathBuf::from(name)
    };
    let edifact = ingest(
        &standard,
        &with(".edi"),
        &["--format", "edifact", "--source-zones", zones_arg],
    );
    assert_eq!(
        edifact.0,
        0,
        "{}\n{}",
        edifact.2,
        &edifact.1[..edifact.1.len().min(2000)]
    );
    assert!(
        edifact
            .1
            .contains("interchange 000000001 message 1: 1 taken"),
        "{}",
        &edifact.1[..200]
    );
    // no --format: told by content
    let cargo_imp = ingest(
        &standard,
        &with(".fsu"),
        &[
            "--source-zones",
            zones_arg,
            "--reference-time",
            "2026-11-05T00:00:00+08:00",
        ],
    );
    assert_eq!(cargo_imp.0, 0, "{}", cargo_imp.2);
    assert!(
        cargo_imp.2.contains("cargo-imp messages"),
        "{}",
        cargo_imp.2
    );
    let rest = ingest(&standard, &with(".ndjson"), &[]);
    assert!(rest.0 <= 1, "{}", rest.2);
    for (name, stderr) in [("edifact", &edifact.2), ("cargo-imp", &cargo_imp.2)] {
        let published: u64 = stderr
            .split("ingest: ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|count| count.parse().ok())
            .unwrap_or(0);
        assert!(published > 20, "{name} published {published}: {stderr}");
    }

    // the systems that push: XFSU, ONE Record and DCSA to the HTTP intake, as a producer
    let auth = dir.join("auth");
    std::fs::write(
        &auth,
        format!("operator-token-std1 operator\n{PRODUCER} producer cgo-cargo,zz-rail-dcsa\n"),
    )
    .unwrap();
    let serve = Service::start(
        &standard,
        &[
            "serve",
            "--brokers",
            &brokers(),
            "--auth-file",
            auth.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--source-zones",
            zones_arg,
        ],
    );
    serve.await_log("\"serving\"", Duration::from_secs(60));
    let line = serve.last_log_line("\"serving\"").unwrap();
    let listen: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = format!("http://{}", listen["fields"]["listen"].as_str().unwrap());
    let xfsu = std::fs::read_to_string(with(".xfsu.xml")).unwrap();
    let documents: Vec<&str> = xfsu.split_inclusive("</rsm:StatusMessage>\n").collect();
    let bodies: Vec<String> = documents.chunks(200).map(|chunk| chunk.concat()).collect();
    let pushed_xfsu = push(&url, "cargo-xml", "", &bodies);
    let pushed_1r = push(
        &url,
        "onerecord",
        "?source=cgo-cargo",
        &json_chunks(&with(".onerecord.json")),
    );
    let pushed_dcsa = push(
        &url,
        "dcsa",
        "?source=zz-rail-dcsa",
        &json_chunks(&with(".dcsa.json")),
    );
    for (name, taken) in [
        ("cargo-xml", pushed_xfsu),
        ("onerecord", pushed_1r),
        ("dcsa", pushed_dcsa),
    ] {
        assert!(taken > 20, "{name}: only {taken} taken");
    }
    drop(serve);

    // a processor per path, each equal to the reference of what reached it
    let processors: Vec<Service> = [&plain, &standard]
        .iter()
        .map(|namespace| Service::start(namespace, &["process", "--brokers", &brokers()]))
        .collect();
    let mut statuses = Vec::new();
    for namespace in [&plain, &standard] {
        let topics = Topics::new(namespace);
        let events = read_events(&brokers(), &topics);
        let expected = expected_statuses(&events);
        let published = await_statuses(&brokers(), &topics.status(), &expected, CONVERGENCE);
        let comparable: BTreeMap<String, String> = published
            .into_iter()
            .map(|(id, status)| (id, comparable(status)))
            .collect();
        statuses.push(comparable);
    }
    drop(processors);
    let (plain_statuses, standard_statuses) = (&statuses[0], &statuses[1]);
    assert!(
        plain_statuses.len() > 500,
        "{} shipments",
        plain_statuses.len()
    );
    assert_eq!(
        plain_statuses.keys().collect::<Vec<_>>(),
        standard_statuses.keys().collect::<Vec<_>>()
    );
    for (id, status) in plain_statuses {
        assert_eq!(&standard_statuses[id], status, "shipment {id}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
