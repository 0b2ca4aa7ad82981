//! The live stock stage: the configured shelf cameras, scales and barcode scanners feed the
//! tracker of the planogram's slots, and the outcome is published like the demo's.
//!
//! Starting it is split in two. [`wire`] is pure: it matches the config's devices to the
//! planogram by id (cameras by camera id, scales by the slots' `scale`), routes each scale
//! channel to its slot, and lists every mismatch with its fix; a slot whose camera or scale is
//! missing runs on what remains instead of stopping the stage. [`spawn_live`] is the I/O
//! shell: one capture thread per camera, one serial reader per scale and scanner, and the stock
//! thread that takes the newest frame of each camera, reads it with slotnet, feeds weights and
//! ticks the tracker about once a second on a monotonic clock.

use super::pipeline::{FrameRejected, ShelfReader, StageTimes};
use super::planogram::Planogram;
use super::service::{self, Publisher, StockContext};
use super::tracker::Tracker;
use super::SlotSpec;
use crate::catalog::Catalog;
use crate::config::{CameraConfig, CameraSource, ScaleConfig, ScaleProtocolName, ScannerConfig};
use crate::models::hub::Lookup;
use edge_sensors::camera::{CameraHealth, CaptureSettings, CaptureThread, FrameSource};
use edge_sensors::{
    Barcode, DeviceHealth, FolderSource, HealthState, ImageFileSource, PollSettings, ScaleMessage,
    SerialLineReader, SerialPoll, SerialSettings, Stability, Tare, V4lSource,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant, SystemTime};

/// Seconds between two tracker ticks.
const TICK: Duration = Duration::from_secs(1);
/// How often the stage looks for frames, weights and scans.
const POLL: Duration = Duration::from_millis(50);
/// A repeated device complaint is logged at most this often.
const LOG_EVERY: Duration = Duration::from_secs(60);
/// Readings taken from one serial device per poll, at most (the rest wait for the next).
const MAX_READINGS_PER_POLL: usize = 256;

/// A configured camera that films a planogram camera.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraLink {
    /// The camera's config entry.
    pub config: CameraConfig,
    /// Index of its camera in the planogram.
    pub index: usize,
    /// Frame width the planogram's slots are drawn for.
    pub width: u32,
    /// Frame height the planogram's slots are drawn for.
    pub height: u32,
}

/// A configured scale and the slot each of its channels weighs.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleLink {
    /// The scale's config entry.
    pub config: ScaleConfig,
    /// Channel to slot index.
    pub routes: BTreeMap<u32, usize>,
}

/// How the configured devices serve the planogram: what [`spawn_live`] starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Wiring {
    /// The planogram's slots; a slot whose scale cannot deliver has its scale removed.
    pub slots: Vec<SlotSpec>,
    /// Cameras to read.
    pub cameras: Vec<CameraLink>,
    /// Scales to read.
    pub scales: Vec<ScaleLink>,
    /// Scanners to read.
    pub scanners: Vec<ScannerConfig>,
    /// Mismatches that leave slots without a sensor, each with its fix (logged as errors).
    pub problems: Vec<String>,
    /// Devices the planogram does not use (logged as warnings).
    pub notes: Vec<String>,
}

/// Matches the config's devices to the planogram; pure.
pub fn wire(
    planogram: &Planogram,
    mut slots: Vec<SlotSpec>,
    cameras: &[CameraConfig],
    scales: &[ScaleConfig],
    scanners: &[ScannerConfig],
) -> Wiring {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let slot_ids = |camera: usize, slots: &[SlotSpec]| -> Vec<String> {
        slots
            .iter()
            .filter(|s| s.camera == camera)
            .map(|s| s.id.clone())
            .collect()
    };

    let mut links = Vec::new();
    for (index, plan) in planogram.cameras.iter().enumerate() {
        let ids = slot_ids(index, &slots);
        let Some(config) = cameras.iter().find(|c| c.id == plan.id) else {
            if !ids.is_empty() {
                problems.push(format!(
                    "planogram camera {:?} is not in the config: slots {} run on their scales only, or go stale\n  \
                     fix: add [[cameras]] with id = {:?} and its source (\"/dev/videoN\", \"file:PATH\" or \"folder:PATH\") to the config",
                    plan.id,
                    ids.join(", "),
                    plan.id
                ));
            }
            continue;
        };
        let wanted = (
            config.width.unwrap_or(plan.width),
            config.height.unwrap_or(plan.height),
        );
        if wanted != (plan.width, plan.height) {
            problems.push(format!(
                "camera {:?}: the config asks for {}x{} frames but the planogram's slots are drawn for {}x{}: its frames will be skipped\n  \
                 fix: set width = {} and height = {} for this camera in the config (or leave both out), or redraw the slots",
                plan.id, wanted.0, wanted.1, plan.width, plan.height, plan.width, plan.height
            ));
        }
        links.push(CameraLink {
            config: config.clone(),
            index,
            width: plan.width,
            height: plan.height,
        });
    }
    for config in cameras {
        if planogram.camera_index(&config.id).is_none() {
            notes.push(format!(
                "camera {:?} is configured but the planogram has no camera with this id: it is not read",
                config.id
            ));
        }
    }

    let mut scale_links: Vec<ScaleLink> = scales
        .iter()
        .map(|config| ScaleLink {
            config: config.clone(),
            routes: BTreeMap::new(),
        })
        .collect();
    let mut unconfigured: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, slot) in slots.iter_mut().enumerate() {
        let Some((scale_id, channel)) = slot.scale.clone() else {
            continue;
        };
        let Some(link) = scale_links.iter_mut().find(|l| l.config.id == scale_id) else {
            unconfigured
                .entry(scale_id)
                .or_default()
                .push(format!("{} (channel {channel})", slot.id));
            slot.scale = None;
            continue;
        };
        if link.config.protocol == ScaleProtocolName::Sics {
            let own = u32::from(link.config.channel.unwrap_or(0));
            if channel != own {
                problems.push(format!(
                    "slot {} is on channel {channel} of scale {scale_id:?}, a SICS scale whose weight counts as channel {own}: the slot gets no weight and runs camera-only\n  \
                     fix: set channel = {channel} for this scale in the config, or channel = {own} for the slot in the planogram",
                    slot.id
                ));
                slot.scale = None;
                continue;
            }
        }
        link.routes.insert(channel, i);
    }
    for (scale_id, on_it) in unconfigured {
        problems.push(format!(
            "slots {} are on scale {scale_id:?}, which is not in the config: they run camera-only\n  \
             fix: add [[scales]] with id = {scale_id:?}, its port and protocol to the config",
            on_it.join(", ")
        ));
    }
    for link in &scale_links {
        if link.routes.is_empty() {
            notes.push(format!(
                "scale {:?} is configured but no planogram slot is on it: its readings are counted, not used",
                link.config.id
            ));
        }
    }
    Wiring {
        slots,
        cameras: links,
        scales: scale_links,
        scanners: scanners.to_vec(),
        problems,
        notes,
    }
}

/// A GTIN as a 14-digit key, so that EAN-8, UPC-A, EAN-13 and GTIN-14 of one product match.
pub fn gtin_key(code: &str) -> Option<String> {
    let code = code.trim();
    if matches!(code.len(), 8 | 12 | 13 | 14) && code.bytes().all(|b| b.is_ascii_digit()) {
        Some(format!("{code:0>14}"))
    } else {
        None
    }
}

/// The catalog's barcodes (`attributes.ean`, a string or a number) to SKUs, by [`gtin_key`].
pub fn ean_index(catalog: &Catalog) -> HashMap<String, String> {
    let mut index = HashMap::new();
    for product in &catalog.products {
        let code = match product.attributes.get("ean") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => continue,
        };
        match gtin_key(&code) {
            Some(key) => {
                index.insert(key, product.sku.clone());
            }
            None => log::warn!(
                "catalog: product {} has ean {code:?}, which is not an EAN/UPC; its scans are not counted",
                product.sku
            ),
        }
    }
    index
}

/// Kind of shelf device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// A shelf camera.
    Camera,
    /// A scale or load-cell board.
    Scale,
    /// A barcode scanner.
    Scanner,
}

impl DeviceKind {
    /// The name in metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Camera => "camera",
            DeviceKind::Scale => "scale",
            DeviceKind::Scanner => "scanner",
        }
    }
}

/// Running totals of one device, as shown in `/api/stock`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeviceCounts {
    /// Good frames or lines.
    pub readings: u64,
    /// Frames or lines the decoder refused (corrupt picture, unknown answer, bad check digit).
    pub rejected: u64,
    /// Lines that were not text (line noise, wrong baud rate).
    pub garbage: u64,
    /// Lines longer than the bound.
    pub overlong: u64,
    /// Readings replaced or dropped before the stage took them.
    pub dropped: u64,
    /// Times the device came back after being lost.
    pub reconnects: u64,
    /// Frames of another size than the planogram's, skipped.
    pub wrong_size: u64,
    /// Weights on a channel no slot uses, or unsettled weights.
    pub unused: u64,
    /// Valid scans of a code the catalog does not know.
    pub unknown_codes: u64,
}

impl DeviceCounts {
    /// Everything counted as an error of the device or its data.
    pub fn errors(&self) -> u64 {
        self.rejected + self.garbage + self.overlong + self.wrong_size
    }
}

/// Health of one shelf device, as shown in `/api/stock` and `/metrics`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceView {
    /// Device id from the config.
    pub id: String,
    /// Camera, scale or scanner.
    pub kind: DeviceKind,
    /// Where it is read from (device path, file, folder).
    pub source: String,
    /// `ok`, `degraded` or `offline`.
    pub state: &'static str,
    /// Most recent error, kept after recovery.
    pub last_error: Option<String>,
    /// When the last good reading arrived (RFC 3339).
    pub last_reading: Option<String>,
    /// Running totals.
    pub counters: DeviceCounts,
}

impl DeviceView {
    fn new(id: &str, kind: DeviceKind, source: &str) -> DeviceView {
        DeviceView {
            id: id.to_string(),
            kind,
            source: source.to_string(),
            state: HealthState::Offline.as_str(),
            last_error: None,
            last_reading: None,
            counters: DeviceCounts::default(),
        }
    }

    /// Copies a device's own health in; the stage's counters stay.
    fn absorb(&mut self, health: &DeviceHealth) {
        self.state = health.state.as_str();
        self.last_error = health.last_error.clone();
        self.last_reading = health.last_reading.map(crate::clock::rfc3339);
        let c = &health.counters;
        self.counters.readings = c.lines;
        self.counters.rejected = c.rejected;
        self.counters.garbage = c.garbage;
        self.counters.overlong = c.overlong;
        self.counters.dropped = c.dropped;
        self.counters.reconnects = c.reconnects;
    }
}

/// Starts the live stage on its own thread; the devices are opened on it.
pub fn spawn_live(
    ctx: StockContext,
    wiring: Wiring,
    eans: HashMap<String, String>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("stock".into())
        .spawn(move || run_live(&ctx, wiring, &eans))
}

/// One camera as the stage runs it.
struct LiveCamera {
    link: CameraLink,
    /// None when the capture thread could not start (the reason is in `view`).
    thread: Option<CaptureThread>,
    reader: ShelfReader,
    view: DeviceView,
    wrong_size: u64,
    /// The last frame was refused for its size: the camera shows `degraded`.
    last_wrong: Option<String>,
    last_complaint: Option<Instant>,
}

/// One scale as the stage runs it.
struct LiveScale {
    link: ScaleLink,
    tare: Tare,
    reader: Option<(SerialLineReader, Receiver<ScaleMessage>)>,
    view: DeviceView,
    unused: u64,
}

/// One scanner as the stage runs it.
struct LiveScanner {
    reader: Option<(SerialLineReader, Receiver<Barcode>)>,
    view: DeviceView,
    unknown: u64,
    last_complaint: Option<Instant>,
}

fn complain_now(last: &mut Option<Instant>) -> bool {
    if last.is_some_and(|at| at.elapsed() < LOG_EVERY) {
        return false;
    }
    *last = Some(Instant::now());
    true
}

fn camera_source(config: &CameraConfig, link: &CameraLink) -> Result<Box<dyn FrameSource>, String> {
    let interval = Duration::from_secs_f64(1.0 / config.fps.clamp(0.05, 60.0));
    let poll = PollSettings {
        interval,
        wait: Duration::from_secs(config.frame_timeout_secs).max(interval),
        ..PollSettings::default()
    };
    match config.camera_source()? {
        CameraSource::File(path) => Ok(Box::new(ImageFileSource::new(&config.id, path, poll))),
        CameraSource::Folder(path) => Ok(Box::new(FolderSource::new(&config.id, path, poll))),
        CameraSource::V4l(device) => {
            let mut settings = edge_sensors::CameraSettings::new(device.as_str());
            settings.width = config.width.unwrap_or(link.width);
            settings.height = config.height.unwrap_or(link.height);
            settings.fps = config.fps.round().clamp(1.0, 60.0) as u32;
            settings.pixel_format = match config.format {
                crate::config::CameraFormat::Mjpeg => edge_sensors::PixelFormat::Mjpeg,
                crate::config::CameraFormat::Yuyv => edge_sensors::PixelFormat::Yuyv,
            };
            V4lSource::new(&config.id, settings)
                .map(|s| Box::new(s) as Box<dyn FrameSource>)
                .map_err(|e| e.to_string())
        }
    }
}

fn start_camera(link: CameraLink, slots: &[SlotSpec]) -> LiveCamera {
    let config = &link.config;
    let mut view = DeviceView::new(&config.id, DeviceKind::Camera, &config.source);
    let settings = CaptureSettings {
        frame_timeout: Duration::from_secs(config.frame_timeout_secs.max(1)),
        ..CaptureSettings::default()
    };
    let thread = camera_source(config, &link)
        .and_then(|source| CaptureThread::spawn(source, settings).map_err(|e| e.to_string()));
    let thread = match thread {
        Ok(thread) => Some(thread),
        Err(e) => {
            log::error!("camera {}: cannot start: {e}", config.id);
            view.last_error = Some(e);
            None
        }
    };
    let reader = ShelfReader::new(&config.id, link.index, link.width, link.height, slots);
    LiveCamera {
        link,
        thread,
        reader,
        view,
        wrong_size: 0,
        last_wrong: None,
        last_complaint: None,
    }
}

fn serial_settings(port: &str, baud: u32, parity: crate::config::Parity) -> SerialSettings {
    let mut settings = SerialSettings::new(port, baud);
    settings.parity = parity.into();
    settings
}

fn start_scale(link: ScaleLink) -> LiveScale {
    let config = &link.config;
    let mut view = DeviceView::new(&config.id, DeviceKind::Scale, &config.port);
    let mut settings = serial_settings(&config.port, config.baud, config.parity);
    settings.poll = config.poll_ms.map(|ms| SerialPoll {
        command: edge_sensors::SICS_POLL.to_vec(),
        every: Duration::from_millis(ms),
    });
    let protocol = config.protocol();
    let reader =
        match SerialLineReader::spawn_with(settings, move |line: &str| protocol.parse(line)) {
            Ok(reader) => Some(reader),
            Err(e) => {
                log::error!("scale {}: cannot start: {e}", config.id);
                view.last_error = Some(e.to_string());
                None
            }
        };
    LiveScale {
        tare: config.tare(),
        link,
        reader,
        view,
        unused: 0,
    }
}

fn start_scanner(config: &ScannerConfig) -> LiveScanner {
    let mut view = DeviceView::new(&config.id, DeviceKind::Scanner, &config.port);
    let settings = serial_settings(&config.port, config.baud, config.parity);
    let reader = match SerialLineReader::spawn_with(settings, edge_sensors::barcode::parse_barcode)
    {
        Ok(reader) => Some(reader),
        Err(e) => {
            log::error!("scanner {}: cannot start: {e}", config.id);
            view.last_error = Some(e.to_string());
            None
        }
    };
    LiveScanner {
        reader,
        view,
        unknown: 0,
        last_complaint: None,
    }
}

impl LiveCamera {
    /// Reports an offline camera to the tracker and reads its newest frame, if slotnet is
    /// there to read it.
    fn poll(
        &mut self,
        ctx: &StockContext,
        tracker: &mut Tracker,
        t: f64,
        slotnet: Option<&edge_models::SlotNet>,
    ) {
        let Some(thread) = &self.thread else {
            tracker.camera_offline(self.link.index, t);
            return;
        };
        let health: CameraHealth = thread.health();
        if health.state == HealthState::Offline {
            tracker.camera_offline(self.link.index, t);
        }
        let Some(frame) = thread.try_recv() else {
            return;
        };
        // Frames taken while slotnet loads are dropped: the shelf will be seen again.
        let Some(slotnet) = slotnet else { return };
        let read = self
            .reader
            .read(slotnet, frame.width, frame.height, &frame.pixels);
        ctx.report_read(&read);
        match read {
            Ok(readings) => {
                self.last_wrong = None;
                for (slot, obs) in readings {
                    tracker.camera(slot, t, obs);
                }
            }
            Err(e) => {
                if matches!(e, FrameRejected::WrongResolution { .. }) {
                    self.wrong_size += 1;
                    self.last_wrong = Some(e.to_string());
                }
                if complain_now(&mut self.last_complaint) {
                    log::warn!("stock: {e} (logged at most once a minute)");
                }
            }
        }
    }

    fn refresh(&mut self) {
        if let Some(thread) = &self.thread {
            self.view.absorb(&thread.health().to_device_health());
        }
        self.view.counters.wrong_size = self.wrong_size;
        if let Some(why) = &self.last_wrong {
            if self.view.state == HealthState::Ok.as_str() {
                self.view.state = HealthState::Degraded.as_str();
            }
            self.view.last_error = Some(why.clone());
        }
    }
}

impl LiveScale {
    fn poll(&mut self, tracker: &mut Tracker, t: f64) {
        let Some((_, rx)) = &self.reader else { return };
        for message in rx.try_iter().take(MAX_READINGS_PER_POLL) {
            let ScaleMessage::Reading(reading) = message else {
                // Overload, underload, busy: the weight is unknown now, which staleness covers.
                continue;
            };
            if reading.stability == Stability::Dynamic {
                self.unused += 1;
                continue;
            }
            let reading = self.tare.apply(reading);
            match self.link.routes.get(&u32::from(reading.channel)) {
                Some(&slot) => tracker.weight(slot, t, reading.grams),
                None => self.unused += 1,
            }
        }
    }

    fn refresh(&mut self) {
        if let Some((reader, _)) = &self.reader {
            self.view.absorb(&reader.health());
        }
        self.view.counters.unused = self.unused;
    }
}

impl LiveScanner {
    /// Takes the waiting scans; returns the SKUs of the known ones.
    fn poll(&mut self, eans: &HashMap<String, String>, skus: &mut Vec<(String, u64)>) {
        let Some((_, rx)) = &self.reader else { return };
        for scan in rx.try_iter().take(MAX_READINGS_PER_POLL) {
            match gtin_key(&scan.code).and_then(|key| eans.get(&key)) {
                Some(sku) => skus.push((sku.clone(), 1)),
                None => {
                    self.unknown += 1;
                    if complain_now(&mut self.last_complaint) {
                        log::warn!(
                            "scanner {}: code {:?} is not in the catalog; not counted (logged at most once a minute)",
                            self.view.id,
                            scan.code
                        );
                    }
                }
            }
        }
    }

    fn refresh(&mut self) {
        if let Some((reader, _)) = &self.reader {
            self.view.absorb(&reader.health());
        }
        self.view.counters.unknown_codes = self.unknown;
    }
}

fn sum_times(cameras: &[LiveCamera]) -> StageTimes {
    cameras.iter().fold(StageTimes::default(), |sum, c| {
        let t = c.reader.times();
        StageTimes {
            frames: sum.frames + t.frames,
            crop: sum.crop + t.crop,
            infer: sum.infer + t.infer,
        }
    })
}

fn run_live(ctx: &StockContext, wiring: Wiring, eans: &HashMap<String, String>) {
    let Wiring {
        slots,
        cameras,
        scales,
        scanners,
        problems,
        ..
    } = wiring;
    let mut tracker = ctx.new_tracker();
    let mut cameras: Vec<LiveCamera> = cameras
        .into_iter()
        .map(|link| start_camera(link, &slots))
        .collect();
    let mut scales: Vec<LiveScale> = scales.into_iter().map(start_scale).collect();
    let mut scanners: Vec<LiveScanner> = scanners.iter().map(start_scanner).collect();
    log::info!(
        "stock: live shelves with {} slots, {} cameras, {} scales, {} scanners",
        slots.len(),
        cameras.len(),
        scales.len(),
        scanners.len()
    );
    ctx.handle.update(|v| {
        v.source = "shelf devices".into();
        v.problems = problems.clone();
        v.waiting = Some("waiting for slotnet to load (scales are read meanwhile)".into());
    });

    let started = Instant::now();
    let mut publisher = Publisher::new();
    let mut next_tick = started;
    let mut slotnet_state = None::<bool>;
    let mut scans: Vec<(String, u64)> = Vec::new();
    while !ctx.stop.load(Ordering::Relaxed) {
        ctx.heartbeat.beat();
        let model = match ctx.slotnet() {
            Lookup::Ready(m) => {
                if slotnet_state != Some(true) {
                    slotnet_state = Some(true);
                    ctx.handle.update(|v| v.waiting = None);
                }
                Some(m)
            }
            Lookup::Missing => {
                if slotnet_state != Some(false) {
                    slotnet_state = Some(false);
                    log::error!("stock: slotnet did not load (see the models lines above): cameras are not read, slots run on their scales");
                    ctx.handle.update(|v| {
                        v.waiting =
                            Some("slotnet did not load: cameras are not read, scales only".into())
                    });
                }
                None
            }
            Lookup::Loading => None,
        };
        let t = started.elapsed().as_secs_f64();
        for camera in &mut cameras {
            camera.poll(ctx, &mut tracker, t, model.as_deref());
        }
        for scale in &mut scales {
            scale.poll(&mut tracker, t);
        }
        for scanner in &mut scanners {
            scanner.poll(eans, &mut scans);
        }

        let now = Instant::now();
        if now >= next_tick {
            next_tick += TICK;
            if next_tick < now {
                next_tick = now + TICK;
            }
            let events = tracker.tick(t);
            publisher.publish(
                ctx,
                &mut tracker,
                sum_times(&cameras),
                &events,
                SystemTime::now(),
                false,
            );
            if !scans.is_empty() {
                match super::sales::add_daily_counts(
                    &ctx.store,
                    super::sales::SCANS,
                    &scans,
                    SystemTime::now(),
                ) {
                    Ok(()) => ctx.metrics.scans("counted", scans.len() as u64),
                    Err(e) => log::warn!("stock: cannot store {} scans: {e}", scans.len()),
                }
                scans.clear();
            }
            let mut views = Vec::new();
            for c in &mut cameras {
                c.refresh();
                views.push(c.view.clone());
            }
            for s in &mut scales {
                s.refresh();
                views.push(s.view.clone());
            }
            for s in &mut scanners {
                s.refresh();
                views.push(s.view.clone());
            }
            ctx.metrics.devices(&views);
            ctx.handle.update(|v| v.devices = views);
        }
        service::sleep_unless_stopped(&ctx.stop, POLL);
    }

    service::save_memory(&ctx.store, &tracker.memory());
    for camera in cameras {
        if let Some(thread) = camera.thread {
            let report = thread.stop();
            if report != edge_sensors::camera::StopReport::Joined {
                log::warn!("stock: {report}");
            }
        }
    }
    // Dropping the readers stops and joins their threads (one read timeout each).
    drop(scales);
    drop(scanners);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const PLANOGRAM: &str = r#"
version = "t1"
[[cameras]]
id = "cam-a"
width = 640
height = 360
[[cameras.slots]]
id = "A1"
sku = "X1"
rect = [10, 10, 100, 100]
facings = 2
capacity = 6
unit_weight_g = 100.0
scale = "board"
channel = 0
[[cameras.slots]]
id = "A2"
sku = "X2"
rect = [200, 10, 100, 100]
facings = 2
capacity = 6
unit_weight_g = 50.0
scale = "board"
channel = 1
[[cameras.slots]]
id = "A3"
sku = "X3"
rect = [400, 10, 100, 100]
facings = 2
capacity = 6
unit_weight_g = 50.0
scale = "gone"
channel = 0
[[cameras]]
id = "cam-b"
width = 640
height = 360
[[cameras.slots]]
id = "B1"
sku = "X4"
rect = [10, 10, 100, 100]
facings = 2
capacity = 6
unit_weight_g = 80.0
scale = "sics"
channel = 3
"#;

    fn config(devices: &str) -> Config {
        Config::from_toml(
            &format!("[identity]\nstore_id = \"s\"\ndevice_id = \"d\"\n{devices}"),
            "cfg.toml",
        )
        .unwrap()
    }

    #[test]
    fn devices_are_matched_to_the_planogram_and_every_mismatch_has_a_fix() {
        let planogram = Planogram::from_toml(PLANOGRAM, "p.toml", None).unwrap();
        let c = config(
            "[[cameras]]\nid = \"cam-a\"\nsource = \"folder:/srv/a\"\nwidth = 1280\n\
             [[cameras]]\nid = \"cam-z\"\nsource = \"folder:/srv/z\"\n\
             [[scales]]\nid = \"board\"\nport = \"/dev/ttyUSB0\"\nprotocol = \"channel-grams\"\n\
             [[scales]]\nid = \"sics\"\nport = \"/dev/ttyUSB1\"\nprotocol = \"sics\"\n\
             [[scales]]\nid = \"spare\"\nport = \"/dev/ttyUSB2\"\nprotocol = \"sics\"\n",
        );
        let w = wire(
            &planogram,
            planogram.slots(None),
            &c.cameras,
            &c.scales,
            &c.scanners,
        );
        // cam-a is read (index 0, planogram size); cam-b is missing, cam-z unused.
        assert_eq!(w.cameras.len(), 1);
        assert_eq!(
            (w.cameras[0].index, w.cameras[0].width, w.cameras[0].height),
            (0, 640, 360)
        );
        let all = w.problems.join("\n");
        assert!(
            all.contains("planogram camera \"cam-b\" is not in the config: slots B1"),
            "{all}"
        );
        assert!(all.contains("asks for 1280x360"), "{all}");
        assert!(
            all.contains("slots A3 (channel 0) are on scale \"gone\""),
            "{all}"
        );
        assert!(
            all.contains("slot B1 is on channel 3 of scale \"sics\""),
            "{all}"
        );
        assert!(w.problems.iter().all(|p| p.contains("fix:")), "{all}");
        let notes = w.notes.join("\n");
        assert!(notes.contains("\"cam-z\""), "{notes}");
        assert!(notes.contains("\"spare\""), "{notes}");

        // The board's channels route to A1 and A2; A3 and B1 lost their scale.
        assert_eq!(
            w.scales[0].routes,
            BTreeMap::from([(0, 0), (1, 1)]),
            "{:?}",
            w.scales
        );
        assert!(w.scales[1].routes.is_empty());
        let scale_of = |id: &str| w.slots.iter().find(|s| s.id == id).unwrap().scale.clone();
        assert_eq!(scale_of("A1"), Some(("board".into(), 0)));
        assert_eq!(scale_of("A3"), None);
        assert_eq!(scale_of("B1"), None);
    }

    #[test]
    fn a_complete_config_has_no_problems() {
        let planogram = Planogram::from_toml(PLANOGRAM, "p.toml", None).unwrap();
        let c = config(
            "[[cameras]]\nid = \"cam-a\"\nsource = \"folder:/srv/a\"\n\
             [[cameras]]\nid = \"cam-b\"\nsource = \"file:/srv/b.jpg\"\nwidth = 640\nheight = 360\n\
             [[scales]]\nid = \"board\"\nport = \"/dev/ttyUSB0\"\nprotocol = \"channel-grams\"\n\
             [[scales]]\nid = \"gone\"\nport = \"/dev/ttyUSB2\"\nprotocol = \"sics\"\n\
             [[scales]]\nid = \"sics\"\nport = \"/dev/ttyUSB1\"\nprotocol = \"sics\"\nchannel = 3\n",
        );
        let w = wire(
            &planogram,
            planogram.slots(None),
            &c.cameras,
            &c.scales,
            &c.scanners,
        );
        assert!(w.problems.is_empty(), "{:#?}", w.problems);
        assert!(w.notes.is_empty(), "{:#?}", w.notes);
        assert_eq!(w.cameras.len(), 2);
        assert_eq!(w.scales[2].routes, BTreeMap::from([(3, 3)]));
        assert_eq!(w.slots, planogram.slots(None));
    }

    #[test]
    fn barcodes_match_the_catalog_in_any_gtin_length() {
        let catalog = Catalog::demo().unwrap();
        let eans = ean_index(&catalog);
        assert_eq!(eans.len(), catalog.products.len());
        let key = gtin_key("2001378190001").unwrap();
        assert_eq!(eans.get(&key).map(String::as_str), Some("SKU01378"));
        assert_eq!(gtin_key("02001378190001"), Some(key));
        assert_eq!(gtin_key("012345678905").unwrap(), "00012345678905");
        assert_eq!(gtin_key("LOYALTY-42"), None);
        assert_eq!(gtin_key("12345"), None);
    }
}
