//! The dashboard in a real browser: `kouan up` against the broker, Debian's Chromium driven
//! over WebDriver (chromedriver), every panel checked for data as an operator and as a shipper,
//! and a screenshot of each saved under `target/`.

use kouan_e2e::*;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A WebDriver session on chromedriver.
struct Browser {
    http: reqwest::blocking::Client,
    base: String,
    _driver: Killed,
    _profile: std::path::PathBuf,
}

impl Browser {
    fn start() -> Self {
        assert!(
            std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists(),
            "Debian's chromium and chromium-driver are needed: scripts/test installs them"
        );
        let port = free_port();
        let driver = Killed(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let root = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while http.get(format!("{root}/status")).send().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = std::env::temp_dir().join(unique_namespace("chromium"));
        let capabilities = serde_json::json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1600,1000",
                format!("--user-data-dir={}", profile.display()),
            ]}
        }}});
        let session: serde_json::Value = http
            .post(format!("{root}/session"))
            .header("Content-Type", "application/json")
            .body(capabilities.to_string())
            .send()
            .unwrap()
            .text()
            .map(|text| serde_json::from_str(&text).unwrap())
            .unwrap();
        let id = session["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {session}"))
            .to_string();
        Browser {
            http,
            base: format!("{root}/session/{id}"),
            _driver: driver,
            _profile: profile,
        }
    }

    fn command(&self, method: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.http.get(url),
            _ => self
                .http
                .post(url)
                .header("Content-Type", "application/json")
                .body(body.to_string()),
        };
        let answer: serde_json::Value =
            serde_json::from_str(&request.send().unwrap().text().unwrap()).unwrap();
        assert!(
            answer["value"].get("error").is_none(),
            "webdriver: {answer}"
        );
        answer["value"].clone()
    }

    fn open(&self, url: &str) {
        self.command("POST", "/url", serde_json::json!({ "url": url }));
    }

    fn eval(&self, script: &str) -> serde_json::Value {
        self.command(
            "POST",
            "/execute/sync",
            serde_json::json!({"script": script, "args": []}),
        )
    }

    /// Evaluates `script` until it returns true.
    fn wait_for(&self, what: &str, script: &str, deadline: Duration) {
        let started = Instant::now();
        loop {
            if self.eval(script) == serde_json::Value::Bool(true) {
                return;
            }
            assert!(
                started.elapsed() < deadline,
                "{what} never showed: {}",
                self.eval("return document.body.innerText.slice(0, 2000)")
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn screenshot(&self, name: &str) -> std::path::PathBuf {
        use base64::Engine;
        self.eval("window.scrollTo(0, 0); return true");
        let png = self.command("GET", "/screenshot", serde_json::Value::Null);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.http.delete(&self.base).send();
    }
}

/// Every panel has data: nodes with shipments waiting, alerts, KPI groups, the shipment list,
/// and a timeline after a click on the first shipment.
fn check_panels(browser: &Browser, who: &str) {
    let minute = Duration::from_secs(120);
    browser.wait_for(
        &format!("{who}: network"),
        "return Number(document.getElementById('network').dataset.waiting || 0) > 0",
        minute,
    );
    browser.wait_for(
        &format!("{who}: shipments"),
        "return Number(document.getElementById('shipments').dataset.count) > 0",
        minute,
    );
    browser.wait_for(
        &format!("{who}: KPIs"),
        "return Number(document.getElementById('kpis').dataset.groups) > 0",
        minute,
    );
    browser.wait_for(&format!("{who}: alerts"), "document.getElementById('alert-state').value = ''; document.getElementById('alert-state').onchange(); return Number(document.getElementById('alerts').dataset.count) > 0", minute);
    browser.wait_for(&format!("{who}: live feed"), "return document.getElementById('live').classList.contains('on') && Number(document.getElementById('changes').textContent) > 0", minute);
    browser.eval("document.querySelector('tr.pick').click(); return true");
    browser.wait_for(
        &format!("{who}: timeline"),
        "return Number(document.getElementById('timeline').dataset.milestones) > 0",
        minute,
    );
}

#[test]
fn dashboard_shows_every_panel_and_a_shipper_only_its_own() {
    rustls::crypto::ring::default_provider()
        .install_default()
        .ok();
    let namespace = unique_namespace("dashboard");
    let mut child = Killed(
        kouan(&namespace)
            .args([
                "up",
                "--brokers",
                &brokers(),
                "--history",
                "4days",
                "--rate",
                "20000",
                "--listen",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (lines, printed) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let (mut url, mut operator, mut shipper) = (None, None, None);
    while url.is_none() || operator.is_none() || shipper.is_none() {
        let line = printed
            .recv_timeout(Duration::from_secs(120))
            .expect("kouan up prints its URL and tokens");
        if let Some(at) = line.strip_prefix("kouan up: dashboard and API at ") {
            url = Some(at.trim().to_string());
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [token, "operator"] => operator = Some(token.to_string()),
            [token, "shipper", "henan-elec"] => shipper = Some(token.to_string()),
            _ => {}
        }
    }
    let (url, operator, shipper) = (url.unwrap(), operator.unwrap(), shipper.unwrap());

    let browser = Browser::start();
    browser.open(&format!("{url}#token={operator}"));
    check_panels(&browser, "operator");
    // the operator sees the dead letters' counts (a shipper does not: below)
    browser.wait_for(
        "operator: dead letters",
        "const e = document.getElementById('dead-letters'); return !e.hidden && ['rejected', 'late', 'lost'].every((k) => /^[0-9]+$/.test(e.dataset[k] || ''))",
        Duration::from_secs(60),
    );
    assert_eq!(
        browser.eval("return location.hash"),
        "",
        "the token leaves the address bar"
    );
    let shippers = browser.eval("return [...new Set([...document.querySelectorAll('tr.pick')].map(r => r.dataset.shipper))].length");
    assert!(
        shippers.as_u64().unwrap() > 1,
        "an operator sees several shippers"
    );
    // the help shows a curl for each surface, at this server's address
    let help = browser.eval("return document.getElementById('help-curls').textContent");
    let help = help.as_str().unwrap();
    for path in [
        "/v1/shipments/",
        "/dcsa/tnt/v2/events",
        "/onerecord/logistics-objects/",
    ] {
        assert!(
            help.contains(&format!("{}{path}", url.trim_end_matches('/'))),
            "{help}"
        );
    }
    let shot = browser.screenshot("dashboard-operator.png");
    println!("screenshot: {}", shot.display());

    browser.eval("sessionStorage.clear(); return true");
    browser.open(&format!("{url}#token={shipper}"));
    browser.eval("location.reload(); return true");
    check_panels(&browser, "shipper");
    let seen = browser.eval("return [...new Set([...document.querySelectorAll('tr.pick')].map(r => r.dataset.shipper))]");
    assert_eq!(
        seen,
        serde_json::json!(["henan-elec"]),
        "a shipper sees only its own shipments"
    );
    let who = browser.eval("return document.getElementById('who').textContent");
    assert!(who.as_str().unwrap().contains("henan-elec"), "{who}");
    let letters = browser.eval("return document.getElementById('dead-letters').hidden");
    assert_eq!(
        letters,
        serde_json::json!(true),
        "a shipper sees no dead letters' counts"
    );
    // every alert on the page is about one of its shipments
    let alerted = browser
        .eval("return [...document.querySelectorAll('.alert')].map(a => a.dataset.shipment)");
    let http = reqwest::blocking::Client::new();
    for id in alerted.as_array().unwrap() {
        let status = http
            .get(format!("{url}v1/shipments/{}", id.as_str().unwrap()))
            .bearer_auth(&shipper)
            .send()
            .unwrap()
            .status();
        assert_eq!(
            status.as_u16(),
            200,
            "alert about {id} shown to the shipper"
        );
    }
    let shot = browser.screenshot("dashboard-shipper.png");
    println!("screenshot: {}", shot.display());

    // the whole pipeline's metrics on the one /metrics of `kouan up`; the lags are reported every
    // few seconds (`kouan_bus::timing::LAG_REPORT`), so a page read before the first report is
    // read again until every series is there or the deadline passes
    let needles = [
        format!("kouan_processor_events_in_total{{topic=\"{namespace}.events.air\"}}"),
        format!("kouan_processor_status_out_total{{topic=\"{namespace}.status\"}}"),
        "kouan_processor_rejected_total".to_string(),
        "kouan_processor_latency_seconds_bucket{le=\"0.5\"}".to_string(),
        "kouan_processor_latency_seconds_count".to_string(),
        "kouan_alerts_firing".to_string(),
        "kouan_alerter_alerts_out_total".to_string(),
        format!("kouan_store_consumer_lag{{topic=\"{namespace}.status\"}}"),
        "kouan_http_requests_total{route=\"/v1/network\"".to_string(),
    ];
    let scrape = || {
        http.get(format!("{url}metrics"))
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut metrics = scrape();
    while !needles.iter().all(|needle| metrics.contains(needle)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        metrics = scrape();
    }
    for needle in needles {
        assert!(metrics.contains(&needle), "no {needle} in {metrics}");
    }
    let events_in: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("kouan_processor_events_in_total"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(events_in > 1000, "{events_in} events counted");
}
