//! The README's demo command: starts on built-in defaults with an embedded broker, serves
//! health and metrics, sends messages a consumer can watch, and stops cleanly on Ctrl-C.

use crate::common;

use crate::broker;

use common::*;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A running demo: its process, its log (stderr) and what it announced on stdout.
struct Demo {
    child: std::process::Child,
    log: std::sync::Arc<std::sync::Mutex<String>>,
    http: SocketAddr,
    mqtt_port: u16,
    state: std::path::PathBuf,
}

fn start_demo(extra: &[&str]) -> Demo {
    let mut child = command()
        .args(["demo", "--http", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start demo");
    // Drain stderr all along: a full pipe would block the demo's logging.
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = log.clone();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut l = sink.lock().unwrap();
            l.push_str(&line);
            l.push('\n');
        }
    });
    // Read stdout on a thread to its end, so the demo never writes into a closed pipe.
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut http, mut mqtt_port, mut state) = (None, None, None);
    let start = Instant::now();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
        if let Some(rest) = line.trim().strip_prefix("metrics:") {
            let url = rest
                .trim()
                .trim_start_matches("http://")
                .trim_end_matches("/metrics");
            http = url.parse::<SocketAddr>().ok();
        }
        if let Some(idx) = line.find(" -p ") {
            mqtt_port = line[idx + 4..]
                .split_whitespace()
                .next()
                .and_then(|p| p.parse::<u16>().ok());
        }
        if let Some(rest) = line.strip_prefix("edge-runtime demo: built-in config, state in ") {
            state = Some(std::path::PathBuf::from(rest.trim()));
        }
        if http.is_some() && mqtt_port.is_some() && state.is_some() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "demo did not announce itself"
        );
    }
    Demo {
        child,
        log,
        http: http.expect("metrics URL printed"),
        mqtt_port: mqtt_port.expect("broker port printed"),
        state: state.expect("state dir printed"),
    }
}

/// Polls `/api/stock` until `ok` holds for it (panics after `secs`).
fn wait_stock(
    demo: &Demo,
    secs: u64,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some((200, body)) = http_get(demo.http, "/api/stock") {
            if let Ok(view) = serde_json::from_str::<serde_json::Value>(&body) {
                if ok(&view) {
                    return view;
                }
            }
        }
        assert!(
            Instant::now() < end,
            "/api/stock never reached the expected state; demo log:\n{}",
            demo.log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn demo_serves_http_and_streams_to_its_embedded_broker() {
    // 600x: the simulated store sells, runs low and restocks within the test's minute.
    let demo = start_demo(&["--speed", "600"]);
    let Demo {
        mut child,
        log,
        http,
        mqtt_port,
        state,
    } = demo;
    let port = mqtt_port;
    assert_eq!(http_get(http, "/readyz").map(|r| r.0), Some(200));

    let consumer = broker::Consumer::start(port, "demo-watcher");
    // Generous: under qemu-user both the demo and the consumer are emulated.
    let end = Instant::now() + Duration::from_secs(60);
    while consumer.payloads("health").is_empty() {
        assert!(
            Instant::now() < end,
            "no health message reached the embedded broker; demo log:\n{}",
            log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let health = &consumer.payloads("health")[0];
    assert_eq!(health["store"], "demo-store");

    // The simulated shelf: live stock over HTTP, events and snapshots over MQTT, all valid.
    let end = Instant::now() + Duration::from_secs(120);
    loop {
        let events = consumer.payloads("stock/events");
        let states = consumer.payloads("stock/state");
        if !events.is_empty() && !states.is_empty() {
            for e in &events {
                crate::schemas::assert_valid("stock.event@1", e);
            }
            for s in &states {
                crate::schemas::assert_valid("stock.state@1", s);
            }
            let skus = states[0]["skus"].as_array().expect("skus");
            assert_eq!(
                skus.len(),
                24,
                "one entry per product of the demo planogram"
            );
            break;
        }
        assert!(
            Instant::now() < end,
            "no stock events and snapshots after 120 s ({} events, {} snapshots); demo log:\n{}",
            events.len(),
            states.len(),
            log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The health message carries the shelf summary once the stage runs.
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let latest = consumer
            .payloads("health")
            .last()
            .cloned()
            .unwrap_or_default();
        if latest["stock"]["slots"] == 24 {
            crate::schemas::assert_valid("health@1", &latest);
            break;
        }
        assert!(
            Instant::now() < end,
            "no health message with the stock summary: {latest}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, body) = http_get(http, "/api/stock").expect("GET /api/stock");
    assert_eq!(code, 200);
    let view: serde_json::Value = serde_json::from_str(&body).expect("stock JSON");
    assert_eq!(
        view["slots"].as_array().map(|s| s.len()),
        Some(24),
        "{view}"
    );
    assert!(
        view["frames"].as_u64().unwrap_or(0) > 0,
        "frames were read: {view}"
    );
    let (_, metrics) = http_get(http, "/metrics").expect("metrics");
    assert!(
        metrics.contains("edge_stock_units{"),
        "per-slot stock in /metrics"
    );

    // The day's sales: seen leaving the shelf and scanned at the simulated checkout, merged.
    let end = Instant::now() + Duration::from_secs(90);
    loop {
        let (code, body) = http_get(http, "/api/sales").expect("GET /api/sales");
        assert_eq!(code, 200, "{body}");
        let sales: serde_json::Value = serde_json::from_str(&body).expect("sales JSON");
        let skus = sales["skus"].as_array().cloned().unwrap_or_default();
        let both = skus
            .iter()
            .filter(|s| s["depletion"].as_u64() > Some(0) && s["scans"].as_u64() > Some(0))
            .count();
        if both > 0 {
            for s in &skus {
                let (d, n) = (
                    s["depletion"].as_u64().unwrap(),
                    s["scans"].as_u64().unwrap(),
                );
                assert_eq!(s["units"].as_u64(), Some(d.max(n)), "{s}");
            }
            break;
        }
        assert!(
            Instant::now() < end,
            "no product with both depletion and scan sales: {sales}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    for bad in ["/api/sales?day=yesterday", "/api/sales?from=2026-01-01"] {
        let (code, body) = http_get(http, bad).expect(bad);
        assert_eq!(code, 400, "{bad}: {body}");
    }
    let snapshot = consumer
        .payloads("stock/state")
        .last()
        .cloned()
        .unwrap_or_default();
    crate::schemas::assert_valid("stock.state@1", &snapshot);
    assert_eq!(
        snapshot["sales"]["skus"].as_array().map(|s| s.len()),
        Some(24),
        "the snapshot carries the day's sales per product: {snapshot}"
    );

    signal(&child, libc::SIGINT);
    let status = wait_exit(&mut child, Duration::from_secs(10)).expect("demo stops on Ctrl-C");
    assert_eq!(status.code(), Some(0), "{}", log.lock().unwrap());
    assert!(!state.exists(), "the temporary state directory is removed");
}

#[test]
fn the_stock_estimates_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap().to_string();
    let mut first = start_demo(&["--state-dir", &state, "--speed", "60"]);
    // Snapshots (and the saved estimates) come every 10 s; wait for frames, then stop.
    wait_stock(&first, 90, |v| v["frames"].as_u64().unwrap_or(0) >= 3);
    signal(&first.child, libc::SIGINT);
    let status = wait_exit(&mut first.child, Duration::from_secs(15)).expect("demo stops");
    assert_eq!(status.code(), Some(0), "{}", first.log.lock().unwrap());

    let mut second = start_demo(&["--state-dir", &state, "--speed", "60"]);
    let end = Instant::now() + Duration::from_secs(60);
    while !second
        .log
        .lock()
        .unwrap()
        .contains("restored the last estimates of 24 slots")
    {
        assert!(
            Instant::now() < end,
            "the second run did not restore the estimates; its log:\n{}",
            second.log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(&second.child, libc::SIGINT);
    let status = wait_exit(&mut second.child, Duration::from_secs(15)).expect("demo stops");
    assert_eq!(status.code(), Some(0), "{}", second.log.lock().unwrap());
}
