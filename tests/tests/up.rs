//! `kouan up --brokers B`: simulator, processor, alerter and API in one process put status records on
//! the topic within seconds, Ctrl-C (SIGINT) stops everything cleanly with exit code 0, and the log
//! written to a file is plain text.

use kouan_bus::Topics;
use kouan_e2e::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn up_runs_the_pipeline_and_stops_cleanly_on_ctrl_c() {
    let namespace = unique_namespace("up");
    let topics = Topics::new(&namespace);
    let created = kouan(&namespace)
        .args(["topics", "create", "--brokers", &brokers()])
        .output()
        .unwrap();
    assert!(created.status.success());
    // stderr to a file, as a service manager would: plain text, no colour codes
    let log = std::env::temp_dir().join(format!("{namespace}.log"));
    let mut child = kouan(&namespace)
        .args([
            "up",
            "--brokers",
            &brokers(),
            "--history",
            "6h",
            "--rate",
            "3000",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let statuses = latest_statuses(&brokers(), &topics.status());
        if statuses.len() >= 50 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "only {} status records",
            statuses.len()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "kouan up did not stop within 60 s of Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(0));
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(
        stdout.contains("simulator, processor, alerter and API running")
            && stdout.contains("dashboard and API at http://127.0.0.1:")
            && stdout.contains(" operator\n"),
        "{stdout}"
    );
    assert!(stdout.contains("status records published"), "{stdout}");
    let logged = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    assert!(logged.contains("INFO"), "{logged}");
    assert!(
        !logged.contains('\u{1b}'),
        "colour codes in a log that is not a terminal: {logged}"
    );
}
