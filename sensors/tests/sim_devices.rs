//! Simulated devices through the real serial path: a simulated load-cell board and a polled
//! SICS scale write into pseudo-terminals, the real `SerialLineReader` reads them, and what it
//! delivers parses back to the store simulator's values.
//!
//! qemu-user cannot emulate the serial ioctls, so under `EDGE_RUNTIME_UNDER_QEMU=1` each test
//! prints why and returns early (as tests/serial.rs does).

use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use edge_sensors::scale::{parse_channel_grams, ScaleProtocol};
use edge_sensors::sim::devices::{
    spawn_pty_device, ScaleFormat, ScaleLineKind, SimScale, SimScaleParams,
};
use edge_sensors::sim::store::{demo_layout, ScenarioParams, StoreSim};
use edge_sensors::sim::{PackLook, PackShape};
use edge_sensors::{
    HealthState, ScaleMessage, SerialLineReader, SerialPoll, SerialSettings, Stability, SICS_POLL,
};

const WAIT: Duration = Duration::from_secs(5);

fn skipped_under_qemu() -> bool {
    if std::env::var_os("EDGE_RUNTIME_UNDER_QEMU").is_some() {
        eprintln!("skipped under qemu-user: serial ioctls unsupported");
        return true;
    }
    false
}

fn store(params: ScenarioParams) -> StoreSim {
    let products: Vec<_> = (0..8)
        .map(|i| {
            let look = PackLook {
                sku: format!("SKU{i}"),
                shape: PackShape::Bottle,
                primary: [20, 20, 200],
                secondary: [255, 255, 0],
            };
            (look, 330.0 + 25.0 * i as f64, 1.0 / (1 + i) as f64)
        })
        .collect();
    let start: SystemTime = UNIX_EPOCH + Duration::from_secs(1_704_700_000);
    StoreSim::new(demo_layout(&products, 1), params, 17, start).expect("store")
}

fn fast_settings(path: &str) -> SerialSettings {
    let mut s = SerialSettings::new(path, 9600);
    s.read_timeout = Duration::from_millis(20);
    s.backoff_min = Duration::from_millis(20);
    s.backoff_max = Duration::from_millis(200);
    s
}

fn wait_open(reader: &SerialLineReader) {
    let deadline = Instant::now() + WAIT;
    while reader.health().state != HealthState::Ok {
        assert!(Instant::now() < deadline, "not open: {:?}", reader.health());
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn board_lines_through_a_pty_parse_back_to_the_simulated_load() {
    if skipped_under_qemu() {
        return;
    }
    let mut sim = store(ScenarioParams::busy());
    let mut params = SimScaleParams {
        garbage_probability: 0.05,
        seed: 2,
        ..SimScaleParams::default()
    };
    params.tare_grams.insert(5, 250.0);
    let mut scale = SimScale::for_store(&sim, params).expect("scale");
    let (tx, lines) = sync_channel(4096);
    let (device, _commands) = spawn_pty_device(lines).expect("pty device");
    let (reader, rx) =
        SerialLineReader::spawn_with(fast_settings(device.path()), parse_channel_grams)
            .expect("reader");
    wait_open(&reader);

    // A minute of the store at 1 Hz; each second's readings must come out of the reader in
    // the order the board printed them.
    let mut expected = Vec::new();
    let mut garbage = 0u64;
    for second in 0..60 {
        sim.advance(Duration::from_secs(1));
        let first = expected.len();
        for line in scale.poll(&mut sim) {
            match line.kind {
                ScaleLineKind::Reading { grams, .. } => expected.push((line.channel, grams)),
                ScaleLineKind::Garbage => garbage += 1,
                other => panic!("a board sends no {other:?}"),
            }
            tx.send(line.text).expect("device thread alive");
        }
        for &(channel, grams) in &expected[first..] {
            let got = rx.recv_timeout(WAIT).expect("reading");
            assert_eq!(u32::from(got.channel), channel, "second {second}");
            assert!(
                (got.grams - grams).abs() <= 0.005 + 1e-9,
                "second {second}: {got:?} vs {grams}"
            );
            assert_eq!(got.stability, Stability::Unreported);
        }
    }
    assert_eq!(expected.len(), 60 * 24);
    assert!(garbage > 0);
    assert_eq!(reader.health().counters.dropped, 0);
    // The last readings, with the tare taken off, are the store's load (busy: noise ~1.5 g,
    // occasional touches, leans and glitches, so compare on a quiet channel loosely).
    let last: Vec<_> = expected[expected.len() - 24..].to_vec();
    let close = last
        .iter()
        .filter(|&&(c, g)| {
            let truth = sim.true_grams(c).expect("channel");
            (g - scale.tare(c) - truth).abs() < 20.0
        })
        .count();
    assert!(
        close >= 20,
        "{close} of 24 channels within 20 g of the truth"
    );
    let deadline = Instant::now() + WAIT;
    while reader.health().counters.rejected < garbage {
        assert!(Instant::now() < deadline, "{:?}", reader.health());
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(reader.health().counters.rejected, garbage);
    assert_eq!(device.lines_dropped(), 0);
    reader.stop();
    drop(tx);
    device.stop();
}

#[test]
fn a_polled_sics_scale_answers_each_poll_with_the_simulated_weight() {
    if skipped_under_qemu() {
        return;
    }
    let mut sim = store(ScenarioParams::busy().without_disturbances());
    let channel = 3u32;
    let mut params = SimScaleParams {
        format: ScaleFormat::Sics,
        ..SimScaleParams::default()
    };
    params.tare_grams.insert(channel, 100.0);
    let scale = SimScale::new(vec![channel], params).expect("scale");
    let (tx, lines) = sync_channel(64);
    let (device, commands) = spawn_pty_device(lines).expect("pty device");
    let mut settings = fast_settings(device.path());
    settings.poll = Some(SerialPoll {
        command: SICS_POLL.to_vec(),
        every: Duration::from_millis(20),
    });
    let protocol = ScaleProtocol::Sics { channel: 9 };
    let (reader, rx) =
        SerialLineReader::spawn_with(settings, move |l: &str| protocol.parse(l)).expect("reader");

    // Each poll advances the store by 30 s and is answered with the weight then.
    for _ in 0..40 {
        let command = commands.recv_timeout(WAIT).expect("a poll");
        assert_eq!(command, "SI");
        sim.advance(Duration::from_secs(30));
        let line = scale.reading_line(&mut sim, channel).expect("channel");
        let ScaleLineKind::Reading { grams, stability } = line.kind else {
            panic!("in range: {line:?}");
        };
        tx.send(line.text).expect("device thread alive");
        let got = match rx.recv_timeout(WAIT).expect("answer") {
            ScaleMessage::Reading(r) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(got.channel, 9);
        assert_eq!(got.stability, stability);
        assert!((got.grams - grams).abs() <= 0.0005 + 1e-9);
        let truth = sim.true_grams(channel).expect("channel");
        assert!(
            (got.grams - 100.0 - truth).abs() < 0.001,
            "{} vs {truth}",
            got.grams
        );
    }
    assert_eq!(reader.health().state, HealthState::Ok);
    reader.stop();
}

#[test]
fn dropping_the_line_sender_hangs_up_the_device() {
    if skipped_under_qemu() {
        return;
    }
    let (tx, lines) = sync_channel::<String>(4);
    let (device, _commands) = spawn_pty_device(lines).expect("pty device");
    let (reader, rx) =
        SerialLineReader::spawn_with(fast_settings(device.path()), parse_channel_grams)
            .expect("reader");
    wait_open(&reader);
    tx.send("1,5.00".into()).expect("alive");
    assert_eq!(rx.recv_timeout(WAIT).map(|r| r.grams), Ok(5.0));
    drop(tx);
    let deadline = Instant::now() + WAIT;
    while !device.finished() {
        assert!(Instant::now() < deadline, "device thread still running");
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(device);
    let deadline = Instant::now() + WAIT;
    while reader.health().state != HealthState::Offline {
        assert!(Instant::now() < deadline, "{:?}", reader.health());
        std::thread::sleep(Duration::from_millis(5));
    }
    reader.stop();
}
