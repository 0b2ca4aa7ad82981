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
pub(crate) fn model_copy(dir: &Path, name: &str, version: &str) -> PathBuf {
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

/// Headquarters' side of one device: publishes `cmd/model` commands and reads their acks.
pub(crate) struct Hq<'a> {
    pub port: u16,
    pub store: &'a str,
    pub device: &'a str,
    pub consumer: &'a Consumer,
}

/// How long an ack may take: a self-test under qemu on a busy machine can take minutes.
const ACK_WAIT: Duration = Duration::from_secs(300);

impl Hq<'_> {
    fn publish(&self, payload: &str) {
        let topic = format!("retail/v1/{}/{}/cmd/model", self.store, self.device);
        let status = Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q", "1"])
            .args(["-t", &topic, "-s"])
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

    /// The device's ack of command `id`, if it comes within `wait`.
    fn try_ack(&self, id: &str, wait: Duration) -> Option<Value> {
        let end = Instant::now() + wait;
        loop {
            if let Some(v) = self
                .consumer
                .payloads("cmd/model/ack")
                .into_iter()
                .find(|v| v["id"] == id && v["device"] == self.device)
            {
                schemas::assert_valid("cmd.ack@1", &v);
                return Some(v);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The ack of a command the device is subscribed for.
    fn ack(&self, id: &str) -> Value {
        self.try_ack(id, ACK_WAIT)
            .unwrap_or_else(|| panic!("no ack for {id}"))
    }

    /// Sends a `cmd/model` command and waits for its ack; the command must match the schema
    /// exactly when `valid`, and must not otherwise.
    fn send_checked(&self, id: &str, body: Value, valid: bool) -> Value {
        let cmd = json!({"schema": "cmd.model@1", "id": id, "body": body});
        if valid {
            schemas::assert_valid("cmd.model@1", &cmd);
        } else {
            assert!(!schemas::is_valid("cmd.model@1", &cmd), "{cmd}");
        }
        self.publish(&cmd.to_string());
        self.ack(id)
    }

    fn send(&self, id: &str, body: Value) -> Value {
        self.send_checked(id, body, true)
    }

    /// Asks for the status as command `id`: the device's models, if it answers within `wait`.
    fn status(&self, id: &str, wait: Duration) -> Option<Value> {
        let cmd = json!({"schema": "cmd.model@1", "id": id, "body": {"op": "status"}});
        schemas::assert_valid("cmd.model@1", &cmd);
        self.publish(&cmd.to_string());
        let a = self.try_ack(id, wait)?;
        assert_eq!(a["status"], "accepted", "{a}");
        Some(a["detail"]["models"].clone())
    }

    /// The status of model `name` on the device.
    pub(crate) fn serving(&self, id: &str, name: &str) -> Value {
        self.status(id, ACK_WAIT)
            .unwrap_or_else(|| panic!("no ack for {id}"))[name]
            .clone()
    }

    /// Polls the status until `name` has loaded (or failed to); its status then.
    ///
    /// Also the first command after a start: a command published before the daemon's first
    /// subscription reached the broker is lost (its MQTT session did not exist yet), so a status
    /// left without an ack is asked again.
    pub(crate) fn loaded(&self, tag: &str, name: &str) -> Value {
        let end = Instant::now() + ACK_WAIT;
        for n in 0.. {
            if let Some(models) = self.status(&format!("{tag}-{n}"), Duration::from_secs(5)) {
                if models[name]["state"].is_string() {
                    return models[name].clone();
                }
                std::thread::sleep(Duration::from_millis(300));
            }
            assert!(Instant::now() < end, "{name} never loaded");
        }
        unreachable!()
    }

    /// `edge-runtime model push` of the release in `release`.
    pub(crate) fn push(&self, release: &Path, chunk_kib: &str) -> (bool, String, String) {
        cli(&[
            "model",
            "push",
            release.to_str().unwrap(),
            "--store",
            self.store,
            "--device",
            self.device,
            "--port",
            &self.port.to_string(),
            "--chunk-kib",
            chunk_kib,
            "--timeout",
            "300",
        ])
    }
}

/// `edge-runtime model keygen`: the key file and the public key.
pub(crate) fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(name);
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
    (key, public)
}

/// `edge-runtime model release` of `name` from `manifest` into `out`.
pub(crate) fn release(key: &Path, manifest: &Path, name: &str, out: &Path) {
    let (ok, said, err) = cli(&[
        "model",
        "release",
        name,
        "--key",
        key.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
    ]);
    assert!(ok && said.contains("signed"), "{said}{err}");
}

#[test]
fn a_signed_model_is_pushed_installed_kept_and_rolled_back_and_bad_updates_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let consumer = Consumer::start(broker.port, "hq-models");
    let port = broker.port;
    let hq = Hq {
        port,
        store: "store-m",
        device: "dev-m",
        consumer: &consumer,
    };

    // Headquarters: a key pair, and releases of the forecaster as 9.0.0 (good) and 9.1.0 (its
    // test vector expects other outputs, so it cannot pass the device's self-test).
    let (key, public) = keygen(dir.path(), "hq.key");
    let make = |version: &str, spoil: bool| {
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
        release(&key, &manifest, "forecaster", &out);
        out
    };
    let good = make("9.0.0", false);
    let spoiled = make("9.1.0", true);

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
    let s = hq.loaded("s0", "forecaster");
    assert_eq!(s["state"], "ready", "{s}");
    let packaged = s["version"].as_str().unwrap().to_string();

    // Bad offers: another key, a signature over other text, garbage, a chunk first, a rollback
    // of nothing.
    let text = std::fs::read_to_string(good.join("release.toml")).unwrap();
    let sig = std::fs::read_to_string(good.join("release.sig")).unwrap();
    let (other_key, _) = keygen(dir.path(), "other.key");
    let other = dir.path().join("release-other");
    release(&other_key, &manifest, "forecaster", &other);
    let other_sig = std::fs::read_to_string(other.join("release.sig")).unwrap();
    for (id, body, words) in [
        (
            "b1",
            json!({"op": "offer", "release": text, "signature": other_sig.trim()}),
            "does not match",
        ),
        (
            "b2",
            json!({"op": "offer", "release": text.replace("9.0.0", "9.0.1"), "signature": sig.trim()}),
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
            json!({"op": "chunk", "name": "forecaster", "version": "9.0.0", "path": "onnx/forecaster.int8.onnx", "offset": 0, "data": "AAAA"}),
            "offer first",
        ),
        (
            "b6",
            json!({"op": "rollback", "name": "forecaster"}),
            "nothing to roll back",
        ),
    ] {
        let a = hq.send_checked(id, body, id != "b4");
        assert_eq!(a["status"], "rejected", "{a}");
        assert!(a["reason"].as_str().unwrap().contains(words), "{id}: {a}");
    }
    assert!(!state.join("models/installed").exists());

    // An interrupted transfer: the offer and one chunk arrive, then the push resumes from there.
    let a = hq.send(
        "i1",
        json!({"op": "offer", "release": text, "signature": sig.trim()}),
    );
    assert_eq!(a["status"], "accepted", "{a}");
    let path = a["detail"]["need"][0]["path"].as_str().unwrap().to_string();
    let bytes = std::fs::read(good.join(&path)).unwrap();
    use base64::Engine as _;
    let part = base64::engine::general_purpose::STANDARD.encode(&bytes[..1000]);
    let a = hq.send(
        "i2",
        json!({"op": "chunk", "name": "forecaster", "version": "9.0.0", "path": path, "offset": 0, "data": part}),
    );
    assert_eq!(a["status"], "accepted", "{a}");
    let (ok, said, err) = hq.push(&good, "16");
    assert!(ok, "{said}\n{err}");
    assert!(
        said.contains("forecaster 9.0.0 installed and serving"),
        "{said}"
    );
    assert!(
        err.contains(&format!("{path} @ 1000:")),
        "the push did not resume: {err}"
    );
    let s = hq.serving("s1", "forecaster");
    assert_eq!(
        (s["version"].as_str(), s["source"].as_str()),
        (Some("9.0.0"), Some("headquarters")),
        "{s}"
    );
    let active = std::fs::read_to_string(state.join("models/active.toml")).unwrap();
    assert!(active.contains("version = \"9.0.0\""), "{active}");

    // A release that fails its self-test on the device is discarded; 9.0.0 keeps serving.
    let (ok, said, err) = hq.push(&spoiled, "512");
    assert!(!ok, "{said}");
    assert!(err.contains("failed its self-test"), "{err}");
    assert_eq!(hq.serving("s2", "forecaster")["version"], "9.0.0");
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
    let s = hq.loaded("s3", "forecaster");
    assert_eq!(
        (s["version"].as_str(), s["state"].as_str()),
        (Some("9.0.0"), Some("ready")),
        "{s}"
    );

    // Headquarters rolls it back: the packaged model serves again.
    let a = hq.send("r1", json!({"op": "rollback", "name": "forecaster"}));
    assert_eq!(a["status"], "accepted", "{a}");
    let s = hq.serving("s4", "forecaster");
    assert_eq!(
        (s["version"].as_str(), s["source"].as_str()),
        (Some(packaged.as_str()), Some("packaged")),
        "{s}"
    );

    // Installed again, then damaged on disk while the daemon is stopped: it is rolled back at
    // start instead of stopping the daemon or serving a bad file.
    let (ok, said, err) = hq.push(&good, "512");
    assert!(ok, "{said}\n{err}");
    signal(&daemon, libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut daemon, Duration::from_secs(15))
            .unwrap()
            .code(),
        Some(0)
    );
    let file = state.join("models/installed/forecaster-9.0.0/onnx/forecaster.int8.onnx");
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
    let s = hq.loaded("s5", "forecaster");
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

/// slotnet replaced while the shelf camera streams: the stock stage reads the next frames with
/// the new model, which passes its probation on those real runs.
#[test]
fn a_new_slotnet_takes_over_between_frames_and_passes_its_probation() {
    use crate::live_stock::{
        catalog_json, drop_picture, full_shelf_jpeg, slot, write_live_config, Daemon, PLANOGRAM,
    };
    use edge_runtime::catalog::Catalog;
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let consumer = Consumer::start(broker.port, "hq-slotnet");
    let hq = Hq {
        port: broker.port,
        store: "test-store",
        device: "test-device",
        consumer: &consumer,
    };
    let (key, public) = keygen(dir.path(), "hq.key");
    let manifest = model_copy(&dir.path().join("models-new"), "slotnet", "3.9.0-it");
    let rel = dir.path().join("release");
    release(&key, &manifest, "slotnet", &rel);

    let pictures = dir.path().join("camera");
    std::fs::create_dir(&pictures).unwrap();
    let catalog_doc = catalog_json();
    let catalog = Catalog::from_json(catalog_doc.clone()).unwrap();
    let catalog_path = dir.path().join("catalog.json");
    std::fs::write(&catalog_path, serde_json::to_vec(&catalog_doc).unwrap()).unwrap();
    let planogram_path = dir.path().join("planogram.toml");
    std::fs::write(&planogram_path, PLANOGRAM).unwrap();
    let feeding = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let feeder = {
        let (pictures, feeding) = (pictures.clone(), feeding.clone());
        let good = full_shelf_jpeg(&catalog, 0);
        std::thread::spawn(move || {
            let mut n = 0u64;
            while feeding.load(std::sync::atomic::Ordering::Relaxed) {
                drop_picture(&pictures, &format!("snap-{n:05}.jpg"), &good);
                n += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let http = free_addr();
    let devices = format!(
        "[[cameras]]\nid = \"shelf-cam\"\nsource = \"folder:{}\"\nfps = 10\nframe_timeout_secs = 10\n\
         [mqtt]\nhost = \"127.0.0.1\"\nport = {}\nreconnect_min_ms = 50\nreconnect_max_secs = 1\n\
         [model_updates]\nkeys = [\"{public}\"]\n",
        pictures.display(),
        broker.port
    );
    let config = write_live_config(dir.path(), http, &planogram_path, &catalog_path, &devices);
    let mut daemon = Daemon::start(&config, http);
    let seen = |v: &Value| slot(v, "A3").is_some_and(|s| s["source"] == "camera");
    let before = daemon.wait_stock("the camera read", Duration::from_secs(90), seen);
    // The device answers commands (its subscription is in place) before the push starts.
    assert_eq!(hq.loaded("q", "slotnet")["state"], "ready");
    let (ok, said, err) = hq.push(&rel, "512");
    assert!(ok, "{said}\n{err}\n{}", daemon.log());
    assert!(
        said.contains("slotnet 3.9.0-it installed and serving"),
        "{said}"
    );
    assert_eq!(hq.serving("p0", "slotnet")["state"], "probation");
    // The frames go on with the new model; after its probation runs it is trusted.
    let frames = before["frames"].as_u64().unwrap_or(0);
    // 100 runs, one a frame: seconds natively, minutes under qemu on a busy machine (a CI
    // rehearsal with other jobs running missed a 290 s limit).
    let mut trusted = Value::Null;
    let end = Instant::now() + Duration::from_secs(900);
    for n in 1.. {
        trusted = hq.serving(&format!("p{n}"), "slotnet");
        if trusted["state"] == "ready" || Instant::now() >= end {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        (trusted["state"].as_str(), trusted["version"].as_str()),
        (Some("ready"), Some("3.9.0-it")),
        "{trusted}\n{}",
        daemon.log()
    );
    let after = daemon.wait_stock("more frames", Duration::from_secs(30), |v| {
        v["frames"].as_u64().unwrap_or(0) > frames + 100 && seen(v)
    });
    assert!(slot(&after, "A3").is_some());
    feeding.store(false, std::sync::atomic::Ordering::Relaxed);
    feeder.join().unwrap();
    let log = daemon.stop();
    assert!(
        log.contains("slotnet 3.9.0-it passed its probation"),
        "{log}"
    );
}

/// Headquarters reaches its broker over mutual TLS; the device on the plain listener installs
/// what it pushed. A push without the client certificate is refused by the broker.
#[test]
fn a_push_over_mutual_tls_installs_the_model() {
    use crate::tls::{Ca, TlsBroker, TlsListener};
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "hq-ca");
    let listener = TlsListener {
        ca: ca.cert.clone(),
        server: ca.server("broker"),
        require_certificate: true,
        tls12_only: false,
    };
    let broker = TlsBroker::start(dir.path(), &listener);
    let consumer = Consumer::start(broker.plain_port, "hq-tls");
    let hq = Hq {
        port: broker.plain_port,
        store: "store-t",
        device: "dev-t",
        consumer: &consumer,
    };
    let (key, public) = keygen(dir.path(), "hq.key");
    let manifest = model_copy(&dir.path().join("models-new"), "recommender", "4.0.0-tls");
    let rel = dir.path().join("release");
    release(&key, &manifest, "recommender", &rel);
    let state = dir.path().join("state");
    let addr = free_addr();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[identity]\nstore_id = \"store-t\"\ndevice_id = \"dev-t\"\n\
             [paths]\nstate_dir = \"{}\"\n[http]\nbind = \"{addr}\"\n\
             [mqtt]\nhost = \"127.0.0.1\"\nport = {}\nreconnect_min_ms = 50\nreconnect_max_secs = 1\n\
             [model_updates]\nkeys = [\"{public}\"]\n",
            state.display(),
            broker.plain_port
        ),
    )
    .unwrap();
    let manifest = repo_models().join("manifest.toml");
    let mut daemon = spawn_run(
        &config,
        &[("EDGE_RUNTIME_MODELS", manifest.to_str().unwrap())],
    );
    assert!(
        wait_healthy(&mut daemon, addr, Duration::from_secs(30)),
        "{}",
        stderr_of(&mut daemon)
    );
    hq.loaded("t0", "recommender");
    let client = ca.client("hq", "headquarters");
    let push = |with_cert: bool| {
        let mut args = vec![
            "model".to_string(),
            "push".into(),
            rel.display().to_string(),
            "--store".into(),
            "store-t".into(),
            "--device".into(),
            "dev-t".into(),
            "--port".into(),
            broker.tls_port.to_string(),
            "--ca-file".into(),
            ca.cert.display().to_string(),
            "--timeout".into(),
            // The refused push ends at once (the broker closes the connection); the accepted one
            // waits for a self-test that under qemu on a busy machine can be slow.
            "300".into(),
        ];
        if with_cert {
            args.extend([
                "--client-cert".into(),
                client.cert.display().to_string(),
                "--client-key".into(),
                client.key.display().to_string(),
            ]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(&args)
    };
    let (ok, said, err) = push(false);
    assert!(
        !ok,
        "a push without a client certificate got through: {said}"
    );
    assert!(err.contains("broker connection"), "{err}");
    let (ok, said, err) = push(true);
    assert!(ok, "{said}\n{err}\n{}", broker.log());
    assert!(
        said.contains("recommender 4.0.0-tls installed and serving"),
        "{said}"
    );
    assert_eq!(hq.serving("t1", "recommender")["version"], "4.0.0-tls");
    signal(&daemon, libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut daemon, Duration::from_secs(15))
            .unwrap()
            .code(),
        Some(0)
    );
}
