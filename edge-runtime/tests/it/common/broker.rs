//! A real mosquitto broker and a real mosquitto_sub consumer for the MQTT tests.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A mosquitto process with persistence, restartable on the same port.
pub struct Broker {
    child: Option<Child>,
    /// Port on 127.0.0.1.
    pub port: u16,
    conf: PathBuf,
    log: PathBuf,
}

impl Broker {
    /// Writes a config in `dir` and starts mosquitto on a free port.
    pub fn start(dir: &Path) -> Broker {
        Broker::start_with(dir, "allow_anonymous true\n")
    }

    /// Like `start`, with `access` (authentication lines) instead of anonymous access.
    pub fn start_with(dir: &Path, access: &str) -> Broker {
        let port = super::free_addr().port();
        let data = dir.join("broker");
        std::fs::create_dir_all(&data).unwrap();
        let conf = data.join("mosquitto.conf");
        // As root, mosquitto drops to user "mosquitto", which cannot write its persistence
        // file into our private temporary directory; keep it root there.
        // SAFETY: geteuid has no preconditions.
        let user = if unsafe { libc::geteuid() } == 0 {
            "user root\n"
        } else {
            ""
        };
        std::fs::write(
            &conf,
            format!(
                "{user}listener {port} 127.0.0.1\n{access}persistence true\n\
                 persistence_location {}/\nmax_queued_messages 0\nmax_inflight_messages 0\n\
                 log_dest stderr\nlog_type error\nlog_type warning\n",
                data.display()
            ),
        )
        .unwrap();
        let mut broker = Broker {
            child: None,
            port,
            conf,
            log: data.join("broker.log"),
        };
        broker.run();
        broker
    }

    fn run(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("mosquitto must be installed (scripts/test-all.sh installs it)");
        self.child = Some(child);
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "mosquitto did not start"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops it gracefully (it saves its persistence file).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            super::signal(&child, libc::SIGTERM);
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port with the same persistence.
    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the broker.
    pub fn freeze(&self, frozen: bool) {
        if let Some(child) = &self.child {
            super::signal(child, if frozen { libc::SIGSTOP } else { libc::SIGCONT });
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Headquarters: the project's reference consumer (`hq-consumer`) with a persistent session.
pub struct Consumer {
    child: Child,
    lines: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
}

impl Consumer {
    /// Subscribes as client `id` with QoS 1 and a persistent session.
    pub fn start(port: u16, id: &str) -> Consumer {
        let exe = env!("CARGO_BIN_EXE_hq-consumer");
        let mut cmd = match std::env::var("EDGE_RUNTIME_TEST_RUNNER") {
            Ok(runner) if !runner.trim().is_empty() => {
                let mut parts = runner.split_whitespace();
                let mut c = Command::new(parts.next().unwrap_or("env"));
                c.args(parts).arg(exe);
                c
            }
            _ => Command::new(exe),
        };
        let mut child = cmd
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--client-id",
                id,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hq-consumer");
        // Its reconnects, if any, show in the test output (they explain redeliveries).
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("hq-consumer: {line}");
            }
        });
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    let topic = v["topic"].as_str().unwrap_or("").to_string();
                    sink.lock().unwrap().push((topic, v["payload"].clone()));
                }
            }
        });
        // Let the subscription reach the broker before anything is published.
        std::thread::sleep(Duration::from_millis(500));
        Consumer { child, lines }
    }

    /// `n` -> first seq received, for messages on `topic_suffix`, deduplicated by (device, seq).
    pub fn received(&self, topic_suffix: &str) -> Received {
        let lines = self.lines.lock().unwrap();
        let mut seen = HashSet::new();
        let mut r = Received::default();
        for (topic, v) in lines.iter() {
            if !topic.ends_with(topic_suffix) {
                continue;
            }
            r.total += 1;
            let key = (
                v["device"].as_str().unwrap_or("").to_string(),
                v["seq"].as_u64().unwrap_or(u64::MAX),
            );
            if !seen.insert(key.clone()) {
                r.duplicates += 1;
                continue;
            }
            r.first_seqs.push(key.1);
            if let Some(n) = v["n"].as_u64() {
                r.by_n.insert(n, key.1);
            }
        }
        r
    }

    /// Every payload received on `topic_suffix`.
    pub fn payloads(&self, topic_suffix: &str) -> Vec<serde_json::Value> {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .filter(|(t, _)| t.ends_with(topic_suffix))
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the consumer holds after de-duplication.
#[derive(Debug, Default)]
pub struct Received {
    /// Messages received including duplicates.
    pub total: usize,
    /// Duplicates dropped by (device, seq).
    pub duplicates: usize,
    /// seq of each unique message in arrival order.
    pub first_seqs: Vec<u64>,
    /// Feeder number -> seq.
    pub by_n: BTreeMap<u64, u64>,
}
