//! The outbox feeder process (`edge-runtime internal outbox-feeder`) as the MQTT tests drive it.
#![allow(dead_code)]

use super::broker::{Consumer, Received};
use super::{command, signal, wait_exit};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// `edge-runtime internal outbox-feeder` with stdout parsed and stderr captured.
pub struct Feeder {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<Vec<String>>>,
    /// Numbers the feeder reported durable in its outbox.
    pub accepted: BTreeSet<u64>,
    /// Whether it reported the outbox empty (everything acknowledged by the broker).
    pub drained: bool,
    /// Numbers the full policy refused on arrival.
    pub refused: BTreeSet<u64>,
    /// The outbox's drop counts per class (health, state, critical) when it drained.
    pub drops: Option<[u64; 3]>,
}

impl Feeder {
    /// Starts the feeder: numbers `start..start+count`, one every `interval_ms`.
    pub fn start(config: &Path, start: u64, count: u64, interval_ms: u64) -> Feeder {
        Feeder::spawn(config, start, count, interval_ms, None)
    }

    /// Like `start`, with message `n` in class `n % 3` (health, state, critical), padded.
    pub fn start_mixed(config: &Path, count: u64, pad: usize) -> Feeder {
        Feeder::spawn(config, 0, count, 0, Some(pad))
    }

    fn spawn(
        config: &Path,
        start: u64,
        count: u64,
        interval_ms: u64,
        pad: Option<usize>,
    ) -> Feeder {
        let mut cmd = command();
        cmd.args(["internal", "outbox-feeder", "--config"])
            .arg(config)
            .args(["--start", &start.to_string(), "--count", &count.to_string()])
            .args(["--interval-ms", &interval_ms.to_string()]);
        if let Some(pad) = pad {
            cmd.args(["--mixed", &pad.to_string()]);
        }
        let mut child = cmd
            .env("RUST_LOG", "warn")
            .env_remove("JOURNAL_STREAM")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn feeder");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr.clone();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                eprintln!("feeder: {line}");
                sink.lock().unwrap().push(line);
            }
        });
        Feeder {
            child,
            lines: rx,
            stderr,
            accepted: BTreeSet::new(),
            drained: false,
            refused: BTreeSet::new(),
            drops: None,
        }
    }

    fn absorb(&mut self, line: &str) {
        if let Some(rest) = line.strip_prefix("accepted ") {
            if let Some(n) = rest.split_whitespace().next().and_then(|n| n.parse().ok()) {
                self.accepted.insert(n);
            }
        } else if let Some(rest) = line.strip_prefix("dropped ") {
            if let Some(n) = rest.split_whitespace().next().and_then(|n| n.parse().ok()) {
                self.refused.insert(n);
            }
        } else if let Some(rest) = line.strip_prefix("drops ") {
            let v: Vec<u64> = rest
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            if let [h, s, c] = v[..] {
                self.drops = Some([h, s, c]);
            }
        } else if line == "drained" {
            self.drained = true;
        }
    }

    /// Reads output until `done` or the timeout.
    pub fn until(&mut self, timeout: Duration, done: impl Fn(&Feeder) -> bool) -> bool {
        let end = Instant::now() + timeout;
        while !done(self) {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(100)))
            {
                Ok(line) => self.absorb(&line),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return done(self),
            }
        }
        true
    }

    /// Everything the feeder wrote to stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// The first stderr line containing `needle`, waiting up to `timeout` for it.
    pub fn log_line(&mut self, needle: &str, timeout: Duration) -> Option<String> {
        let find = |f: &Feeder| f.stderr().into_iter().find(|l| l.contains(needle));
        self.until(timeout, |f| find(f).is_some());
        find(self)
    }

    /// Waits for the feeder to exit by itself; returns its exit code.
    pub fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let status = wait_exit(&mut self.child, timeout)?;
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
            self.absorb(&line);
        }
        status.code()
    }

    /// SIGKILL, then collect what it printed before dying.
    pub fn kill(mut self) -> BTreeSet<u64> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.absorb(&line);
        }
        std::mem::take(&mut self.accepted)
    }

    /// SIGTERM; it must exit 0. Returns the accepted numbers.
    pub fn stop(mut self) -> BTreeSet<u64> {
        signal(&self.child, libc::SIGTERM);
        let status = wait_exit(&mut self.child, Duration::from_secs(10)).expect("feeder stops");
        assert_eq!(status.code(), Some(0), "feeder exit status");
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
            self.absorb(&line);
        }
        std::mem::take(&mut self.accepted)
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits until the consumer holds every accepted number (unique, in order) and the daemon
/// said `online`; prints the counts.
pub fn assert_all_delivered(name: &str, consumer: &Consumer, accepted: &BTreeSet<u64>) -> Received {
    let end = Instant::now() + Duration::from_secs(60);
    let mut r = consumer.received("stock/events");
    while Instant::now() < end && !accepted.iter().all(|n| r.by_n.contains_key(n)) {
        std::thread::sleep(Duration::from_millis(50));
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
    let disorder: Vec<(usize, u64, u64)> = r
        .first_seqs
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] >= w[1])
        .map(|(i, w)| (i, w[0], w[1]))
        .collect();
    assert!(
        disorder.is_empty(),
        "{name}: messages arrived out of order: {} times, first (position, seq, then seq): {:?}; arrival order around it: {:?}",
        disorder.len(),
        &disorder[..disorder.len().min(5)],
        &r.first_seqs[disorder[0].0.saturating_sub(5)..(disorder[0].0 + 6).min(r.first_seqs.len())]
    );
    let status = consumer.payloads("status");
    assert!(
        status.iter().any(|v| v == "online"),
        "{name}: status topic says online: {status:?}"
    );
    r
}
