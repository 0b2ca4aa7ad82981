//! The stock stage of the daemon: a thread that turns frames and weights into the live stock
//! state, publishes events and snapshots through the outbox, keeps the tracker's memory and
//! the estimated sales in the store, and serves the state to the HTTP API.
//!
//! Two stages share everything after the tracker (publishing, memory, sales, metrics, the
//! view): the live stage ([`super::live`]) reads the configured cameras, scales and scanners;
//! the simulated stage here (the demo) reads a [`StoreSim`] on simulated time, drawn by the
//! [`ShelfRenderer`] and read by the same cropper and slotnet a real camera goes through, its
//! scales feeding the tracker as load cells would.

use super::pipeline::{FrameRejected, ShelfReader, StageTimes};
use super::tracker::{
    per_sku, SkuState, SlotMemory, SlotState, StockEvent, Tracker, TrackerSettings,
};
use super::{sales, SlotSpec};
use crate::catalog::Catalog;
use crate::models::hub::{Lookup, ModelHub};
use crate::store::{Batch, Store};
use crate::sync::outbox::{Outbox, Outgoing};
use crate::sync::Class;
use crate::watchdog::Heartbeat;
use edge_models::SlotNet;
use edge_sensors::sim::devices::{valid_ean13, SimScanner, SimScannerParams};
use edge_sensors::sim::render::ShelfRenderer;
use edge_sensors::sim::store::{ScenarioParams, StoreSim};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

/// Store table of the tracker's memory and the estimated sales.
pub const TABLE: &str = "stock";
const MEMORY_KEY: &[u8] = b"memory";
/// Events kept for the HTTP view.
const RECENT_EVENTS: usize = 50;

/// An event as published: the tracker's event with wall-clock time.
#[derive(Debug, Clone, Serialize)]
pub struct PublishedEvent {
    /// RFC 3339 time.
    pub at: String,
    /// The event.
    #[serde(flatten)]
    pub event: StockEvent,
}

/// What the HTTP API and the kiosk read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StockView {
    /// Where the readings come from ("simulated store", ...).
    pub source: String,
    /// Simulated time, when simulated.
    pub clock: Option<String>,
    /// Frames read.
    pub frames: u64,
    /// Per slot.
    pub slots: Vec<SlotState>,
    /// Per product.
    pub skus: Vec<SkuState>,
    /// The most recent events, newest last.
    pub events: VecDeque<PublishedEvent>,
    /// Why there is no live state yet, if so.
    pub waiting: Option<String>,
    /// Health of the shelf devices (live stage only).
    pub devices: Vec<super::live::DeviceView>,
    /// Planogram and config mismatches found at start, each with its fix (live stage only).
    pub problems: Vec<String>,
}

/// A shared read handle on the live stock.
#[derive(Debug, Clone, Default)]
pub struct StockHandle(Arc<RwLock<StockView>>);

impl StockHandle {
    /// A copy of the current view.
    pub fn view(&self) -> StockView {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(super) fn update(&self, f: impl FnOnce(&mut StockView)) {
        f(&mut self.0.write().unwrap_or_else(|p| p.into_inner()));
    }
}

/// How the simulated shelf runs.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// Simulated seconds per wall second.
    pub speed: f64,
    /// Frames per wall second.
    pub fps: f64,
    /// Seed of the simulated store.
    pub seed: u64,
    /// Store behaviour.
    pub params: ScenarioParams,
}

/// The simulated shelf: what the simulator draws and how it runs.
#[derive(Debug, Clone)]
pub struct SimulatedShelf {
    /// The catalog (pack looks for the simulator).
    pub catalog: Catalog,
    /// Camera id, frame width and height (camera 0 of the planogram).
    pub camera: (String, u32, u32),
    /// How it runs.
    pub simulation: Simulation,
}

/// Everything a stock thread needs, whatever its input.
pub struct StockContext {
    /// Planogram slots.
    pub slots: Vec<SlotSpec>,
    /// The serving models (slotnet may change while the stage runs: a model update).
    pub models: Arc<ModelHub>,
    /// Where events and snapshots go.
    pub outbox: Outbox,
    /// Where memory and sales are kept.
    pub store: Arc<Store>,
    /// The live view.
    pub handle: StockHandle,
    /// Beats while the stage makes progress.
    pub heartbeat: Heartbeat,
    /// Set at shutdown.
    pub stop: Arc<AtomicBool>,
    /// Seconds between `stock/state` snapshots (wall time).
    pub snapshot_secs: f64,
    /// Metrics to keep current.
    pub metrics: StockMetrics,
}

/// Starts the simulated shelf on its own thread.
pub fn spawn_simulated(
    ctx: StockContext,
    shelf: SimulatedShelf,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("stock".into())
        .spawn(move || {
            if let Err(e) = run_simulated(&ctx, &shelf) {
                log::error!("stock stage stopped: {e}");
                ctx.handle
                    .update(|v| v.waiting = Some(format!("stopped: {e}")));
            }
        })
}

fn run_simulated(ctx: &StockContext, shelf: &SimulatedShelf) -> Result<(), String> {
    let sim = &shelf.simulation;
    let sims = super::eval::sim_slots(&ctx.slots, &shelf.catalog)?;
    let start = SystemTime::now();
    let mut store_sim = StoreSim::new(sims.clone(), sim.params.clone(), sim.seed, start)?;
    let (camera_id, width, height) = &shelf.camera;
    let mut renderer = ShelfRenderer::new(0, *width, *height, &sims, sim.seed)?;
    let mut reader = ShelfReader::new(camera_id, 0, *width, *height, &ctx.slots);
    let mut tracker = ctx.new_tracker();
    let mut checkout = SimulatedCheckout::new(&sims, &shelf.catalog, sim.seed);
    ctx.handle.update(|v| {
        v.source = "simulated store (demo)".into();
        v.waiting = Some("waiting for slotnet to load".into());
    });

    // Wait for slotnet; the heartbeat keeps beating, a stop ends the wait.
    loop {
        ctx.heartbeat.beat();
        if ctx.stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        match ctx.slotnet() {
            Lookup::Ready(_) => break,
            Lookup::Missing => {
                return Err("slotnet did not load; see the models lines above".into())
            }
            Lookup::Loading => std::thread::sleep(Duration::from_millis(200)),
        }
    }
    ctx.handle.update(|v| v.waiting = None);
    log::info!(
        "stock: simulated store with {} slots, {:.0}x speed, {:.1} frames/s",
        ctx.slots.len(),
        sim.speed,
        sim.fps
    );

    let period = Duration::from_secs_f64(1.0 / sim.fps.clamp(0.05, 30.0));
    let step = (sim.speed / sim.fps.clamp(0.05, 30.0)).max(1.0);
    let mut t = 0.0f64;
    let mut frame_no = 0u64;
    let mut publisher = Publisher::new();
    let mut next = Instant::now();
    while !ctx.stop.load(Ordering::Relaxed) {
        ctx.heartbeat.beat();
        // Simulated time advances in whole seconds; the scales report every second.
        let target = t + step;
        while t + 1.0 <= target {
            let truth = store_sim.advance(Duration::from_secs(1));
            checkout.observe(&truth);
            t += 1.0;
            super::eval::feed_scales(&mut store_sim, &sims, &mut tracker, t);
        }
        // The model serving now: a model update swaps it between two frames.
        let slotnet = match ctx.slotnet() {
            Lookup::Ready(m) => Some(m),
            _ => None,
        };
        if let (true, Some(slotnet)) = (store_sim.camera_online(0), slotnet) {
            let frame = renderer.render(store_sim.contents(), &store_sim.occluders(), frame_no);
            frame_no += 1;
            let read = reader.read(&slotnet, frame.width, frame.height, &frame.rgb);
            ctx.report_read(&read);
            match read {
                Ok(readings) => {
                    for (i, obs) in readings {
                        tracker.camera(i, t, obs);
                    }
                }
                Err(e) => log::warn!("stock: {e}"),
            }
        } else {
            tracker.camera_offline(0, t);
        }
        checkout.record(ctx, store_sim.now());
        let events = tracker.tick(t);
        publisher.publish(
            ctx,
            &mut tracker,
            reader.times(),
            &events,
            store_sim.now(),
            true,
        );
        next += period;
        let now = Instant::now();
        if next > now {
            sleep_unless_stopped(&ctx.stop, next - now);
        } else {
            next = now;
        }
    }
    save_memory(&ctx.store, &tracker.memory());
    Ok(())
}

/// The demo's checkout: every unit a simulated shopper carries away is scanned at a till a
/// few minutes later, and the scans are counted like a real scanner's (through the catalog's
/// EANs), so the day's sales show both sources.
struct SimulatedCheckout {
    scanner: Option<SimScanner>,
    eans: std::collections::HashMap<String, String>,
}

impl SimulatedCheckout {
    fn new(sims: &[edge_sensors::sim::SimSlot], catalog: &Catalog, seed: u64) -> Self {
        let eans = super::live::ean_index(catalog);
        let by_sku = catalog
            .products
            .iter()
            .filter_map(|p| match p.attributes.get("ean") {
                Some(serde_json::Value::String(e)) if valid_ean13(e) => {
                    Some((p.sku.clone(), e.clone()))
                }
                _ => None,
            });
        let params = SimScannerParams {
            seed,
            ..SimScannerParams::default()
        };
        let scanner = match SimScanner::new(sims, by_sku, params) {
            Ok(s) => Some(s),
            Err(e) => {
                log::warn!("stock: no simulated checkout scanner: {e}");
                None
            }
        };
        SimulatedCheckout { scanner, eans }
    }

    fn observe(&mut self, truth: &[edge_sensors::sim::store::TruthEvent]) {
        if let Some(s) = &mut self.scanner {
            s.observe(truth);
        }
    }

    /// Counts the scans due by `now` (simulated time) per product.
    fn record(&mut self, ctx: &StockContext, now: SystemTime) {
        let Some(scanner) = &mut self.scanner else {
            return;
        };
        let scans: Vec<(String, u64)> = scanner
            .due(now)
            .into_iter()
            .filter_map(|line| {
                let key = super::live::gtin_key(&line.text)?;
                Some((self.eans.get(&key)?.clone(), 1))
            })
            .collect();
        if scans.is_empty() {
            return;
        }
        match sales::add_daily_counts(&ctx.store, sales::SCANS, &scans, now) {
            Ok(()) => ctx.metrics.scans("counted", scans.len() as u64),
            Err(e) => log::warn!("stock: cannot store {} scans: {e}", scans.len()),
        }
    }
}

impl StockContext {
    /// A tracker for the slots, with the estimates of the last run restored.
    pub(super) fn new_tracker(&self) -> Tracker {
        let mut tracker = Tracker::new(self.slots.clone(), TrackerSettings::default());
        if let Some(memory) = load_memory(&self.store) {
            tracker.restore(&memory, 0.0);
            log::info!(
                "stock: restored the last estimates of {} slots",
                memory.len()
            );
        }
        tracker
    }

    /// slotnet as it serves now.
    pub(super) fn slotnet(&self) -> Lookup<SlotNet> {
        self.models.slotnet()
    }

    /// Tells the model hub how a frame read went: a new slotnet that fails its runs is rolled
    /// back. Frames refused before inference (wrong size, corrupt) say nothing of the model.
    pub(super) fn report_read<T>(&self, read: &Result<T, FrameRejected>) {
        match read {
            Ok(_) => self.models.report("slotnet", Ok(())),
            Err(FrameRejected::Model { reason, .. }) => {
                self.models.report("slotnet", Err(reason.as_str()))
            }
            Err(_) => {}
        }
    }
}

/// What every stage does after a tick: metrics, events, sales, the view, and now and then a
/// snapshot to headquarters and the estimates to the store.
pub(super) struct Publisher {
    last_snapshot: Instant,
}

impl Publisher {
    /// A publisher whose first snapshot is one snapshot period away.
    pub(super) fn new() -> Publisher {
        Publisher {
            last_snapshot: Instant::now(),
        }
    }

    /// Publishes one tick's outcome; `now` is the wall (or simulated) time of the tick, shown
    /// as the view's clock when `show_clock`.
    pub(super) fn publish(
        &mut self,
        ctx: &StockContext,
        tracker: &mut Tracker,
        times: StageTimes,
        events: &[StockEvent],
        now: SystemTime,
        show_clock: bool,
    ) {
        let states = tracker.states();
        ctx.metrics
            .update(&states, tracker.counters(), times, events);
        let clock = crate::clock::rfc3339(now);
        publish_events(ctx, events, &clock);
        record_sales(ctx, tracker, now);
        ctx.handle.update(|v| {
            v.skus = per_sku(&states);
            v.slots = states;
            v.frames = times.frames;
            v.clock = show_clock.then(|| clock.clone());
        });
        if self.last_snapshot.elapsed().as_secs_f64() >= ctx.snapshot_secs {
            self.last_snapshot = Instant::now();
            publish_snapshot(ctx, &clock, now);
            save_memory(&ctx.store, &tracker.memory());
        }
    }
}

/// Sleeps `left` in short naps, returning early once `stop` is set.
pub(super) fn sleep_unless_stopped(stop: &AtomicBool, mut left: Duration) {
    while !left.is_zero() && !stop.load(Ordering::Relaxed) {
        let nap = left.min(Duration::from_millis(100));
        std::thread::sleep(nap);
        left -= nap;
    }
}

fn publish_events(ctx: &StockContext, events: &[StockEvent], clock: &str) {
    if events.is_empty() {
        return;
    }
    let mut messages = Vec::new();
    let mut published = Vec::new();
    for e in events {
        let p = PublishedEvent {
            at: clock.to_string(),
            event: e.clone(),
        };
        log::info!(
            "stock event: {:?} slot {} ({}) {}{}",
            e.kind,
            e.slot,
            e.sku,
            e.detail,
            if e.cleared { " [cleared]" } else { "" }
        );
        if let Ok(serde_json::Value::Object(body)) = serde_json::to_value(&p) {
            messages.push(Outgoing {
                class: Class::Critical,
                topic: "stock/events".into(),
                qos: 1,
                schema: "stock.event@1",
                body,
            });
        }
        published.push(p);
    }
    if let Err(e) = ctx.outbox.enqueue_blocking(messages) {
        log::warn!("stock: cannot queue {} events: {e}", events.len());
    }
    ctx.handle.update(|v| {
        v.events.extend(published);
        while v.events.len() > RECENT_EVENTS {
            v.events.pop_front();
        }
    });
}

fn publish_snapshot(ctx: &StockContext, clock: &str, now: SystemTime) {
    let view = ctx.handle.view();
    let mut body = serde_json::Map::new();
    body.insert("clock".into(), clock.into());
    body.insert(
        "skus".into(),
        serde_json::to_value(&view.skus).unwrap_or_default(),
    );
    // The day so far, for the products on these shelves.
    let day = sales::day_of(now);
    let today = sales::for_skus(&ctx.store, view.skus.iter().map(|s| s.sku.as_str()), &day);
    body.insert(
        "sales".into(),
        serde_json::json!({ "day": day, "skus": today }),
    );
    let msg = Outgoing {
        class: Class::State,
        topic: "stock/state".into(),
        qos: 1,
        schema: "stock.state@1",
        body,
    };
    if let Err(e) = ctx.outbox.enqueue_blocking(vec![msg]) {
        log::warn!("stock: cannot queue the state snapshot: {e}");
    }
}

/// Adds estimated sales to the per-SKU, per-day depletion totals in the store.
fn record_sales(ctx: &StockContext, tracker: &mut Tracker, now: SystemTime) {
    let sales = tracker.take_sales();
    if sales.is_empty() {
        return;
    }
    let counts: Vec<(String, u64)> = sales
        .iter()
        .map(|s| (s.sku.clone(), u64::from(s.units)))
        .collect();
    if let Err(e) = sales::add_daily_counts(&ctx.store, sales::DEPLETION, &counts, now) {
        log::warn!("stock: cannot store {} sales: {e}", sales.len());
    }
}

fn load_memory(store: &Store) -> Option<Vec<SlotMemory>> {
    let bytes = store.get(TABLE, MEMORY_KEY).ok().flatten()?;
    match serde_json::from_slice(&bytes) {
        Ok(memory) => Some(memory),
        Err(e) => {
            log::warn!("stock: ignoring the stored estimates, they do not parse: {e}");
            None
        }
    }
}

pub(super) fn save_memory(store: &Store, memory: &[SlotMemory]) {
    let Ok(bytes) = serde_json::to_vec(memory) else {
        return;
    };
    let mut batch = Batch::new();
    batch.put(TABLE, MEMORY_KEY, &bytes);
    if let Err(e) = store.commit(batch) {
        log::warn!("stock: cannot store the estimates: {e}");
    }
}

/// Labels of a slot metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct SlotLabels {
    /// Slot id.
    pub slot: String,
    /// Its product.
    pub sku: String,
}

/// Labels of a stock event metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct EventLabels {
    /// Event kind.
    pub kind: String,
}

/// Labels of a device metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct DeviceLabels {
    /// Device id from the config.
    pub device: String,
    /// camera, scale or scanner.
    pub kind: String,
}

/// Labels of a per-device counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct DeviceNameLabels {
    /// Device id from the config.
    pub device: String,
}

/// Labels of the scan counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct ScanLabels {
    /// `counted` (a catalog product) or `unknown`.
    pub result: String,
}

/// The stock stage's metrics.
#[derive(Clone, Default)]
pub struct StockMetrics {
    device_up: prometheus_client::metrics::family::Family<
        DeviceLabels,
        prometheus_client::metrics::gauge::Gauge,
    >,
    device_degraded: prometheus_client::metrics::family::Family<
        DeviceLabels,
        prometheus_client::metrics::gauge::Gauge,
    >,
    device_readings: prometheus_client::metrics::family::Family<
        DeviceNameLabels,
        prometheus_client::metrics::counter::Counter,
    >,
    device_errors: prometheus_client::metrics::family::Family<
        DeviceNameLabels,
        prometheus_client::metrics::counter::Counter,
    >,
    scans: prometheus_client::metrics::family::Family<
        ScanLabels,
        prometheus_client::metrics::counter::Counter,
    >,
    units: prometheus_client::metrics::family::Family<
        SlotLabels,
        prometheus_client::metrics::gauge::Gauge<f64, std::sync::atomic::AtomicU64>,
    >,
    confidence: prometheus_client::metrics::family::Family<
        SlotLabels,
        prometheus_client::metrics::gauge::Gauge<f64, std::sync::atomic::AtomicU64>,
    >,
    out: prometheus_client::metrics::family::Family<
        SlotLabels,
        prometheus_client::metrics::gauge::Gauge,
    >,
    events: prometheus_client::metrics::family::Family<
        EventLabels,
        prometheus_client::metrics::counter::Counter,
    >,
    frames: prometheus_client::metrics::counter::Counter,
    occluded: prometheus_client::metrics::gauge::Gauge,
    rejected_weights: prometheus_client::metrics::gauge::Gauge,
    stage_seconds: prometheus_client::metrics::family::Family<
        crate::metrics::StageLabels,
        prometheus_client::metrics::gauge::Gauge<f64, std::sync::atomic::AtomicU64>,
    >,
}

impl StockMetrics {
    /// Registers the metrics.
    pub fn register(registry: &mut prometheus_client::registry::Registry) -> StockMetrics {
        let m = StockMetrics::default();
        registry.register(
            "stock_units",
            "Estimated units on the shelf per slot",
            m.units.clone(),
        );
        registry.register(
            "stock_confidence",
            "Confidence of the estimate per slot, 0..1",
            m.confidence.clone(),
        );
        registry.register("stock_out", "1 while a slot is out of stock", m.out.clone());
        registry.register(
            "stock_events",
            "Stock events raised, per kind",
            m.events.clone(),
        );
        registry.register(
            "stock_frames",
            "Camera frames read by slotnet",
            m.frames.clone(),
        );
        registry.register(
            "stock_occluded_readings",
            "Slot readings dropped because the view was blocked",
            m.occluded.clone(),
        );
        registry.register(
            "stock_rejected_weights",
            "Load-cell readings rejected as impossible (negative, overload, leaning)",
            m.rejected_weights.clone(),
        );
        registry.register(
            "device_up",
            "1 while a shelf device delivers (ok or degraded), 0 while offline",
            m.device_up.clone(),
        );
        registry.register(
            "device_degraded",
            "1 while a shelf device delivers bad data (corrupt frames, garbage lines, wrong frame size)",
            m.device_degraded.clone(),
        );
        registry.register(
            "device_readings",
            "Good frames or lines per shelf device",
            m.device_readings.clone(),
        );
        registry.register(
            "device_errors",
            "Refused frames or lines per shelf device (corrupt, garbage, overlong, wrong size)",
            m.device_errors.clone(),
        );
        registry.register(
            "stock_scans",
            "Barcode scans: counted for a catalog product, or unknown to the catalog",
            m.scans.clone(),
        );
        registry.register(
            "stock_stage_seconds",
            "Seconds spent per stock stage since start (crop, infer)",
            m.stage_seconds.clone(),
        );
        m
    }

    /// Copies the devices' health in.
    pub(super) fn devices(&self, views: &[super::live::DeviceView]) {
        for d in views {
            let labels = DeviceLabels {
                device: d.id.clone(),
                kind: d.kind.name().into(),
            };
            self.device_up.get_or_create(&labels).set(i64::from(
                d.state != edge_sensors::HealthState::Offline.as_str(),
            ));
            self.device_degraded.get_or_create(&labels).set(i64::from(
                d.state == edge_sensors::HealthState::Degraded.as_str(),
            ));
            let name = DeviceNameLabels {
                device: d.id.clone(),
            };
            for (family, total) in [
                (&self.device_readings, d.counters.readings),
                (&self.device_errors, d.counters.errors()),
            ] {
                let counter = family.get_or_create(&name);
                counter.inc_by(total.saturating_sub(counter.get()));
            }
        }
        let unknown: u64 = views.iter().map(|d| d.counters.unknown_codes).sum();
        if unknown > 0 {
            let counter = self.scans.get_or_create(&ScanLabels {
                result: "unknown".into(),
            });
            counter.inc_by(unknown.saturating_sub(counter.get()));
        }
    }

    /// Counts scans of catalog products.
    pub(super) fn scans(&self, result: &str, n: u64) {
        self.scans
            .get_or_create(&ScanLabels {
                result: result.into(),
            })
            .inc_by(n);
    }

    fn update(
        &self,
        states: &[SlotState],
        counters: super::tracker::TrackerCounters,
        times: StageTimes,
        events: &[StockEvent],
    ) {
        for s in states {
            let labels = SlotLabels {
                slot: s.slot.clone(),
                sku: s.sku.clone(),
            };
            self.units.get_or_create(&labels).set(s.units);
            self.confidence.get_or_create(&labels).set(s.confidence);
            self.out
                .get_or_create(&labels)
                .set(i64::from(s.level == super::tracker::Level::Out));
        }
        for e in events {
            let kind = serde_json::to_value(e.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            self.events.get_or_create(&EventLabels { kind }).inc();
        }
        let frames = times.frames.saturating_sub(self.frames.get());
        self.frames.inc_by(frames);
        let c = counters;
        self.occluded.set(c.occluded_readings as i64);
        self.rejected_weights.set(c.rejected_weights as i64);
        for (stage, d) in [("crop", times.crop), ("infer", times.infer)] {
            self.stage_seconds
                .get_or_create(&crate::metrics::StageLabels {
                    stage: stage.into(),
                })
                .set(d.as_secs_f64());
        }
    }
}
