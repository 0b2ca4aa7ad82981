//! Model updates end to end: headquarters makes a key, packages a signed release and pushes it
//! with the real CLI through a real mosquitto to the real daemon, which stages, self-tests,
//! installs and serves it, keeps it across a restart, rolls it back on request or when it no
//! longer loads, and refuses every bad offer and chunk without changing what serves.

use crate::broker::{Broker, Consumer};
use crate::common::*;
use crate::schemas;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PREFIX: &str = "retail/v1/store-m/dev-m/";

fn repo_models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn cli(args: &[&str]) -> (bool, String, String) {
    let out = command()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run edge-runtime");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// A copy of the repository's `name` model as version `version` (same files), in `dir`.
fn model_copy(dir: &Path, name: &str, version: &str) -> PathBuf {
    let models = repo_models();
    let text = std::fs::read_to_string(models.join("manifest.toml")).unwrap();
    let mut table: toml::Table = toml::from_str(&text).unwrap();
    let list = table["model"].as_array_mut().unwrap();
    list.retain(|m| m["name"].as_str() == Some(name));
    list[0]
        .as_table_mut()
        .unwrap()
        .insert("version".into(), toml::Value::String(version.into()));
    for sub in ["onnx", "vectors", "cards"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for e in std::fs::read_dir(models.join(sub)).unwrap().flatten() {
            let file = e.file_name().to_string_lossy().to_string();
            if file.starts_with(name) {
                std::fs::copy(e.path(), dir.join(sub).join(&file)).unwrap();
            }
        }
    }
    let manifest = dir.join("manifest.toml");
    std::fs::write(&manifest, toml::to_string(&table).unwrap()).unwrap();
    manifest
}

fn publish(port: u16, payload: &str) {
    let status = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q", "1"])
        .args(["-t", &format!("{PREFIX}cmd/model"), "-s"])
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(payload.as_bytes())?;
            child.wait()
        })
        .expect("mosquitto_pub");
    assert!(status.success());
}

fn ack(consumer: &Consumer, id: &str) -> Value {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = consumer
            .payloads("cmd/model/ack")
            .into_iter()
            .find(|v| v["id"] == id)
        {
            schemas::assert_valid("cmd.ack@1", &v);
            return v;
        }
        assert!(Instant::now() < end, "no ack for {id}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends a `cmd/model` command and waits for its ack; the command must match the schema
/// exactly when `valid`, and must not otherwise.
fn send_checked(port: u16, consumer: &Consumer, id: &str, body: Value, valid: bool) -> Value {
    let cmd = json!({"schema": "cmd.model@1", "id": id, "body": body});
    if valid {
        schemas::assert_valid("cmd.model@1", &cmd);
    } else {
        assert!(!schemas::is_valid("cmd.model@1", &cmd), "{cmd}");
    }
    publish(port, &cmd.to_string());
    ack(consumer, id)
}

fn send(port: u16, consumer: &Consumer, id: &str, body: Value) -> Value {
    send_checked(port, consumer, id, body, true)
}

fn serving(port: u16, consumer: &Consumer, id: &str, name: &str) -> Value {
    let a = send(port, consumer, id, json!({"op": "status"}));
    assert_eq!(a["status"], "accepted", "{a}");
    a["detail"]["models"][name].clone()
}

fn push(port: u16, release: &Path, chunk_kib: &str) -> (bool, String, String) {
    cli(&[
        "model",
        "push",
        release.to_str().unwrap(),
        "--store",
        "store-m",
        "--device",
        "dev-m",
        "--port",
        &port.to_string(),
        "--chunk-kib",
        chunk_kib,
        "--timeout",
        "60",
    ])
}

#[test]
fn a_signed_model_is_pushed_installed_kept_and_rolled_back_and_bad_updates_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let consumer = Consumer::start(broker.port, "hq-models");
    let (port, p) = (broker.port, broker.port);

    // Headquarters: a key pair, and releases of the forecaster as 2.0.0 (good) and 2.1.0 (its
    // test vector expects other outputs, so it cannot pass the device's self-test).
    let key = dir.path().join("hq.key");
    let (ok, out, err) = cli(&["model", "keygen", "--out", key.to_str().unwrap()]);
    assert!(ok, "{err}");
    let public = out
        .lines()
        .find_map(|l| {
            l.strip_prefix("keys = [\"")
                .and_then(|l| l.strip_suffix("\"]"))
        })
        .expect("public key line")
        .to_string();
    let release = |version: &str, spoil: bool| {
        let models = dir.path().join(format!("models-{version}"));
        let manifest = model_copy(&models, "forecaster", version);
        if spoil {
            let vector = models.join("vectors/forecaster.json");
            let text = std::fs::read_to_string(&vector).unwrap();
            let mut v: Value = serde_json::from_str(&text).unwrap();
            let first = &mut v["outputs"][0]["data"][0];
            *first = json!(first.as_f64().unwrap() + 5.0);
            std::fs::write(&vector, v.to_string()).unwrap();
        }
        let out = dir.path().join(format!("release-{version}"));
        let (ok, said, err) = cli(&[
            "model",
            "release",
            "forecaster",
            "--key",
            key.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--manifest",
            manifest.to_str().unwrap(),
        ]);
        assert!(ok && said.contains("signed"), "{said}{err}");
        out
    };
    let good = release("2.0.0", false);
    let spoiled = release("2.1.0", true);

    // The device trusts that key.
    let state = dir.path().join("state");
    let addr = free_addr();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[identity]\nstore_id = \"store-m\"\ndevice_id = \"dev-m\"\n\
             [paths]\nstate_dir = \"{}\"\n[http]\nbind = \"{addr}\"\n\
             [mqtt]\nhost = \"127.0.0.1\"\nport = {port}\nhealth_interval_secs = 1\n\
             reconnect_min_ms = 50\nreconnect_max_secs = 1\n\
             [model_updates]\nkeys = [\"{public}\"]\n",
            state.display()
        ),
    )
    .unwrap();
    let manifest = repo_models().join("manifest.toml");
    let env = [("EDGE_RUNTIME_MODELS", manifest.to_str().unwrap())];
    let mut daemon = spawn_run(&config, &env);
    assert!(
        wait_healthy(&mut daemon, addr, Duration::from_secs(30)),
        "{}",
        stderr_of(&mut daemon)
    );
    let packaged = loop {
        let s = serving(
            p,
            &consumer,
            &format!("s0-{}", consumer.payloads("ack").len()),
            "forecaster",
        );
        if s["state"] == "ready" {
            break s["version"].as_str().unwrap().to_string();
        }
        std::thread::sleep(Duration::from_millis(300));
    };

    // Bad offers: no signature match, a signature over other text, garbage, a chunk first.
    let text = std::fs::read_to_string(good.join("release.toml")).unwrap();
    let sig = std::fs::read_to_string(good.join("release.sig")).unwrap();
    let other_key = dir.path().join("other.key");
    assert!(cli(&["model", "keygen", "--out", other_key.to_str().unwrap()]).0);
    let other = dir.path().join("release-other");
    let (ok, _, err) = cli(&[
        "model",
        "release",
        "forecaster",
        "--key",
        other_key.to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let other_sig = std::fs::read_to_string(other.join("release.sig")).unwrap();
    for (id, body, words) in [
        (
            "b1",
            json!({"op": "offer", "release": text, "signature": other_sig.trim()}),
            "does not match",
        ),
        (
            "b2",
            json!({"op": "offer", "release": text.replace("2.0.0", "2.0.1"), "signature": sig.trim()}),
            "does not match",
        ),
        (
            "b3",
            json!({"op": "offer", "release": text, "signature": "AAAA"}),
            "64 bytes",
        ),
        (
            "b4",
            json!({"op": "format", "disk": true}),
            "not a model command",
        ),
        (
            "b5",
            json!({"op": "chunk", "name": "forecaster", "version": "2.0.0", "path": "onnx/forecaster.int8.onnx", "offset": 0, "data": "AAAA"}),
            "offer first",
        ),
        (
            "b6",
            json!({"op": "rollback", "name": "forecaster"}),
            "nothing to roll back",
        ),
    ] {
        let a = send_checked(p, &consumer, id, body, id != "b4");
        assert_eq!(a["status"], "rejected", "{a}");
        assert!(a["reason"].as_str().unwrap().contains(words), "{id}: {a}");
    }
    assert!(!state.join("models/installed").exists());

    // An interrupted transfer: the offer and one chunk arrive, then the push resumes from there.
    let a = send(
        p,
        &consumer,
        "i1",
        json!({"op": "offer", "release": text, "signature": sig.trim()}),
    );
    assert_eq!(a["status"], "accepted", "{a}");
    let first = &a["detail"]["need"][0];
    let path = first["path"].as_str().unwrap().to_string();
    let bytes = std::fs::read(good.join(&path)).unwrap();
    use base64::Engine as _;
    let part = base64::engine::general_purpose::STANDARD.encode(&bytes[..1000]);
    let a = send(
        p,
        &consumer,
        "i2",
        json!({"op": "chunk", "name": "forecaster", "version": "2.0.0", "path": path, "offset": 0, "data": part}),
    );
    assert_eq!(a["status"], "accepted", "{a}");
    let (ok, said, err) = push(port, &good, "16");
    assert!(ok, "{said}\n{err}");
    assert!(
        said.contains("forecaster 2.0.0 installed and serving"),
        "{said}"
    );
    assert!(
        err.contains(&format!("{path} @ 1000:")),
        "the push did not resume: {err}"
    );
    let s = serving(p, &consumer, "s1", "forecaster");
    assert_eq!(
        (s["version"].as_str(), s["source"].as_str()),
        (Some("2.0.0"), Some("headquarters")),
        "{s}"
    );
    let active = std::fs::read_to_string(state.join("models/active.toml")).unwrap();
    assert!(active.contains("version = \"2.0.0\""), "{active}");

    // A release that fails its self-test on the device is discarded; 2.0.0 keeps serving.
    let (ok, said, err) = push(port, &spoiled, "512");
    assert!(!ok, "{said}");
    assert!(err.contains("failed its self-test"), "{err}");
    assert_eq!(
        serving(p, &consumer, "s2", "forecaster")["version"],
        "2.0.0"
    );
    assert!(!state.join("models/staged/forecaster").exists());

    // A restart keeps the update.
    signal(&daemon, libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut daemon, Duration::from_secs(15))
            .unwrap()
            .code(),
        Some(0)
    );
    let mut daemon = spawn_run(&config, &env);
    assert!(
        wait_healthy(&mut daemon, addr, Duration::from_secs(30)),
        "{}",
        stderr_of(&mut daemon)
    );
    let s = loop {
        let s = serving(
            p,
            &consumer,
            &format!("s3-{}", consumer.payloads("ack").len()),
            "forecaster",
        );
        if s["state"] == "ready" {
            break s;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(s["version"], "2.0.0", "{s}");

    // Headquarters rolls it back: the packaged model serves again.
    let a = send(
        p,
        &consumer,
        "r1",
        json!({"op": "rollback", "name": "forecaster"}),
    );
    assert_eq!(a["status"], "accepted", "{a}");
    let s = serving(p, &consumer, "s4", "forecaster");
    assert_eq!(
        (s["version"].as_str(), s["source"].as_str()),
        (Some(packaged.as_str()), Some("packaged")),
        "{s}"
    );

    // Installed again, then damaged on disk while the daemon is stopped: it is rolled back at
    // start instead of stopping the daemon or serving a bad file.
    let (ok, said, err) = push(port, &good, "512");
    assert!(ok, "{said}\n{err}");
    signal(&daemon, libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut daemon, Duration::from_secs(15))
            .unwrap()
            .code(),
        Some(0)
    );
    let file = state.join("models/installed/forecaster-2.0.0/onnx/forecaster.int8.onnx");
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&file, bytes).unwrap();
    let mut daemon = spawn_run(&config, &env);
    assert!(
        wait_healthy(&mut daemon, addr, Duration::from_secs(30)),
        "{}",
        stderr_of(&mut daemon)
    );
    let s = loop {
        let s = serving(
            p,
            &consumer,
            &format!("s5-{}", consumer.payloads("ack").len()),
            "forecaster",
        );
        if s["state"] == "ready" {
            break s;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(s["version"].as_str(), Some(packaged.as_str()), "{s}");
    assert!(
        s["rolled_back"]
            .as_str()
            .unwrap_or_default()
            .contains("sha256"),
        "{s}"
    );
    let (_, metrics) = http_get(addr, "/metrics").unwrap();
    assert!(metrics.contains("model_rolled_back\"} 1"), "{metrics}");
    signal(&daemon, libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut daemon, Duration::from_secs(15))
            .unwrap()
            .code(),
        Some(0)
    );
}
