//! The daemon as systemd runs it: start, serve health and metrics, notify, stop on SIGTERM,
//! and refuse clearly when the port, the state directory or the database is bad.

use crate::common;

use common::*;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

#[test]
fn serves_health_ready_metrics_and_stops_on_sigterm_within_5s() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let config = write_config(dir.path(), &dir.path().join("state"), addr, "");
    let mut child = spawn_run(&config, &[]);
    assert!(
        wait_healthy(&mut child, addr, Duration::from_secs(20)),
        "{}",
        stderr_of(&mut child)
    );

    let (status, body) = http_get(addr, "/readyz").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("store"), "{body}");
    let (status, metrics) = http_get(addr, "/metrics").unwrap();
    assert_eq!(status, 200);
    for needle in [
        "edge_build_info{",
        "edge_uptime_seconds",
        "edge_process_resident_memory_bytes",
        "edge_ready 1",
    ] {
        assert!(metrics.contains(needle), "missing {needle}:\n{metrics}");
    }
    assert_eq!(http_get(addr, "/nope").unwrap().0, 404);

    let asked = Instant::now();
    signal(&child, libc::SIGTERM);
    let status = wait_exit(&mut child, Duration::from_secs(10)).expect("exit after SIGTERM");
    let took = asked.elapsed();
    let err = stderr_of(&mut child);
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(took < Duration::from_secs(5), "graceful stop took {took:?}");
    assert!(
        err.contains("SIGTERM: stopping") && err.contains("store flushed and closed"),
        "{err}"
    );
}

#[test]
fn busy_http_port_is_a_clear_runtime_failure() {
    let dir = tempfile::tempdir().unwrap();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = holder.local_addr().unwrap();
    let config = write_config(dir.path(), &dir.path().join("state"), addr, "");
    let mut child = spawn_run(&config, &[]);
    let status = wait_exit(&mut child, Duration::from_secs(20)).expect("must exit");
    let err = stderr_of(&mut child);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("cannot listen on {addr}")) && err.contains("fix:"),
        "{err}"
    );
}

#[test]
fn unwritable_state_dir_is_a_clear_runtime_failure() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let config = write_config(dir.path(), &blocker.join("state"), free_addr(), "");
    let mut child = spawn_run(&config, &[]);
    let status = wait_exit(&mut child, Duration::from_secs(20)).expect("must exit");
    let err = stderr_of(&mut child);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("is not writable") && err.contains("StateDirectory"),
        "{err}"
    );
}

fn corrupt_database_starts_empty_with_fault(backend: &str, file: &str) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let db = state.join(file);
    let garbage: Vec<u8> = (0..65536u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    if backend == "sled" {
        std::fs::create_dir_all(&db).unwrap();
        std::fs::write(db.join("db"), &garbage).unwrap();
        std::fs::write(db.join("conf"), &garbage[..100]).unwrap();
    } else {
        std::fs::write(&db, &garbage).unwrap();
    }
    let addr = free_addr();
    let config = write_config(
        dir.path(),
        &state,
        addr,
        &format!("[store]\nbackend = \"{backend}\"\n"),
    );
    let mut child = spawn_run(&config, &[]);
    assert!(
        wait_healthy(&mut child, addr, Duration::from_secs(20)),
        "{}",
        stderr_of(&mut child)
    );
    let (_, metrics) = http_get(addr, "/metrics").unwrap();
    assert!(
        metrics.contains("edge_fault{fault=\"store_corrupt\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("edge_store_quarantined_total 1"),
        "{metrics}"
    );
    signal(&child, libc::SIGTERM);
    let status = wait_exit(&mut child, Duration::from_secs(10)).unwrap();
    let err = stderr_of(&mut child);
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("EMPTY store"), "{err}");
    let aside: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(&format!("{file}.corrupt-")))
        .collect();
    assert_eq!(
        aside.len(),
        1,
        "damaged database kept aside once: {aside:?}"
    );

    // The next start finds a good database and raises no fault.
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
    signal(&child, libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut child, Duration::from_secs(10))
            .unwrap()
            .code(),
        Some(0)
    );
}

#[test]
fn corrupt_redb_database_starts_empty_with_fault() {
    corrupt_database_starts_empty_with_fault("redb", "store.redb");
}

#[cfg(feature = "store-sled")]
#[test]
fn corrupt_sled_database_starts_empty_with_fault() {
    corrupt_database_starts_empty_with_fault("sled", "store.sled");
}

#[test]
fn notifies_systemd_ready_watchdog_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let addr = free_addr();
    let config = write_config(dir.path(), &dir.path().join("state"), addr, "");
    let mut child = spawn_run(
        &config,
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let n = socket.recv(&mut buf).expect("a notification");
        let msg = String::from_utf8_lossy(&buf[..n]).to_string();
        seen.push(msg);
        let watchdogs = seen.iter().filter(|m| m.contains("WATCHDOG=1")).count();
        if watchdogs >= 3 {
            break;
        }
    }
    let all = seen.join("\n");
    assert!(all.contains("READY=1"), "{all}");
    assert!(all.contains("STATUS=running: http"), "{all}");
    assert!(
        seen.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 3,
        "{all}"
    );
    signal(&child, libc::SIGTERM);
    let n = socket.recv(&mut buf).expect("stopping notification");
    let stopping = String::from_utf8_lossy(&buf[..n]).to_string();
    let mut rest = stopping.clone();
    // Watchdog pings may still be in flight; read until STOPPING arrives.
    while !rest.contains("STOPPING=1") {
        let n = socket.recv(&mut buf).expect("stopping notification");
        rest = String::from_utf8_lossy(&buf[..n]).to_string();
    }
    assert_eq!(
        wait_exit(&mut child, Duration::from_secs(10))
            .unwrap()
            .code(),
        Some(0)
    );
}

#[test]
fn journald_lines_carry_syslog_priorities() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let config = write_config(dir.path(), &dir.path().join("state"), addr, "");
    let mut child = spawn_run(&config, &[("JOURNAL_STREAM", "8:12345")]);
    assert!(wait_healthy(&mut child, addr, Duration::from_secs(20)));
    signal(&child, libc::SIGTERM);
    wait_exit(&mut child, Duration::from_secs(10)).unwrap();
    let err = stderr_of(&mut child);
    assert!(
        err.lines().any(|l| l.starts_with("<6>edge_runtime::app: ")),
        "{err}"
    );
}
