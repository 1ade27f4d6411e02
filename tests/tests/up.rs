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
    let child = kouan(&namespace)
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
    let mut child = KillOnDrop(child);
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
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let status = child.exit_within_a_minute("kouan up did not stop within 60 s of Ctrl-C");
    assert_eq!(status.code(), Some(0));
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.0.stdout.take().unwrap(), &mut stdout).unwrap();
    assert!(
        stdout.contains("simulator, processor, alerter and API running")
            && stdout.contains("dashboard and API at http://127.0.0.1:")
            && stdout.contains(" operator\n"),
        "{stdout}"
    );
    assert!(stdout.contains(" status records"), "{stdout}");
    let logged = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    assert!(logged.contains("INFO"), "{logged}");
    assert!(
        !logged.contains('\u{1b}'),
        "colour codes in a log that is not a terminal: {logged}"
    );
}

/// A step failing once the pipeline runs — here the API's address is taken — stops the whole
/// process with an error that names it, instead of leaving the pipeline's threads running.
#[test]
fn up_exits_with_an_error_when_its_address_is_taken() {
    let namespace = unique_namespace("up-taken");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let child = kouan(&namespace)
        .args([
            "up",
            "--brokers",
            &brokers(),
            "--history",
            "6h",
            "--listen",
            &address,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let status = child.exit_within_a_minute(&format!(
        "kouan up still running 60 s after failing to listen on {address}"
    ));
    assert!(!status.success(), "{status}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains(&address), "{stderr}");
    drop(taken);
}

/// The first look: 30 days of history caught up as fast as the pipeline takes it, with progress
/// lines and then "caught up", and a network with traffic on every corridor — rail shipments
/// waiting at a border station, at Małaszewicze and at European terminals, air and rail on the
/// move — measured at the pipeline's now, which has reached the present.
#[test]
fn up_catches_up_thirty_days_and_shows_every_corridor() {
    use std::io::BufRead;
    let namespace = unique_namespace("up-first-look");
    let created = kouan(&namespace)
        .args(["topics", "create", "--brokers", &brokers()])
        .output()
        .unwrap();
    assert!(created.status.success());
    let log = std::env::temp_dir().join(format!("{namespace}.log"));
    let mut child = kouan(&namespace)
        .args([
            "up",
            "--brokers",
            &brokers(),
            "--history",
            "30days",
            "--shipments-per-day",
            "300",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut child = KillOnDrop(child);
    // what it logged, when it does not catch up
    let warnings = || -> String {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = text
            .lines()
            .filter(|line| {
                line.contains("WARN") || line.contains("ERROR") || line.contains("generation")
            })
            .collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    };
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let (mut url, mut token, mut progress) = (None, None, 0);
    let mut last = String::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    let caught_up = loop {
        let line = received
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| {
                panic!(
                    "kouan up did not catch up in 300 s; last said: {last}\nits warnings:\n{}",
                    warnings()
                )
            });
        last = line.clone();
        if let Some(at) = line.strip_prefix("kouan up: dashboard and API at ") {
            url = Some(at.trim_end_matches('/').to_string());
        }
        if line.trim_end().ends_with(" operator") {
            token = line.split_whitespace().next().map(str::to_string);
        }
        if line.starts_with("kouan up: catching up: ") {
            progress += 1;
            assert!(line.contains(" events published, "), "{line}");
        }
        if line.starts_with("kouan up: caught up in ") {
            break line;
        }
    };
    println!("{caught_up}");
    assert!(progress >= 1, "progress lines while catching up");
    let (url, token) = (url.unwrap(), token.unwrap());
    rustls::crypto::ring::default_provider()
        .install_default()
        .ok();
    let network: serde_json::Value = serde_json::from_str(
        &reqwest::blocking::Client::new()
            .get(format!("{url}/v1/network"))
            .bearer_auth(&token)
            .send()
            .unwrap()
            .text()
            .unwrap(),
    )
    .unwrap();
    let waiting: std::collections::BTreeMap<String, u64> = network["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["location"].as_str().unwrap().to_string(),
                n["shipments"].as_u64().unwrap(),
            )
        })
        .collect();
    let any_of = |nodes: &[&str]| {
        nodes
            .iter()
            .any(|n| waiting.get(*n).is_some_and(|c| *c > 0))
    };
    assert!(
        any_of(&["KZDOS", "MNZMU", "CNMZL", "RUZAB", "CNAKA", "CNERL"]),
        "a border station: {waiting:?}"
    );
    assert!(any_of(&["PLMAW"]), "Małaszewicze: {waiting:?}");
    assert!(
        any_of(&["DEDUI", "DEHAM"]),
        "European rail terminals: {waiting:?}"
    );
    assert!(any_of(&["CNCGO"]) && any_of(&["CNZZP"]), "{waiting:?}");
    assert!(
        network["moving"]["AIR"].as_u64().unwrap_or(0) > 0,
        "{network}"
    );
    assert!(
        network["moving"]["RAIL"].as_u64().unwrap_or(0) > 0,
        "{network}"
    );
    assert_eq!(
        network["pipeline"]["catchingUp"], false,
        "{caught_up}: {network}"
    );

    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    assert_eq!(child.0.wait().unwrap().code(), Some(0));
    std::fs::remove_file(&log).ok();
}
