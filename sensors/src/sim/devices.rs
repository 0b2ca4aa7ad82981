//! Simulated serial devices fed by a [`StoreSim`]: a load-cell board or SICS scale that prints
//! the simulator's scale readings, a checkout barcode scanner that scans what shoppers carried
//! away, and a pseudo-terminal that carries their lines to the real [`SerialLineReader`], so
//! the whole serial path runs against known ground truth.
//!
//! The devices are pure (lines in memory, deterministic per seed); only [`spawn_pty_device`]
//! does I/O.
//!
//! [`SerialLineReader`]: crate::serial::SerialLineReader

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use serialport::{SerialPort, TTYPort};
use thiserror::Error;

use super::store::{Dist, StoreSim, TruthEvent};
use super::{SimRng, SimSlot};
use crate::barcode::gtin_check_digit;
use crate::framer::{Framed, LineFramer, DEFAULT_MAX_LINE};
use crate::scale::{format_sics, Stability};

/// A scale reports `S D` (dynamic) this long after its load moved.
pub const SETTLE_TIME: Duration = Duration::from_secs(1);

/// Why a simulated device could not be built or started.
#[derive(Debug, Error)]
pub enum DeviceError {
    /// Line formats number channels 0..=65535.
    #[error("scale channel {0} does not fit the line formats (0..=65535)")]
    ChannelOutOfRange(u32),
    /// A tare must be a finite number of grams.
    #[error("tare of channel {0} must be a finite number of grams")]
    BadTare(u32),
    /// A parameter is out of range.
    #[error("invalid device parameter: {0}")]
    BadParam(String),
    /// An EAN in the scanner's map is not a valid EAN-13.
    #[error("EAN for {sku} is not a valid EAN-13: {ean:?}")]
    BadEan {
        /// The SKU it was given for.
        sku: String,
        /// The code.
        ean: String,
    },
    /// The pseudo-terminal could not be opened.
    #[error("cannot open a pseudo-terminal: {0}")]
    Pty(String),
    /// The device thread could not be spawned.
    #[error("cannot start device thread: {0}")]
    Spawn(#[source] std::io::Error),
}

/// Which line format a simulated scale speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleFormat {
    /// A load-cell board: `channel,grams` per channel.
    ChannelGrams,
    /// A SICS scale: `S S  1234.500 g` (`S D` while the load moves), `S +` / `S -` out of range.
    Sics,
}

/// How a simulated scale prints.
#[derive(Debug, Clone, PartialEq)]
pub struct SimScaleParams {
    /// Line format.
    pub format: ScaleFormat,
    /// Grams of tray per channel the device adds to the load (the runtime's tare removes it).
    pub tare_grams: BTreeMap<u32, f64>,
    /// Chance of an extra garbage line before each reading.
    pub garbage_probability: f64,
    /// SICS only: above this many grams the scale answers `S +`.
    pub sics_max_grams: f64,
    /// SICS only: below this many grams the scale answers `S -`.
    pub sics_min_grams: f64,
    /// Seeds the garbage.
    pub seed: u64,
}

impl Default for SimScaleParams {
    /// `channel,grams`, no tare, no garbage, SICS range -2 kg..60 kg.
    fn default() -> Self {
        SimScaleParams {
            format: ScaleFormat::ChannelGrams,
            tare_grams: BTreeMap::new(),
            garbage_probability: 0.0,
            sics_max_grams: 60_000.0,
            sics_min_grams: -2_000.0,
            seed: 0,
        }
    }
}

/// What a scale line carries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScaleLineKind {
    /// A weight: the reading plus the channel's tare, before rounding to the line's decimals.
    Reading {
        /// Grams, tare included.
        grams: f64,
        /// SICS flag (`Unreported` for `channel,grams`).
        stability: Stability,
    },
    /// SICS `S +`.
    Overload,
    /// SICS `S -`.
    Underload,
    /// A line no parser should accept.
    Garbage,
}

/// One line a simulated scale sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleLine {
    /// Scale channel it belongs to.
    pub channel: u32,
    /// What it means.
    pub kind: ScaleLineKind,
    /// The text, without line end.
    pub text: String,
}

/// Lines that neither scale parser nor the barcode parser's check digits accept.
const GARBAGE: &[&str] = &[
    "S S",
    "S X 12.5 g",
    "ERR 42",
    "3;1200",
    "7,12#4",
    "\u{fffd}\u{fffd}",
    "S S 12.3",
    "ES ES",
    "99999999,1",
    "+++",
];

/// A load-cell board or SICS scale printing a [`StoreSim`]'s scale readings.
#[derive(Debug, Clone)]
pub struct SimScale {
    channels: Vec<u32>,
    params: SimScaleParams,
    rng: SimRng,
}

impl SimScale {
    /// A scale for `channels` (a SICS scale normally has one). Refuses channels above 65535,
    /// non-finite tares and a garbage probability outside 0..=1.
    pub fn new(channels: Vec<u32>, params: SimScaleParams) -> Result<SimScale, DeviceError> {
        if let Some(&c) = channels.iter().find(|&&c| c > u32::from(u16::MAX)) {
            return Err(DeviceError::ChannelOutOfRange(c));
        }
        if let Some((&c, _)) = params.tare_grams.iter().find(|(_, g)| !g.is_finite()) {
            return Err(DeviceError::BadTare(c));
        }
        if !(0.0..=1.0).contains(&params.garbage_probability) {
            return Err(DeviceError::BadParam(format!(
                "garbage_probability {} is not in 0..=1",
                params.garbage_probability
            )));
        }
        let (min, max) = (params.sics_min_grams, params.sics_max_grams);
        if !(min.is_finite() && max.is_finite() && min < max) {
            return Err(DeviceError::BadParam(
                "sics_min_grams must be finite and below sics_max_grams".into(),
            ));
        }
        let rng = SimRng::from_parts(&[params.seed, 0x5CA1E]);
        Ok(SimScale {
            channels,
            params,
            rng,
        })
    }

    /// A scale for every channel of the store.
    pub fn for_store(sim: &StoreSim, params: SimScaleParams) -> Result<SimScale, DeviceError> {
        SimScale::new(sim.scale_channels(), params)
    }

    /// The channels it reports.
    pub fn channels(&self) -> &[u32] {
        &self.channels
    }

    /// The tray grams the scale adds on `channel`.
    pub fn tare(&self, channel: u32) -> f64 {
        self.params.tare_grams.get(&channel).copied().unwrap_or(0.0)
    }

    /// One line per channel with the store's current reading (channels the store does not
    /// know are skipped), each possibly preceded by a garbage line.
    pub fn poll(&mut self, sim: &mut StoreSim) -> Vec<ScaleLine> {
        let mut lines = Vec::with_capacity(self.channels.len());
        for i in 0..self.channels.len() {
            let channel = self.channels[i];
            if self.rng.chance(self.params.garbage_probability) {
                let text = GARBAGE[self.rng.below(GARBAGE.len() as u64) as usize].to_owned();
                lines.push(ScaleLine {
                    channel,
                    kind: ScaleLineKind::Garbage,
                    text,
                });
            }
            if let Some(line) = self.reading_line(sim, channel) {
                lines.push(line);
            }
        }
        lines
    }

    /// The current reading of one channel as a line, without garbage.
    pub fn reading_line(&self, sim: &mut StoreSim, channel: u32) -> Option<ScaleLine> {
        let grams = sim.scale_reading(channel)? + self.tare(channel);
        let (kind, text) = match self.params.format {
            ScaleFormat::ChannelGrams => (
                ScaleLineKind::Reading {
                    grams,
                    stability: Stability::Unreported,
                },
                format!("{channel},{grams:.2}"),
            ),
            ScaleFormat::Sics if grams > self.params.sics_max_grams => {
                (ScaleLineKind::Overload, "S +".to_owned())
            }
            ScaleFormat::Sics if grams < self.params.sics_min_grams => {
                (ScaleLineKind::Underload, "S -".to_owned())
            }
            ScaleFormat::Sics => {
                let moving = sim.load_changed_at(channel).is_some_and(|t| {
                    sim.now()
                        .duration_since(t)
                        .map_or(true, |d| d < SETTLE_TIME)
                });
                let stability = if moving {
                    Stability::Dynamic
                } else {
                    Stability::Stable
                };
                (
                    ScaleLineKind::Reading { grams, stability },
                    format_sics(grams, stability),
                )
            }
        };
        Some(ScaleLine {
            channel,
            kind,
            text,
        })
    }
}

/// How the simulated checkout scanner behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct SimScannerParams {
    /// Seconds from a shopper leaving the shelf to the first scan of their basket.
    pub checkout_seconds: Dist,
    /// Seconds between two items of one basket.
    pub between_items_seconds: Dist,
    /// Chance a scan comes out with one wrong digit (its check digit then fails).
    pub corrupt_probability: f64,
    /// Seeds delays and corruption.
    pub seed: u64,
}

impl Default for SimScannerParams {
    /// Checkout 30..300 s after the shelf, 1..4 s between items, no corrupted codes.
    fn default() -> Self {
        SimScannerParams {
            checkout_seconds: Dist::uniform(30.0, 300.0),
            between_items_seconds: Dist::uniform(1.0, 4.0),
            corrupt_probability: 0.0,
            seed: 0,
        }
    }
}

/// One scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanLine {
    /// When it is scanned.
    pub at: SystemTime,
    /// The line (an EAN-13, maybe corrupted).
    pub text: String,
    /// Slot whose product it is.
    pub slot: usize,
    /// The product.
    pub sku: String,
    /// Whether a digit was changed.
    pub corrupted: bool,
}

/// The EAN-13 for a 12-digit body (the body plus its check digit), or `None` if `body` is
/// not 12 ASCII digits.
pub fn ean13(body: &str) -> Option<String> {
    if body.len() != 12 {
        return None;
    }
    let check = gtin_check_digit(body)?;
    Some(format!("{body}{check}"))
}

/// Whether `code` is 13 digits with a correct GS1 check digit.
pub fn valid_ean13(code: &str) -> bool {
    code.len() == 13 && code.get(..12).and_then(ean13).is_some_and(|c| c == code)
}

/// A checkout scanner: every unit a shopper carried away from the shelf is scanned (one
/// EAN-13 line per unit) a checkout delay after they left it.
#[derive(Debug, Clone)]
pub struct SimScanner {
    ean_by_slot: Vec<Option<String>>,
    sku_by_slot: Vec<String>,
    params: SimScannerParams,
    rng: SimRng,
    queue: BTreeMap<(SystemTime, u64), ScanLine>,
    seq: u64,
    unscannable: u64,
}

impl SimScanner {
    /// A scanner for the store's `slots`, with `eans` mapping SKU to EAN-13. Refuses invalid
    /// EANs (wrong length, not digits, bad check digit) and bad parameters. Products without an
    /// EAN are not scanned (counted in [`unscannable`](Self::unscannable)).
    pub fn new<S: Into<String>>(
        slots: &[SimSlot],
        eans: impl IntoIterator<Item = (S, S)>,
        params: SimScannerParams,
    ) -> Result<SimScanner, DeviceError> {
        let mut map = BTreeMap::new();
        for (sku, ean) in eans {
            let (sku, ean) = (sku.into(), ean.into());
            if !valid_ean13(&ean) {
                return Err(DeviceError::BadEan { sku, ean });
            }
            map.insert(sku, ean);
        }
        if !(0.0..=1.0).contains(&params.corrupt_probability) {
            return Err(DeviceError::BadParam(format!(
                "corrupt_probability {} is not in 0..=1",
                params.corrupt_probability
            )));
        }
        for (name, d) in [
            ("checkout_seconds", params.checkout_seconds),
            ("between_items_seconds", params.between_items_seconds),
        ] {
            let ok = match d {
                Dist::Fixed(v) => v.is_finite() && v >= 0.0,
                Dist::Uniform { min, max } => {
                    min.is_finite() && max.is_finite() && 0.0 <= min && min <= max
                }
                Dist::ShiftedExp { min, mean_extra } => {
                    min.is_finite() && mean_extra.is_finite() && min >= 0.0 && mean_extra >= 0.0
                }
            };
            if !ok {
                return Err(DeviceError::BadParam(format!("{name}: {d:?}")));
            }
        }
        Ok(SimScanner {
            ean_by_slot: slots
                .iter()
                .map(|s| map.get(&s.look.sku).cloned())
                .collect(),
            sku_by_slot: slots.iter().map(|s| s.look.sku.clone()).collect(),
            rng: SimRng::from_parts(&[params.seed, 0x5CA4]),
            params,
            queue: BTreeMap::new(),
            seq: 0,
            unscannable: 0,
        })
    }

    /// Takes note of the store's events: each `ShopperLeft` basket is queued for checkout.
    pub fn observe(&mut self, events: &[TruthEvent]) {
        for e in events {
            let TruthEvent::ShopperLeft { basket, at, .. } = e else {
                continue;
            };
            let delay = self.params.checkout_seconds.sample(&mut self.rng);
            let mut t = *at + secs(delay);
            for &(slot, units) in basket {
                for _ in 0..units {
                    let Some(Some(ean)) = self.ean_by_slot.get(slot) else {
                        self.unscannable += 1;
                        continue;
                    };
                    let mut text = ean.clone();
                    let corrupted = self.rng.chance(self.params.corrupt_probability);
                    if corrupted {
                        text = self.corrupt(&text);
                    }
                    self.seq += 1;
                    let line = ScanLine {
                        at: t,
                        text,
                        slot,
                        sku: self.sku_by_slot[slot].clone(),
                        corrupted,
                    };
                    self.queue.insert((t, self.seq), line);
                    t += secs(self.params.between_items_seconds.sample(&mut self.rng));
                }
            }
        }
    }

    /// One digit changed to another: a single wrong digit always fails the GS1 check.
    fn corrupt(&mut self, code: &str) -> String {
        let mut bytes = code.as_bytes().to_vec();
        let i = self.rng.below(bytes.len() as u64) as usize;
        let shift = 1 + self.rng.below(9) as u8;
        bytes[i] = b'0' + (bytes[i] - b'0' + shift) % 10;
        String::from_utf8(bytes).unwrap_or_default()
    }

    /// Scans due at or before `now`, in time order.
    pub fn due(&mut self, now: SystemTime) -> Vec<ScanLine> {
        let mut out = Vec::new();
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > now {
                break;
            }
            out.push(entry.remove());
        }
        out
    }

    /// Scans queued and not yet due.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Units carried away whose product has no EAN in the map.
    pub fn unscannable(&self) -> u64 {
        self.unscannable
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.0, 86_400.0))
}

/// Counters of a [`PtyDevice`].
#[derive(Debug, Default)]
struct PtyCounters {
    written: AtomicU64,
    dropped: AtomicU64,
}

/// A simulated device behind a pseudo-terminal: lines sent to it come out of the slave end
/// (`path`), which a [`SerialLineReader`](crate::serial::SerialLineReader) can open like a USB
/// serial adapter. Dropping it (or dropping the line sender) closes the device end: a hang-up
/// for the reader.
#[derive(Debug)]
pub struct PtyDevice {
    path: String,
    stop: Arc<AtomicBool>,
    counters: Arc<PtyCounters>,
    thread: Option<JoinHandle<()>>,
}

/// How long the device thread waits for the reader's bytes before looking for lines again;
/// bounds the delay a line sees.
const PTY_POLL: Duration = Duration::from_millis(10);

/// Starts a device thread writing each line from `lines` (with `\r\n`) into a new pseudo-
/// terminal. Returns the device (its slave path for the reader) and a receiver of the lines the
/// reader writes to the device (e.g. SICS `SI` polls; at most 64 waiting, newer ones dropped).
/// The thread ends when `lines` is disconnected or the device is stopped. A write that cannot
/// finish within a poll interval (the reader not reading) drops the line and counts it.
pub fn spawn_pty_device(
    lines: Receiver<String>,
) -> Result<(PtyDevice, Receiver<String>), DeviceError> {
    let (mut master, slave) = TTYPort::pair().map_err(|e| DeviceError::Pty(e.to_string()))?;
    let path = slave
        .name()
        .ok_or_else(|| DeviceError::Pty("the slave end has no path".into()))?;
    master
        .set_timeout(PTY_POLL)
        .map_err(|e| DeviceError::Pty(e.to_string()))?;
    let stop = Arc::new(AtomicBool::new(false));
    let counters = Arc::new(PtyCounters::default());
    let (commands_tx, commands) = sync_channel(64);
    let thread = {
        let stop = Arc::clone(&stop);
        let counters = Arc::clone(&counters);
        std::thread::Builder::new()
            .name(format!("sim device {path}"))
            .spawn(move || {
                // Holding the slave open keeps the master usable before the reader opens it
                // (reading a master whose slave is closed fails with EIO).
                let _slave = slave;
                let mut framer = LineFramer::new(DEFAULT_MAX_LINE);
                let mut buf = [0u8; 256];
                while !stop.load(Ordering::Relaxed) {
                    let mut finished = false;
                    loop {
                        match lines.try_recv() {
                            Ok(line) => {
                                let mut bytes = line.into_bytes();
                                bytes.extend_from_slice(b"\r\n");
                                match master.write_all(&bytes) {
                                    Ok(()) => counters.written.fetch_add(1, Ordering::Relaxed),
                                    Err(_) => counters.dropped.fetch_add(1, Ordering::Relaxed),
                                };
                            }
                            Err(TryRecvError::Empty) => break,
                            Err(TryRecvError::Disconnected) => {
                                finished = true;
                                break;
                            }
                        }
                    }
                    if finished {
                        break;
                    }
                    match master.read(&mut buf) {
                        Ok(n) => framer.push_with(&buf[..n], |f| {
                            if let Framed::Line(l) = f {
                                // A full queue means nobody answers polls: drop, like a
                                // device that is busy.
                                let _ = commands_tx.try_send(l);
                            }
                        }),
                        Err(e)
                            if matches!(
                                e.kind(),
                                ErrorKind::TimedOut
                                    | ErrorKind::WouldBlock
                                    | ErrorKind::Interrupted
                            ) => {}
                        Err(_) => std::thread::sleep(PTY_POLL),
                    }
                }
            })
            .map_err(DeviceError::Spawn)?
    };
    Ok((
        PtyDevice {
            path,
            stop,
            counters,
            thread: Some(thread),
        },
        commands,
    ))
}

impl PtyDevice {
    /// The slave path to open (e.g. `/dev/pts/7`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Lines written to the pseudo-terminal so far.
    pub fn lines_written(&self) -> u64 {
        self.counters.written.load(Ordering::Relaxed)
    }

    /// Lines dropped because the write did not finish.
    pub fn lines_dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// Whether the device thread has ended (its line sender was dropped).
    pub fn finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stops the thread and closes the device end.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            // The thread only panics on a bug; there is nothing to clean up after it.
            let _ = t.join();
        }
    }
}

impl Drop for PtyDevice {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::barcode::{parse_barcode, Symbology};
    use crate::scale::{parse_channel_grams, parse_sics, ScaleMessage};
    use crate::sim::store::{demo_layout, ScenarioParams};
    use crate::sim::{PackLook, PackShape};
    use std::time::UNIX_EPOCH;

    fn products() -> Vec<(PackLook, f64, f64)> {
        (0..6)
            .map(|i| {
                let look = PackLook {
                    sku: format!("SKU{i}"),
                    shape: PackShape::Jar,
                    primary: [10, 200, 10],
                    secondary: [0, 0, 0],
                };
                (look, 250.0 + 10.0 * i as f64, 1.0 / (1 + i) as f64)
            })
            .collect()
    }

    fn start() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_704_700_000)
    }

    fn store(params: ScenarioParams) -> StoreSim {
        StoreSim::new(demo_layout(&products(), 1), params, 3, start()).expect("store")
    }

    #[test]
    fn garbage_lines_are_rejected_by_every_parser() {
        for g in GARBAGE {
            assert!(parse_channel_grams(g).is_err(), "{g:?}");
            assert!(parse_sics(g, 0).is_err(), "{g:?}");
        }
    }

    #[test]
    fn board_lines_parse_back_to_reading_plus_tare() {
        let mut sim = store(ScenarioParams::busy());
        let mut params = SimScaleParams::default();
        params.tare_grams.insert(3, 412.5);
        params.garbage_probability = 0.2;
        let mut scale = SimScale::for_store(&sim, params).expect("scale");
        let (mut good, mut garbage) = (0, 0);
        for _ in 0..200 {
            sim.advance(Duration::from_secs(5));
            for line in scale.poll(&mut sim) {
                match line.kind {
                    ScaleLineKind::Reading { grams, .. } => {
                        let r = parse_channel_grams(&line.text).expect("parses");
                        assert_eq!(u32::from(r.channel), line.channel);
                        assert!((r.grams - grams).abs() <= 0.005 + 1e-9, "{line:?}");
                        good += 1;
                    }
                    ScaleLineKind::Garbage => {
                        assert!(parse_channel_grams(&line.text).is_err());
                        garbage += 1;
                    }
                    other => panic!("board lines have no status: {other:?}"),
                }
            }
        }
        assert_eq!(good, 200 * 24);
        assert!(garbage > 500 && garbage < 1500, "{garbage}");
        let clean = store(ScenarioParams::busy().without_disturbances());
        let mut clean = clean;
        let mut params = SimScaleParams::default();
        params.tare_grams.insert(3, 412.5);
        let scale = SimScale::for_store(&clean, params).expect("scale");
        let line = scale.reading_line(&mut clean, 3).expect("channel 3");
        let truth = clean.true_grams(3).expect("channel 3");
        assert_eq!(
            line.kind,
            ScaleLineKind::Reading {
                grams: truth + 412.5,
                stability: Stability::Unreported
            }
        );
    }

    #[test]
    fn sics_flags_moving_loads_and_out_of_range() {
        let mut params = ScenarioParams::demo().without_disturbances();
        params.scale.glitches_per_hour = 30.0;
        params.scale.glitch_seconds = Dist::Fixed(3.0);
        let mut sim = store(params);
        let scale = SimScale::new(
            vec![0],
            SimScaleParams {
                format: ScaleFormat::Sics,
                ..SimScaleParams::default()
            },
        )
        .expect("scale");
        let (mut stable, mut dynamic, mut over, mut under) = (0, 0, 0, 0);
        let mut spike_until = start();
        for _ in 0..(3 * 3600 * 4) {
            for e in sim.advance(Duration::from_millis(250)) {
                if let TruthEvent::ScaleSpike {
                    channel: 0, until, ..
                } = e
                {
                    spike_until = spike_until.max(until);
                }
            }
            let line = scale.reading_line(&mut sim, 0).expect("channel 0");
            match (line.kind, parse_sics(&line.text, 0)) {
                (ScaleLineKind::Reading { grams, stability }, Ok(ScaleMessage::Reading(r))) => {
                    assert_eq!(r.stability, stability);
                    assert!((r.grams - grams).abs() <= 0.0005 + 1e-9);
                    if stability == Stability::Stable {
                        stable += 1;
                        // A glitch reads steadily wrong, like a real scale.
                        if sim.now() > spike_until {
                            let truth = sim.true_grams(0).expect("channel 0");
                            assert!((grams - truth).abs() < 1e-6, "settled = truth");
                        }
                    } else {
                        dynamic += 1;
                    }
                }
                (ScaleLineKind::Overload, Ok(ScaleMessage::Status(_))) => over += 1,
                (ScaleLineKind::Underload, Ok(ScaleMessage::Status(_))) => under += 1,
                other => panic!("{other:?}"),
            }
        }
        assert!(
            stable > 1000 && dynamic > 10 && over > 0 && under > 0,
            "{stable} {dynamic} {over} {under}"
        );
    }

    #[test]
    fn bad_scale_settings_are_refused() {
        assert!(matches!(
            SimScale::new(vec![70_000], SimScaleParams::default()),
            Err(DeviceError::ChannelOutOfRange(70_000))
        ));
        let mut p = SimScaleParams::default();
        p.tare_grams.insert(1, f64::NAN);
        assert!(matches!(
            SimScale::new(vec![1], p),
            Err(DeviceError::BadTare(1))
        ));
        let p = SimScaleParams {
            garbage_probability: 2.0,
            ..SimScaleParams::default()
        };
        assert!(matches!(
            SimScale::new(vec![1], p),
            Err(DeviceError::BadParam(_))
        ));
    }

    #[test]
    fn ean13_helper_makes_valid_codes() {
        assert_eq!(ean13("590123412345").as_deref(), Some("5901234123457"));
        assert_eq!(ean13("59012341234"), None);
        assert_eq!(ean13("59012341234x"), None);
        assert!(valid_ean13("5901234123457"));
        assert!(!valid_ean13("5901234123458"));
        // 13 bytes with a multi-byte character across byte 12: refused, no panic.
        assert!(!valid_ean13("12345678901\u{e9}"));
    }

    #[test]
    fn the_scanner_scans_every_unit_carried_away_after_checkout() {
        let mut sim = store(ScenarioParams::demo());
        let eans: Vec<(String, String)> = (0..6)
            .map(|i| {
                (
                    format!("SKU{i}"),
                    ean13(&format!("20000000000{i}")).expect("body"),
                )
            })
            .collect();
        let params = SimScannerParams {
            corrupt_probability: 0.1,
            seed: 4,
            ..SimScannerParams::default()
        };
        let mut scanner = SimScanner::new(sim.slots(), eans.clone(), params).expect("scanner");
        let mut carried = 0u64;
        let mut scans = Vec::new();
        let mut last_left = start();
        for _ in 0..(2 * 3600) {
            let events = sim.advance(Duration::from_secs(1));
            for e in &events {
                if let TruthEvent::ShopperLeft { basket, at, .. } = e {
                    carried += basket.iter().map(|&(_, n)| u64::from(n)).sum::<u64>();
                    last_left = *at;
                }
            }
            scanner.observe(&events);
            scans.extend(scanner.due(sim.now()));
        }
        scans.extend(scanner.due(sim.now() + Duration::from_secs(3600)));
        assert_eq!(scanner.pending(), 0);
        assert_eq!(scans.len() as u64, carried);
        assert!(carried > 100);
        assert!(last_left > start());
        // Net sales also count what shoppers still at the shelf hold (at most 3 x 3 units).
        let sold = sim.totals().units_sold;
        assert!(
            carried <= sold && sold - carried <= 9 * sim.shoppers_present() as u64,
            "carried {carried}, sold {sold}"
        );
        let mut corrupted = 0;
        for s in &scans {
            match parse_barcode(&s.text) {
                Ok(b) => {
                    assert!(!s.corrupted);
                    assert_eq!(b.symbology, Symbology::Ean13);
                    let (sku, _) = eans.iter().find(|(_, e)| *e == b.code).expect("known");
                    assert_eq!(*sku, s.sku);
                }
                Err(_) => {
                    assert!(s.corrupted);
                    corrupted += 1;
                }
            }
        }
        assert!(corrupted > 0 && corrupted < scans.len() / 4, "{corrupted}");
        assert!(scans.windows(2).all(|w| w[0].at <= w[1].at));
    }

    #[test]
    fn the_scanner_refuses_bad_eans() {
        let slots = demo_layout(&products(), 1);
        let bad = [("SKU0", "5901234123458")];
        assert!(matches!(
            SimScanner::new(&slots, bad, SimScannerParams::default()),
            Err(DeviceError::BadEan { .. })
        ));
        let short = [("SKU0", "96385074")];
        assert!(SimScanner::new(&slots, short, SimScannerParams::default()).is_err());
    }
}
