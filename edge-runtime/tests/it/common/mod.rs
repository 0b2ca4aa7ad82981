//! Helpers for tests that start the real `edge-runtime` binary.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_edge-runtime"))
}

/// A command for the binary; under cross tests `EDGE_RUNTIME_TEST_RUNNER` (e.g.
/// "qemu-aarch64 -L /usr/aarch64-linux-gnu") runs it, since the kernel cannot exec ARM code.
pub fn command() -> Command {
    match std::env::var("EDGE_RUNTIME_TEST_RUNNER") {
        Ok(runner) if !runner.trim().is_empty() => {
            let mut parts = runner.split_whitespace();
            let mut cmd = Command::new(parts.next().unwrap_or("env"));
            cmd.args(parts).arg(exe());
            cmd
        }
        _ => Command::new(exe()),
    }
}

/// A loopback address with a port that was free a moment ago.
pub fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

/// Writes a valid config with this state dir and HTTP address, plus `extra` TOML.
pub fn write_config(dir: &Path, state_dir: &Path, http: SocketAddr, extra: &str) -> PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        "[identity]\nstore_id = \"test-store\"\ndevice_id = \"test-device\"\n\
         [paths]\nstate_dir = \"{}\"\n[http]\nbind = \"{http}\"\n{extra}\n",
        state_dir.display()
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// A minimal HTTP/1.0 GET: (status, body), or None when nothing answers.
pub fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let status = raw.split_whitespace().nth(1)?.parse().ok()?;
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// Polls until `/healthz` answers 200 or the child exits or `timeout` passes.
pub fn wait_healthy(child: &mut Child, addr: SocketAddr, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Some((200, _)) = http_get(addr, "/healthz") {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Waits for the child to exit, up to `timeout`.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Sends a signal to a child.
pub fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(child.id() as libc::pid_t, sig);
    }
}

/// Starts `edge-runtime run --config PATH` with stderr captured.
pub fn spawn_run(config: &Path, envs: &[(&str, &str)]) -> Child {
    let mut cmd = command();
    cmd.arg("run")
        .arg("--config")
        .arg(config)
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("JOURNAL_STREAM")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn edge-runtime")
}

/// Everything the child wrote to stderr (after it exited).
pub fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut text);
    }
    text
}
