//! A Kafka broker of a test's own, for the tests that stop and restart it.

use crate::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A broker of a test's own, for tests that stop and restart it: `scripts/kafka serve --port P
/// --dir D`, exactly as users and `scripts/test` start it.
pub struct KafkaBroker {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<std::process::Child>,
}

impl KafkaBroker {
    /// Starts a new broker in `dir` (formatted on first start) and waits until it serves.
    pub fn start(dir: &std::path::Path) -> Self {
        let mut broker = KafkaBroker {
            port: free_port(),
            dir: dir.to_path_buf(),
            child: None,
        };
        broker.restart();
        broker
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn started_lines(&self) -> usize {
        std::fs::read_to_string(self.dir.join("server.log"))
            .map(|log| log.matches("Kafka Server started").count())
            .unwrap_or(0)
    }

    /// Starts the broker again on its data (same port) and waits until it serves.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the broker is running");
        let before = self.started_lines();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/kafka");
        let log = std::fs::File::create(self.dir.with_extension("out")).unwrap();
        let mut child = std::process::Command::new(script)
            .args(["serve", "--port", &self.port.to_string(), "--dir"])
            .arg(&self.dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let started = Instant::now();
        while self.started_lines() <= before {
            if let Some(exit) = child.try_wait().unwrap() {
                let output =
                    std::fs::read_to_string(self.dir.with_extension("out")).unwrap_or_default();
                panic!("the broker exited: {exit:?}\n{output}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the broker did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        self.child = Some(child);
    }

    /// SIGTERM, and waits for Kafka's clean shutdown.
    pub fn stop(&mut self) {
        let mut child = self.child.take().expect("the broker is running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = child.wait().unwrap();
        // the JVM answers SIGTERM with its shutdown hooks and exit code 143
        assert!(
            exit.success() || exit.code() == Some(143),
            "broker exit after SIGTERM: {exit:?}"
        );
    }
}

impl Drop for KafkaBroker {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}
