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
        .args(["demo", "--http", "127.0.0.1:0"])
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

    signal(&child, libc::SIGINT);
    let status = wait_exit(&mut child, Duration::from_secs(10)).expect("demo stops on Ctrl-C");
    assert_eq!(status.code(), Some(0), "{}", log.lock().unwrap());
    assert!(!state.exists(), "the temporary state directory is removed");
}
