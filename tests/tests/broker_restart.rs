//! The broker goes away under a running pipeline: while the simulator publishes and `process`
//! and `serve` run, the broker is stopped with SIGTERM and started again on the same data. Every
//! service reconnects by itself, none exits, and the statuses end up equal to the reference over
//! every event published — nothing lost.

use kouan_bus::Topics;
use kouan_e2e::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn services_ride_out_a_broker_restart() {
    let workdir = std::env::temp_dir().join(unique_namespace("broker-restart"));
    std::fs::create_dir_all(&workdir).unwrap();
    let mut broker = KafkaBroker::start(&workdir.join("kafka"));
    let brokers = broker.brokers();
    let namespace = unique_namespace("restart");
    let topics = Topics::new(&namespace);
    let created = kouan(&namespace)
        .args(["topics", "create", "--brokers", &brokers])
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");

    let auth = write_auth_file(&workdir);
    let mut processor = Service::start(
        &namespace,
        &["process", "--brokers", &brokers, "--group", "restart"],
    );
    let mut serve = Service::start(
        &namespace,
        &[
            "serve",
            "--brokers",
            &brokers,
            "--auth-file",
            auth.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
    );
    serve.await_log("store loaded", Duration::from_secs(60));
    let mut simulator = kouan(&namespace)
        .args(["simulate", "--brokers", &brokers, "--rate", "1500"])
        .args([
            "--duration",
            "20s",
            "--seed",
            "31",
            "--shipments-per-day",
            "300",
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    std::thread::sleep(Duration::from_secs(5));
    broker.stop();
    eprintln!("broker stopped");
    std::thread::sleep(Duration::from_secs(4));
    broker.restart();
    eprintln!("broker restarted");

    let exit = simulator.wait().unwrap();
    assert!(
        exit.success(),
        "the simulator failed across the restart: {exit:?}"
    );
    let events = read_events(&brokers, &topics);
    assert!(events.len() > 15_000, "{} events flowed", events.len());
    let expected = expected_statuses(&events);
    await_statuses(
        &brokers,
        &topics.status(),
        &expected,
        Duration::from_secs(180),
    );

    // the query service followed too: it answers with the final count of shipments
    let listen_line = serve.last_log_line("\"serving\"").unwrap();
    let value: serde_json::Value = serde_json::from_str(&listen_line).unwrap();
    let url = format!("http://{}", value["fields"]["listen"].as_str().unwrap());
    rustls::crypto::ring::default_provider()
        .install_default()
        .ok();
    let client = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = client
            .post(format!("{url}/v1/sql"))
            .bearer_auth(OPERATOR_TOKEN)
            .header("content-type", "application/json")
            .body(r#"{"sql": "SELECT count(*) AS n FROM shipments"}"#)
            .send()
            .unwrap()
            .text()
            .unwrap();
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        if answer["rows"][0][0].as_u64() == Some(expected.len() as u64) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "serve holds {answer}, expected {}",
            expected.len()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        processor.is_running(),
        "process exited across the broker restart"
    );
    assert!(serve.is_running(), "serve exited across the broker restart");
    drop(processor);
    drop(serve);
    drop(broker);
    let _ = std::fs::remove_dir_all(&workdir);
}
