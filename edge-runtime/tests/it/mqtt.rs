//! Headquarters link reliability against a real mosquitto: broker down at start, broker
//! restarts, a frozen broker, and the daemon killed with SIGKILL mid-stream. Every message the
//! outbox accepted must reach the consumer; duplicates are allowed, losses are not.

use crate::broker;
use crate::feeder;

use broker::{Broker, Consumer};
use feeder::{assert_all_delivered, Feeder};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

fn feeder_config(dir: &Path, port: u16, keep_alive: u64) -> std::path::PathBuf {
    feeder_config_with(dir, port, keep_alive, "")
}

fn feeder_config_with(
    dir: &Path,
    port: u16,
    keep_alive: u64,
    extra_mqtt: &str,
) -> std::path::PathBuf {
    let path = dir.join("feeder.toml");
    std::fs::write(
        &path,
        format!(
            "[identity]\nstore_id = \"store-t\"\ndevice_id = \"dev-t\"\n\
             [paths]\nstate_dir = \"{}\"\n\
             [mqtt]\nhost = \"127.0.0.1\"\nport = {port}\nkeep_alive_secs = {keep_alive}\n\
             reconnect_min_ms = 50\nreconnect_max_secs = 1\n{extra_mqtt}",
            dir.join("state").display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn broker_down_at_start_then_everything_buffered_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path());
    let consumer = Consumer::start(broker.port, "hq-down-at-start");
    broker.stop();

    let config = feeder_config(dir.path(), broker.port, 30);
    let mut feeder = Feeder::start(&config, 0, 300, 0);
    assert!(
        feeder.until(Duration::from_secs(60), |f| f.accepted.len() == 300),
        "feeder accepts while the broker is down"
    );
    assert!(!feeder.drained);

    broker.restart();
    assert!(
        feeder.until(Duration::from_secs(60), |f| f.drained),
        "outbox drained once the broker is back"
    );
    let accepted = feeder.stop();
    assert_all_delivered("broker down at start", &consumer, &accepted);
    let status = consumer.payloads("status");
    assert!(
        status.iter().any(|v| v == "online"),
        "status topic says online: {status:?}"
    );
}

#[test]
fn broker_restarted_20_times_mid_stream_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path());
    let consumer = Consumer::start(broker.port, "hq-restarts");
    let config = feeder_config(dir.path(), broker.port, 30);
    let mut feeder = Feeder::start(&config, 0, 2000, 2);
    for _ in 0..20 {
        feeder.until(Duration::from_millis(150), |_| false);
        broker.restart();
    }
    assert!(
        feeder.until(Duration::from_secs(90), |f| f.drained),
        "drained after the restarts"
    );
    let accepted = feeder.stop();
    assert_eq!(accepted.len(), 2000);
    assert_all_delivered("20 broker restarts", &consumer, &accepted);
}

#[test]
fn frozen_broker_beyond_keep_alive_is_detected_and_survived() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let consumer = Consumer::start(broker.port, "hq-frozen");
    let config = feeder_config(dir.path(), broker.port, 5);
    let mut feeder = Feeder::start(&config, 0, 400, 20);
    feeder.until(Duration::from_secs(1), |_| false);
    broker.freeze(true);
    // Longer than 1.5 x keep-alive: the link must notice the dead connection by itself.
    feeder.until(Duration::from_secs(10), |_| false);
    broker.freeze(false);
    assert!(
        feeder.until(Duration::from_secs(90), |f| f.drained),
        "drained after the freeze"
    );
    let accepted = feeder.stop();
    assert_eq!(accepted.len(), 400);
    assert_all_delivered("frozen broker", &consumer, &accepted);
}

#[test]
fn sigkill_100_times_mid_stream_loses_no_accepted_message() {
    let kills: usize = std::env::var("EDGE_RUNTIME_MQTT_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let consumer = Consumer::start(broker.port, "hq-kill9");
    let config = feeder_config(dir.path(), broker.port, 30);
    let mut accepted = BTreeSet::new();
    let mut next = 0u64;
    let mut rng = 0x9e3779b97f4a7c15u64 ^ u64::from(std::process::id());
    for _ in 0..kills {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut feeder = Feeder::start(&config, next, 1000, 1);
        // Mid-stream: once it has accepted a first message (start-up takes long under qemu or
        // on a busy machine), then at a random point of the next 200 ms.
        feeder.until(Duration::from_secs(30), |f| !f.accepted.is_empty());
        feeder.until(Duration::from_millis(rng % 200), |_| false);
        let got = feeder.kill();
        if let Some(max) = got.iter().max() {
            next = max + 1;
        }
        accepted.extend(got);
    }
    // A last run with nothing new drains whatever the killed ones left behind.
    let mut feeder = Feeder::start(&config, next, 0, 0);
    assert!(
        feeder.until(Duration::from_secs(90), |f| f.drained),
        "final drain"
    );
    feeder.stop();
    println!("{kills} SIGKILLs during the stream");
    assert!(
        accepted.len() > kills,
        "the feeder made progress between kills"
    );
    assert_all_delivered(&format!("SIGKILL x{kills}"), &consumer, &accepted);
}

#[test]
fn broker_credentials_are_used_and_a_wrong_password_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let passwords = dir.path().join("passwd");
    let ok = std::process::Command::new("mosquitto_passwd")
        .args(["-c", "-b"])
        .arg(&passwords)
        .args(["store-t", "s3cret"])
        .status()
        .expect("mosquitto_passwd");
    assert!(ok.success());
    let broker = Broker::start_with(
        dir.path(),
        &format!(
            "allow_anonymous false\npassword_file {}\n",
            passwords.display()
        ),
    );

    let wrong = dir.path().join("wrong-password");
    std::fs::write(&wrong, "guess\n").unwrap();
    let config = feeder_config_with(
        dir.path(),
        broker.port,
        30,
        &format!(
            "username = \"store-t\"\npassword_file = \"{}\"\n",
            wrong.display()
        ),
    );
    let mut feeder = Feeder::start(&config, 0, 20, 0);
    assert!(
        !feeder.until(Duration::from_secs(3), |f| f.drained),
        "a wrong password must not deliver"
    );
    assert_eq!(
        feeder.accepted.len(),
        20,
        "messages are still accepted into the outbox"
    );
    let log = feeder.stderr().join("\n");
    assert!(
        log.contains("check username/password"),
        "unclear refusal: {log}"
    );
    feeder.stop();

    let right = dir.path().join("password");
    std::fs::write(&right, "s3cret\n").unwrap();
    let config = feeder_config_with(
        dir.path(),
        broker.port,
        30,
        &format!(
            "username = \"store-t\"\npassword_file = \"{}\"\n",
            right.display()
        ),
    );
    let mut feeder = Feeder::start(&config, 20, 0, 0);
    assert!(
        feeder.until(Duration::from_secs(30), |f| f.drained),
        "the right password delivers the buffered messages"
    );
    feeder.stop();
}

/// Unmounts the small filesystem of the full-disk test, also when the test fails.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// `<dir>/state` on a tmpfs of `size` (e.g. "3m"), unmounted on drop; None (with the reason
/// printed) where mounting needs a root this test does not have.
fn small_state_dir(dir: &Path, size: &str, case: &str) -> Option<(std::path::PathBuf, Mounted)> {
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(&state)
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !mounted {
        eprintln!("skipped: mounting a {size} tmpfs for the {case} case needs root");
        return None;
    }
    Some((state.clone(), Mounted(state)))
}

#[test]
fn full_disk_refuses_new_messages_and_loses_no_accepted_one() {
    let dir = tempfile::tempdir().unwrap();
    let Some((state, _unmount)) = small_state_dir(dir.path(), "3m", "full-disk") else {
        return;
    };
    let mut broker = Broker::start(dir.path());
    let consumer = Consumer::start(broker.port, "hq-full-disk");
    broker.stop();

    // The disk reserve off: this is the case where the disk really fills up.
    let config = feeder_config(dir.path(), broker.port, 30);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}[outbox]\ndisk_reserve_mb = 0\n")).unwrap();
    let mut feeder = Feeder::start(&config, 0, 1_000_000, 0);
    let code = feeder.wait(Duration::from_secs(120));
    assert_eq!(
        code,
        Some(1),
        "the feeder stops with an error once the disk is full"
    );
    let log = feeder.stderr().join("\n");
    assert!(log.contains("No space left on device"), "{log}");
    let accepted = feeder.accepted.clone();
    assert!(
        accepted.len() > 1000,
        "filled the disk with {} messages",
        accepted.len()
    );

    // Once space is available again, everything that was accepted is delivered and the
    // outbox empties: the full disk lost nothing and left a database that opens.
    let grown = std::process::Command::new("mount")
        .args(["-o", "remount,size=16m"])
        .arg(&state)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(grown, "remount with more space");
    broker.restart();
    let mut feeder = Feeder::start(&config, 0, 0, 0);
    assert!(
        feeder.until(Duration::from_secs(60), |f| f.drained),
        "drains once there is space"
    );
    feeder.stop();
    assert_all_delivered("full disk", &consumer, &accepted);
}

#[test]
fn a_full_outbox_drops_health_then_state_and_keeps_every_event() {
    // 3000 messages of ~700 bytes, a third per class, while the broker is down: 2 MiB into a
    // 1 MiB outbox. The events (0.7 MiB) fit; health must go first, then the oldest state.
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path());
    let consumer = Consumer::start(broker.port, "hq-outbox-full");
    broker.stop();
    let config = dir.path().join("feeder.toml");
    std::fs::write(
        &config,
        format!(
            "[identity]\nstore_id = \"store-t\"\ndevice_id = \"dev-t\"\n\
             [paths]\nstate_dir = \"{}\"\n[outbox]\nmax_mb = 1\n\
             [mqtt]\nhost = \"127.0.0.1\"\nport = {}\nreconnect_min_ms = 50\nreconnect_max_secs = 1\n",
            dir.path().join("state").display(),
            broker.port
        ),
    )
    .unwrap();
    let count = 3000u64;
    let mut feeder = Feeder::start_mixed(&config, count, 600);
    assert!(
        feeder.until(
            Duration::from_secs(120),
            |f| (f.accepted.len() + f.refused.len()) as u64 == count
        ),
        "the feeder enqueued everything"
    );
    broker.restart();
    assert!(
        feeder.until(Duration::from_secs(120), |f| f.drained && f.drops.is_some()),
        "the outbox drained once the broker came back"
    );
    let [drop_h, drop_s, drop_c] = feeder.drops.unwrap();
    let accepted = feeder.accepted.clone();
    let class_of = |n: u64| (n % 3) as usize;
    // What reached headquarters, per class. The outbox counts a message as sent when the broker
    // acknowledges it; the broker forwards it to headquarters after that, so wait until every class
    // is complete (delivered + dropped = sent) or 30 s have passed: a message lost on the way never
    // arrives and fails the checks below.
    let sent = [count / 3; 3];
    let end = std::time::Instant::now() + Duration::from_secs(30);
    let mut delivered = [0u64; 3];
    let mut events = BTreeSet::new();
    loop {
        for (suffix, k) in [("health", 0), ("stock/state", 1), ("stock/events", 2)] {
            let r = consumer.received(suffix);
            delivered[k] = r.by_n.len() as u64;
            if k == 2 {
                events = r.by_n.keys().copied().collect();
            }
        }
        let expected_events = accepted.iter().filter(|n| class_of(**n) == 2).count() as u64;
        let complete = delivered[0] + drop_h >= sent[0]
            && delivered[1] + drop_s >= sent[1]
            && delivered[2] >= expected_events;
        if complete || std::time::Instant::now() > end {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!(
        "outbox full: per class (health, state, events) sent {sent:?}, dropped ({drop_h}, {drop_s}, {drop_c}), delivered {delivered:?}"
    );
    feeder.stop();
    // Nothing of the highest class is dropped, and every event arrives.
    assert_eq!(drop_c, 0, "events were dropped");
    let missing: Vec<u64> = (0..count)
        .filter(|n| class_of(*n) == 2 && !events.contains(n))
        .collect();
    assert!(
        missing.is_empty(),
        "events lost: {:?}",
        &missing[..missing.len().min(10)]
    );
    // Health goes first: all of it here, since the state and events alone overflow too.
    assert_eq!(
        drop_h,
        count / 3,
        "every health message was dropped before any state"
    );
    assert!(
        drop_s > 0 && drop_s < count / 3,
        "some, not all, state dropped: {drop_s}"
    );
    // Nothing else is lost: what did not arrive is exactly what the outbox says it dropped.
    assert_eq!(
        delivered[0],
        sent[0] - drop_h,
        "health: delivered + dropped = sent"
    );
    assert_eq!(
        delivered[1],
        sent[1] - drop_s,
        "state: delivered + dropped = sent"
    );
    assert_eq!(delivered[2], sent[2]);
}

#[test]
fn the_disk_reserve_keeps_the_disk_from_filling_and_drops_by_class() {
    let dir = tempfile::tempdir().unwrap();
    let Some((state, _unmount)) = small_state_dir(dir.path(), "12m", "disk-reserve") else {
        return;
    };
    let mut broker = Broker::start(dir.path());
    let consumer = Consumer::start(broker.port, "hq-disk-reserve");
    broker.stop();
    let config = dir.path().join("feeder.toml");
    std::fs::write(
        &config,
        format!(
            "[identity]\nstore_id = \"store-t\"\ndevice_id = \"dev-t\"\n\
             [paths]\nstate_dir = \"{}\"\n[outbox]\nmax_mb = 64\ndisk_reserve_mb = 6\n\
             [mqtt]\nhost = \"127.0.0.1\"\nport = {}\nreconnect_min_ms = 50\nreconnect_max_secs = 1\n",
            state.display(),
            broker.port
        ),
    )
    .unwrap();
    // ~20 MiB offered to a 12 MiB disk that must keep 6 MiB free.
    let count = 24_000u64;
    let mut feeder = Feeder::start_mixed(&config, count, 800);
    assert!(
        feeder.until(
            Duration::from_secs(300),
            |f| (f.accepted.len() + f.refused.len()) as u64 == count
        ),
        "every message was answered (stored or refused), none failed; feeder log: {:?}",
        feeder.stderr().iter().rev().take(5).collect::<Vec<_>>()
    );
    let log = feeder.stderr().join("\n");
    assert!(!log.contains("No space left"), "the disk filled up: {log}");
    assert!(
        log.contains("under the outbox's reserve"),
        "the reserve was reached and said so"
    );
    assert!(
        !feeder.refused.is_empty(),
        "messages were refused at the reserve"
    );
    broker.restart();
    assert!(
        feeder.until(Duration::from_secs(120), |f| f.drained && f.drops.is_some()),
        "drains once the broker is back"
    );
    let [drop_h, drop_s, drop_c] = feeder.drops.unwrap();
    let refused = feeder.refused.len();
    feeder.stop();
    // Nothing is lost beyond what the outbox counted as dropped: per class, delivered +
    // dropped = offered. The full policy drops the oldest first, so what arrives of a class is
    // its newest messages.
    let offered = count / 3;
    let drops = [drop_h, drop_s, drop_c];
    let end = std::time::Instant::now() + Duration::from_secs(30);
    let delivered = loop {
        let d: Vec<u64> = ["health", "stock/state", "stock/events"]
            .iter()
            .map(|t| consumer.received(t).by_n.len() as u64)
            .collect();
        if (0..3).all(|k| d[k] + drops[k] >= offered) || std::time::Instant::now() > end {
            break d;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    println!(
        "disk reserve: offered {count} ({offered} per class), refused on arrival {refused}, dropped per class {drops:?}, delivered per class {delivered:?}"
    );
    for k in 0..3 {
        assert_eq!(
            delivered[k] + drops[k],
            offered,
            "class {k}: delivered + dropped = offered"
        );
    }
    // Health and state went before any event.
    if drop_c > 0 {
        assert_eq!(
            (drop_h, drop_s),
            (offered, offered),
            "events dropped while lower classes were queued"
        );
    }
    assert!(delivered[2] > 0, "the newest events were kept");
    let events = consumer.received("stock/events");
    let newest = events.by_n.keys().min().copied().unwrap_or(0);
    assert!(
        newest >= count - 3 * delivered[2],
        "what arrived is the newest events (oldest kept: {newest})"
    );
}
