//! The real daemon against a real mosquitto: commands from headquarters are answered on
//! `cmd/{kind}/ack`, bad ones change nothing, and health, status and info messages flow.

use crate::common;

use crate::broker;
use crate::schemas;

use broker::{Broker, Consumer};
use common::*;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

const PREFIX: &str = "retail/v1/store-c/dev-c/";

fn publish(port: u16, topic: &str, payload: &str, retained: bool) {
    let mut cmd = Command::new("mosquitto_pub");
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q", "1"])
        .args(["-t", &format!("{PREFIX}{topic}"), "-m", payload]);
    if retained {
        cmd.arg("-r");
    }
    assert!(cmd.status().expect("mosquitto_pub").success());
}

fn wait_for(consumer: &Consumer, topic: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = consumer.payloads(topic).into_iter().find(|v| pred(v)) {
            return v;
        }
        assert!(Instant::now() < end, "no message on {topic} matched");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ack_for(consumer: &Consumer, kind: &str, id: &str) -> Value {
    wait_for(consumer, &format!("cmd/{kind}/ack"), |v| v["id"] == id)
}

#[test]
fn commands_are_answered_and_bad_ones_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let consumer = Consumer::start(broker.port, "hq-commands");
    let state = dir.path().join("state");
    let addr = free_addr();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[identity]\nstore_id = \"store-c\"\ndevice_id = \"dev-c\"\n[paths]\nstate_dir = \"{}\"\n\
             [http]\nbind = \"{addr}\"\n[mqtt]\nhost = \"127.0.0.1\"\nport = {}\nhealth_interval_secs = 1\n\
             max_command_bytes = 2048\nreconnect_min_ms = 50\nreconnect_max_secs = 1\n",
            state.display(),
            broker.port
        ),
    )
    .unwrap();
    let product = r#"{"sku":"A1","name":"Oat milk","price":1.99,"currency":"EUR"}"#;
    // A stale retained command waits on the broker before the daemon first subscribes.
    publish(
        broker.port,
        "cmd/catalog",
        &format!(
            r#"{{"schema":"cmd.catalog@1","id":"r1","body":{{"version":"stale","products":[{product}]}}}}"#
        ),
        true,
    );
    let mut daemon = spawn_run(&config, &[]);
    assert!(
        wait_healthy(&mut daemon, addr, Duration::from_secs(20)),
        "{}",
        stderr_of(&mut daemon)
    );
    wait_for(&consumer, "status", |v| v == "online");
    let info = wait_for(&consumer, "info", |v| v["schema"] == "info@1");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    let health = wait_for(&consumer, "health", |v| v["schema"] == "health@1");
    assert!(health["outbox"]["critical"]["queued"].is_u64(), "{health}");

    let catalog_file = state.join("catalog.json");
    let a = ack_for(&consumer, "catalog", "r1");
    assert_eq!(a["status"], "rejected");
    assert!(a["reason"].as_str().unwrap().contains("retained"), "{a}");

    publish(broker.port, "cmd/catalog", "{not json", false);
    let a = wait_for(&consumer, "cmd/catalog/ack", |v| {
        v["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("malformed JSON"))
    });
    assert_eq!(a["status"], "rejected");

    publish(
        broker.port,
        "cmd/firmware",
        r#"{"schema":"cmd.firmware@1","id":"u1","body":{}}"#,
        false,
    );
    let a = ack_for(&consumer, "firmware", "u1");
    assert!(
        a["reason"]
            .as_str()
            .unwrap()
            .contains("unknown command kind"),
        "{a}"
    );

    publish(
        broker.port,
        "cmd/catalog",
        r#"{"schema":"cmd.catalog@9","id":"v9","body":{}}"#,
        false,
    );
    let a = ack_for(&consumer, "catalog", "v9");
    assert!(
        a["reason"].as_str().unwrap().contains("unsupported schema"),
        "{a}"
    );

    let big = format!(
        r#"{{"schema":"cmd.catalog@1","id":"big","body":"{}"}}"#,
        "x".repeat(3000)
    );
    publish(broker.port, "cmd/catalog", &big, false);
    let a = ack_for(&consumer, "catalog", "big");
    assert!(
        a["reason"].as_str().unwrap().contains("exceeds the limit"),
        "{a}"
    );

    publish(
        broker.port,
        "cmd/catalog",
        r#"{"schema":"cmd.catalog@1","id":"x1","body":{"version":"x","products":[],"colour":"red"}}"#,
        false,
    );
    let a = ack_for(&consumer, "catalog", "x1");
    assert!(
        a["reason"]
            .as_str()
            .unwrap()
            .contains("unknown field `colour`"),
        "{a}"
    );
    assert!(
        !catalog_file.exists(),
        "a rejected command wrote the catalog"
    );

    publish(
        broker.port,
        "cmd/catalog",
        &format!(
            r#"{{"schema":"cmd.catalog@1","id":"ok1","body":{{"version":"2026-11-23","products":[{product}]}}}}"#
        ),
        false,
    );
    let a = ack_for(&consumer, "catalog", "ok1");
    assert_eq!(a["status"], "accepted", "{a}");
    let stored: Value = serde_json::from_slice(&std::fs::read(&catalog_file).unwrap()).unwrap();
    assert_eq!(stored["products"][0]["sku"], "A1");

    // Planogram updates: checked against the stored catalog (only SKU A1), stored atomically.
    let planogram = |sku: &str, capacity: u32| {
        format!(
            "version = \"p1\"\n[[cameras]]\nid = \"cam\"\nwidth = 640\nheight = 360\n\
             [[cameras.slots]]\nid = \"S1\"\nsku = \"{sku}\"\nrect = [10, 10, 200, 150]\n\
             facings = 2\ncapacity = {capacity}\n"
        )
    };
    let planogram_cmd = |id: &str, toml: &str| serde_json::json!({"schema": "cmd.planogram@1", "id": id, "body": {"toml": toml}});
    let planogram_file = state.join("planogram.toml");
    let bad = planogram_cmd("p-bad", &planogram("NOT-IN-CATALOG", 0));
    schemas::assert_valid("cmd.planogram@1", &bad);
    publish(broker.port, "cmd/planogram", &bad.to_string(), false);
    let a = ack_for(&consumer, "planogram", "p-bad");
    assert_eq!(a["status"], "rejected", "{a}");
    let reason = a["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("NOT-IN-CATALOG") && reason.contains("capacity"),
        "{reason}"
    );
    assert!(!planogram_file.exists(), "a rejected planogram was written");
    let good = planogram_cmd("p-ok", &planogram("A1", 6));
    publish(broker.port, "cmd/planogram", &good.to_string(), false);
    let a = ack_for(&consumer, "planogram", "p-ok");
    assert_eq!(a["status"], "accepted", "{a}");
    assert_eq!(
        std::fs::read_to_string(&planogram_file).unwrap(),
        planogram("A1", 6)
    );

    // Config changes: a safe subset only, validated with the file's values, stored in the
    // state directory.
    let config_cmd = |id: &str, body: Value| {
        serde_json::json!({"schema": "cmd.config@1", "id": id, "body": body}).to_string()
    };
    let override_file = state.join("config-override.json");
    for (id, body, words) in [
        (
            "c-host",
            serde_json::json!({"mqtt": {"host": "elsewhere"}}),
            "unknown field `host`",
        ),
        (
            "c-zero",
            serde_json::json!({"mqtt": {"inflight": 0}}),
            "inflight",
        ),
    ] {
        publish(broker.port, "cmd/config", &config_cmd(id, body), false);
        let a = ack_for(&consumer, "config", id);
        assert_eq!(a["status"], "rejected", "{a}");
        assert!(
            a["reason"].as_str().unwrap_or_default().contains(words),
            "{a}"
        );
    }
    assert!(
        !override_file.exists(),
        "a rejected config change was stored"
    );
    publish(
        broker.port,
        "cmd/config",
        &config_cmd(
            "c-ok",
            serde_json::json!({"logging": {"level": "debug"}, "outbox": {"max_mb": 32}}),
        ),
        false,
    );
    let sent: Value = serde_json::from_str(&config_cmd(
        "c-ok",
        serde_json::json!({"logging": {"level": "debug"}, "outbox": {"max_mb": 32}}),
    ))
    .unwrap();
    schemas::assert_valid("cmd.config@1", &sent);
    let a = ack_for(&consumer, "config", "c-ok");
    assert_eq!(a["status"], "accepted", "{a}");
    let reason = a["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("applied now: logging.level") && reason.contains("outbox.max_mb"),
        "{reason}"
    );
    let stored: Value = serde_json::from_slice(&std::fs::read(&override_file).unwrap()).unwrap();
    assert_eq!(stored["outbox"]["max_mb"], 32);

    // Every published payload matches its schema in schemas/, and the daemon is still healthy.
    for v in consumer.payloads("/ack") {
        assert_eq!(v["device"], "dev-c");
        schemas::assert_valid("cmd.ack@1", &v);
    }
    for v in consumer.payloads("health") {
        schemas::assert_valid("health@1", &v);
    }
    schemas::assert_valid("info@1", &info);
    let sent: Value = serde_json::from_str(&format!(
        r#"{{"schema":"cmd.catalog@1","id":"ok1","body":{{"version":"2026-11-23","products":[{product}]}}}}"#
    ))
    .unwrap();
    schemas::assert_valid("cmd.catalog@1", &sent);
    let wrong: Value = serde_json::from_str(r#"{"schema":"cmd.catalog@1","id":"x1","body":{"version":"x","products":[],"colour":"red"}}"#).unwrap();
    assert!(
        !schemas::is_valid("cmd.catalog@1", &wrong),
        "the schema must refuse unknown fields too"
    );
    let mut bad_health = health.clone();
    bad_health["seq"] = Value::from(-1);
    assert!(
        !schemas::is_valid("health@1", &bad_health),
        "the envelope part is enforced"
    );
    assert_eq!(http_get(addr, "/healthz").unwrap().0, 200);
    signal(&daemon, libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut daemon, Duration::from_secs(10))
            .unwrap()
            .code(),
        Some(0)
    );
    wait_for(&consumer, "status", |v| v == "offline");

    // After a restart the retained command is delivered again and refused again.
    let mut daemon = spawn_run(&config, &[]);
    assert!(
        wait_healthy(&mut daemon, addr, Duration::from_secs(20)),
        "{}",
        stderr_of(&mut daemon)
    );
    let end = Instant::now() + Duration::from_secs(20);
    while consumer
        .payloads("cmd/catalog/ack")
        .iter()
        .filter(|v| v["id"] == "r1")
        .count()
        < 2
    {
        assert!(
            Instant::now() < end,
            "retained command not answered after restart"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let stored: Value = serde_json::from_slice(&std::fs::read(&catalog_file).unwrap()).unwrap();
    assert_eq!(
        stored["version"], "2026-11-23",
        "the stale command was not applied"
    );
    signal(&daemon, libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut daemon, Duration::from_secs(10))
            .unwrap()
            .code(),
        Some(0)
    );
}
