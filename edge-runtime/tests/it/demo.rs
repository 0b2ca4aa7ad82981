//! The README's demo command: starts on built-in defaults with an embedded broker, serves
//! health and metrics, sends messages a consumer can watch, and stops cleanly on Ctrl-C.

use crate::common;

use crate::broker;

use common::*;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn demo_serves_http_and_streams_to_its_embedded_broker() {
    let mut child = command()
        // 600x: the simulated store sells, runs low and restocks within the test's minute.
        .args(["demo", "--http", "127.0.0.1:0", "--speed", "600"])
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
    let http = http.expect("metrics URL printed");
    let port = mqtt_port.expect("broker port printed");
    let state = state.expect("state dir printed");
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

    signal(&child, libc::SIGINT);
    let status = wait_exit(&mut child, Duration::from_secs(10)).expect("demo stops on Ctrl-C");
    assert_eq!(status.code(), Some(0), "{}", log.lock().unwrap());
    assert!(!state.exists(), "the temporary state directory is removed");
}
