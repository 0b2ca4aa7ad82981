//! Headquarters link reliability against a real mosquitto: broker down at start, broker
//! restarts, a frozen broker, and the daemon killed with SIGKILL mid-stream. Every message the
//! outbox accepted must reach the consumer; duplicates are allowed, losses are not.

mod common;

#[path = "common/broker.rs"]
mod broker;

use broker::{Broker, Consumer, Received};
use common::*;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn feeder_config(dir: &Path, port: u16, keep_alive: u64) -> std::path::PathBuf {
    feeder_config_with(dir, port, keep_alive, "")
}

fn feeder_config_with(
    dir: &Path,
    port: u16,
    keep_alive: u64,
    extra_mqtt: &str,
) -> std::path::PathBuf {
    let path = dir.join("feeder.toml");
    std::fs::write(
        &path,
        format!(
            "[identity]\nstore_id = \"store-t\"\ndevice_id = \"dev-t\"\n\
             [paths]\nstate_dir = \"{}\"\n\
             [mqtt]\nhost = \"127.0.0.1\"\nport = {port}\nkeep_alive_secs = {keep_alive}\n\
             reconnect_min_ms = 50\nreconnect_max_secs = 1\n{extra_mqtt}",
            dir.join("state").display()
        ),
    )
    .unwrap();
    path
}

struct Feeder {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    accepted: BTreeSet<u64>,
    drained: bool,
}

impl Feeder {
    fn start(config: &Path, start: u64, count: u64, interval_ms: u64) -> Feeder {
        let mut child = command()
            .args(["internal", "outbox-feeder", "--config"])
            .arg(config)
            .args(["--start", &start.to_string(), "--count", &count.to_string()])
            .args(["--interval-ms", &interval_ms.to_string()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn feeder");
        let stdout = child.stdout.take().unwrap();
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                eprintln!("feeder: {line}");
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Feeder {
            child,
            lines: rx,
            stderr,
            accepted: BTreeSet::new(),
            drained: false,
        }
    }

    fn absorb(&mut self, line: &str) {
        if let Some(rest) = line.strip_prefix("accepted ") {
            if let Some(n) = rest.split_whitespace().next().and_then(|n| n.parse().ok()) {
                self.accepted.insert(n);
            }
        } else if line == "drained" {
            self.drained = true;
        }
    }

    /// Reads output until `done` or the timeout.
    fn until(&mut self, timeout: Duration, done: impl Fn(&Feeder) -> bool) -> bool {
        let end = Instant::now() + timeout;
        while !done(self) {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(200)))
            {
                Ok(line) => self.absorb(&line),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return done(self),
            }
        }
        true
    }

    /// SIGKILL, then collect what it printed before dying.
    fn kill(mut self) -> BTreeSet<u64> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.absorb(&line);
        }
        self.accepted
    }

    fn stop(mut self) -> BTreeSet<u64> {
        signal(&self.child, libc::SIGTERM);
        let status = wait_exit(&mut self.child, Duration::from_secs(10)).expect("feeder stops");
        assert_eq!(status.code(), Some(0));
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
            self.absorb(&line);
        }
        self.accepted
    }
}

/// Waits until the consumer holds every accepted number, then checks order and prints counts.
fn assert_all_delivered(name: &str, consumer: &Consumer, accepted: &BTreeSet<u64>) -> Received {
    let end = Instant::now() + Duration::from_secs(60);
    let mut r = consumer.received("stock/events");
    while Instant::now() < end && !accepted.iter().all(|n| r.by_n.contains_key(n)) {
        std::thread::sleep(Duration::from_millis(100));
        r = consumer.received("stock/events");
    }
    let lost: Vec<&u64> = accepted
        .iter()
        .filter(|n| !r.by_n.contains_key(n))
        .collect();
    println!(
        "{name}: accepted {}, received {} ({} unique, {} duplicates), lost {}",
        accepted.len(),
        r.total,
        r.first_seqs.len(),
        r.duplicates,
        lost.len()
    );
    assert!(
        lost.is_empty(),
        "{name}: lost {} messages, first {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    assert!(
        r.first_seqs.windows(2).all(|w| w[0] < w[1]),
        "{name}: messages of one class arrived out of order"
    );
    r
}

#[test]
fn broker_down_at_start_then_everything_buffered_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path());
    let consumer = Consumer::start(broker.port, "hq-down-at-start");
    broker.stop();

    let config = feeder_config(dir.path(), broker.port, 30);
    let mut feeder = Feeder::start(&config, 0, 300, 0);
    assert!(
        feeder.until(Duration::from_secs(60), |f| f.accepted.len() == 300),
        "feeder accepts while the broker is down"
    );
    assert!(!feeder.drained);

    broker.restart();
    assert!(
        feeder.until(Duration::from_secs(60), |f| f.drained),
        "outbox drained once the broker is back"
    );
    let accepted = feeder.stop();
    assert_all_delivered("broker down at start", &consumer, &accepted);
    let status = consumer.payloads("status");
    assert!(
        status.iter().any(|v| v == "online"),
        "status topic says online: {status:?}"
    );
}

#[test]
fn broker_restarted_20_times_mid_stream_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path());
    let consumer = Consumer::start(broker.port, "hq-restarts");
    let config = feeder_config(dir.path(), broker.port, 30);
    let mut feeder = Feeder::start(&config, 0, 2000, 2);
    for _ in 0..20 {
        feeder.until(Duration::from_millis(150), |_| false);
        broker.restart();
    }
    assert!(
        feeder.until(Duration::from_secs(90), |f| f.drained),
        "drained after the restarts"
    );
    let accepted = feeder.stop();
    assert_eq!(accepted.len(), 2000);
    assert_all_delivered("20 broker restarts", &consumer, &accepted);
}

#[test]
fn frozen_broker_beyond_keep_alive_is_detected_and_survived() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let consumer = Consumer::start(broker.port, "hq-frozen");
    let config = feeder_config(dir.path(), broker.port, 5);
    let mut feeder = Feeder::start(&config, 0, 400, 20);
    feeder.until(Duration::from_secs(1), |_| false);
    broker.freeze(true);
    // Longer than 1.5 x keep-alive: the link must notice the dead connection by itself.
    feeder.until(Duration::from_secs(10), |_| false);
    broker.freeze(false);
    assert!(
        feeder.until(Duration::from_secs(90), |f| f.drained),
        "drained after the freeze"
    );
    let accepted = feeder.stop();
    assert_eq!(accepted.len(), 400);
    assert_all_delivered("frozen broker", &consumer, &accepted);
}

#[test]
fn sigkill_100_times_mid_stream_loses_no_accepted_message() {
    let kills: usize = std::env::var("EDGE_RUNTIME_MQTT_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let consumer = Consumer::start(broker.port, "hq-kill9");
    let config = feeder_config(dir.path(), broker.port, 30);
    let mut accepted = BTreeSet::new();
    let mut next = 0u64;
    let mut rng = 0x9e3779b97f4a7c15u64 ^ u64::from(std::process::id());
    for _ in 0..kills {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut feeder = Feeder::start(&config, next, 1000, 1);
        feeder.until(Duration::from_millis(30 + rng % 200), |_| false);
        let got = feeder.kill();
        if let Some(max) = got.iter().max() {
            next = max + 1;
        }
        accepted.extend(got);
    }
    // A last run with nothing new drains whatever the killed ones left behind.
    let mut feeder = Feeder::start(&config, next, 0, 0);
    assert!(
        feeder.until(Duration::from_secs(90), |f| f.drained),
        "final drain"
    );
    feeder.stop();
    println!("{kills} SIGKILLs during the stream");
    assert!(
        accepted.len() > kills,
        "the feeder made progress between kills"
    );
    assert_all_delivered(&format!("SIGKILL x{kills}"), &consumer, &accepted);
}

#[test]
fn broker_credentials_are_used_and_a_wrong_password_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let passwords = dir.path().join("passwd");
    let ok = std::process::Command::new("mosquitto_passwd")
        .args(["-c", "-b"])
        .arg(&passwords)
        .args(["store-t", "s3cret"])
        .status()
        .expect("mosquitto_passwd");
    assert!(ok.success());
    let broker = Broker::start_with(
        dir.path(),
        &format!(
            "allow_anonymous false\npassword_file {}\n",
            passwords.display()
        ),
    );

    let wrong = dir.path().join("wrong-password");
    std::fs::write(&wrong, "guess\n").unwrap();
    let config = feeder_config_with(
        dir.path(),
        broker.port,
        30,
        &format!(
            "username = \"store-t\"\npassword_file = \"{}\"\n",
            wrong.display()
        ),
    );
    let mut feeder = Feeder::start(&config, 0, 20, 0);
    assert!(
        !feeder.until(Duration::from_secs(3), |f| f.drained),
        "a wrong password must not deliver"
    );
    assert_eq!(
        feeder.accepted.len(),
        20,
        "messages are still accepted into the outbox"
    );
    let log = feeder.stderr.lock().unwrap().clone();
    assert!(
        log.contains("check username/password"),
        "unclear refusal: {log}"
    );
    feeder.stop();

    let right = dir.path().join("password");
    std::fs::write(&right, "s3cret\n").unwrap();
    let config = feeder_config_with(
        dir.path(),
        broker.port,
        30,
        &format!(
            "username = \"store-t\"\npassword_file = \"{}\"\n",
            right.display()
        ),
    );
    let mut feeder = Feeder::start(&config, 20, 0, 0);
    assert!(
        feeder.until(Duration::from_secs(30), |f| f.drained),
        "the right password delivers the buffered messages"
    );
    feeder.stop();
}
