//! A `kouan` service under test (its process, its log), and `kouan serve` with its tokens.

use crate::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A running `kouan` service whose JSON log lines are collected, killed when dropped.
pub struct Service {
    child: std::process::Child,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Service {
    /// Starts `kouan --namespace NS --log-format json ARGS…`.
    pub fn start(namespace: &str, args: &[&str]) -> Self {
        Self::start_with_env(namespace, args, &[])
    }

    /// [`Service::start`] with these environment variables set for it.
    pub fn start_with_env(namespace: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        use std::io::BufRead;
        let mut child = kouan(namespace)
            .args(["--log-format", "json"])
            .args(args)
            .envs(env.iter().copied())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                sink.lock().unwrap().push(line);
            }
        });
        Service { child, log }
    }

    /// SIGKILL: no chance to flush or say goodbye.
    /// The process id, to look at the service from outside (its memory).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn kill_hard(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM: a clean shutdown; waits for the process to exit.
    pub fn terminate(&mut self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "exit after SIGTERM: {exit:?}");
    }

    /// Sends a signal (`STOP`, `CONT`, …) without waiting for anything.
    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Whether the process is still running (it has not exited by itself).
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// The latest log line containing `needle`.
    pub fn last_log_line(&self, needle: &str) -> Option<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|line| line.contains(needle))
            .cloned()
    }

    /// How many log lines contain `needle` so far.
    pub fn log_lines(&self, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|line| line.contains(needle))
            .count()
    }

    /// Waits until a log line contains `needle`.
    pub fn await_log(&self, needle: &str, deadline: Duration) {
        let started = Instant::now();
        while self.last_log_line(needle).is_none() {
            assert!(
                started.elapsed() < deadline,
                "no `{needle}` in the log within {deadline:?}: {:?}",
                self.log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // a failing test shows what the service said last: CI keeps nothing else of it
        if std::thread::panicking() {
            let log = self.log.lock().unwrap();
            let tail = log.len().saturating_sub(60);
            eprintln!("--- last log lines of kouan pid {} ---", self.child.id());
            for line in &log[tail..] {
                eprintln!("{line}");
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `kouan serve` with its address and tokens.
pub struct Serve {
    pub service: Service,
    pub url: String,
}

/// The auth file every serve test uses: one operator and shippers `SHIPPER-0` … `SHIPPER-4`.
pub const OPERATOR_TOKEN: &str = "operator-token-0001";

pub fn shipper_token(index: usize) -> String {
    format!("shipper-token-{index:04}")
}

pub fn write_auth_file(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("auth.txt");
    let mut text = format!("# test tokens\n{OPERATOR_TOKEN} operator\n");
    for index in 0..5 {
        text.push_str(&format!(
            "{} shipper SHIPPER-{index}\n",
            shipper_token(index)
        ));
    }
    std::fs::write(&path, text).unwrap();
    path
}

impl Serve {
    /// Starts `kouan serve` on a free port and waits until it has loaded the topics.
    pub fn start(namespace: &str, auth_file: &std::path::Path, extra: &[&str]) -> Self {
        let brokers = brokers();
        let mut args = vec![
            "serve",
            "--brokers",
            &brokers,
            "--auth-file",
            auth_file.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(extra);
        let service = Service::start(namespace, &args);
        service.await_log("\"serving\"", Duration::from_secs(60));
        let line = service.last_log_line("\"serving\"").unwrap();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        let listen = value["fields"]["listen"].as_str().unwrap().to_string();
        let url = format!("http://{listen}");
        service.await_log("store loaded", Duration::from_secs(60));
        Serve { service, url }
    }
}

/// A child process under test (`kouan up`, say), killed whatever happens, a failed assertion
/// included: a process left running would slow every later test.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl KillOnDrop {
    /// How the process exited, failing the test with `what` if it runs for 60 s more.
    pub fn exit_within_a_minute(&mut self, what: &str) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
