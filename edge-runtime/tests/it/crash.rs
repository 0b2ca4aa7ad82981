//! Power-cut style tests: a writer is killed with SIGKILL at random moments, and every write it
//! reported durable must be there when the store is reopened. Seeds are printed; set
//! `EDGE_RUNTIME_CRASH_SEED` to replay one and `EDGE_RUNTIME_CRASH_KILLS` to change the count.

use crate::common;

use common::*;
use edge_runtime::config::StoreBackendKind;
use edge_runtime::torture::verify;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn seed() -> u64 {
    std::env::var("EDGE_RUNTIME_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        })
}

fn kills() -> usize {
    std::env::var("EDGE_RUNTIME_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
}

/// Starts the writer; its stdout lines arrive on the returned channel.
fn spawn_writer(dir: &std::path::Path, backend: &str) -> (Child, mpsc::Receiver<String>) {
    let mut child = command()
        .args(["internal", "store-writer", "--backend", backend, "--dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn writer");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(l) => {
                    if tx.send(l).is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    });
    (child, rx)
}

fn last_durable(lines: &[String]) -> Option<u64> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("durable "))
        .filter_map(|n| n.parse().ok())
        .max()
}

fn kill_loop(kind: StoreBackendKind) {
    let backend = kind.name();
    let seed = seed();
    let mut rng = Rng(seed);
    let rounds = kills();
    println!("{backend}: {rounds} kills, seed {seed}");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut promised: Option<u64> = None;
    let mut early_kills = 0;
    let started = Instant::now();
    for round in 0..rounds {
        let (mut child, rx) = spawn_writer(&state, backend);
        let early = rng.next() % 4 == 0;
        if early {
            // Kill while the store is still opening or recovering.
            early_kills += 1;
            std::thread::sleep(Duration::from_micros(rng.next() % 15_000));
        } else {
            let first = rx.recv_timeout(Duration::from_secs(30));
            match first {
                Ok(line) if line.starts_with("start ") => {}
                other => {
                    let _ = child.kill();
                    panic!(
                        "round {round}: writer did not start: {other:?} {}",
                        stderr_of(&mut child)
                    );
                }
            }
            std::thread::sleep(Duration::from_micros(rng.next() % 40_000));
        }
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reap");
        assert!(
            status.code().is_none(),
            "round {round}: writer exited by itself: {status:?} {}",
            stderr_of(&mut child)
        );
        let lines: Vec<String> = rx.iter().collect();
        if let Some(start) = lines.iter().find_map(|l| l.strip_prefix("start ")) {
            let start: u64 = start.parse().unwrap();
            if let Some(p) = promised {
                assert!(
                    start > p,
                    "round {round} (seed {seed}): reopened at {start} but {p} was durable"
                );
            }
        }
        if let Some(d) = last_durable(&lines) {
            promised = Some(promised.map_or(d, |p| p.max(d)));
        }
        match verify(&state, kind, promised) {
            Ok(_) => {}
            Err(why) => panic!("round {round} (seed {seed}): {why}"),
        }
    }
    let present = verify(&state, kind, promised).unwrap();
    println!(
        "{backend}: {rounds} SIGKILLs ({early_kills} during open) in {:.1}s; {} records reported durable, {present} present, 0 lost",
        started.elapsed().as_secs_f64(),
        promised.map_or(0, |p| p + 1)
    );
    assert!(
        promised.is_some(),
        "the writer never reported a durable write"
    );
}

#[test]
fn redb_loses_no_durable_write_across_sigkills() {
    kill_loop(StoreBackendKind::Redb);
}

#[cfg(feature = "store-sled")]
#[test]
fn sled_loses_no_durable_write_across_sigkills() {
    kill_loop(StoreBackendKind::Sled);
}

fn sigterm_mid_burst(kind: StoreBackendKind) {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, rx) = spawn_writer(dir.path(), kind.name());
    let mut durable_lines = 0;
    while durable_lines < 20 {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("writer output");
        if line.starts_with("durable ") {
            durable_lines += 1;
        }
    }
    signal(&child, libc::SIGTERM);
    let status =
        wait_exit(&mut child, Duration::from_secs(5)).expect("stops within 5 s of SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", stderr_of(&mut child));
    let lines: Vec<String> = rx.iter().collect();
    let closed: u64 = lines
        .iter()
        .find_map(|l| l.strip_prefix("closed "))
        .expect("closed line")
        .parse()
        .unwrap();
    let present = verify(dir.path(), kind, last_durable(&lines)).unwrap();
    assert_eq!(
        present, closed,
        "everything committed before the stop is there"
    );
}

#[test]
fn redb_sigterm_mid_burst_keeps_every_commit() {
    sigterm_mid_burst(StoreBackendKind::Redb);
}

#[cfg(feature = "store-sled")]
#[test]
fn sled_sigterm_mid_burst_keeps_every_commit() {
    sigterm_mid_burst(StoreBackendKind::Sled);
}

#[test]
fn daemon_restarts_cleanly_after_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let config = write_config(dir.path(), &dir.path().join("state"), addr, "");
    for _ in 0..5 {
        let mut child = spawn_run(&config, &[]);
        assert!(
            wait_healthy(&mut child, addr, Duration::from_secs(20)),
            "{}",
            stderr_of(&mut child)
        );
        let (_, metrics) = http_get(addr, "/metrics").unwrap();
        assert!(
            metrics.contains("edge_fault{fault=\"store_corrupt\"} 0"),
            "{metrics}"
        );
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
