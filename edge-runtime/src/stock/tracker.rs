//! The per-slot stock tracker: camera and weight readings in, estimated units, events and
//! sales out.
//!
//! Pure logic. Time is the caller's monotonic clock in seconds (`t`): the daemon passes time
//! since start, the evaluation passes simulated time, so a wall-clock jump changes nothing here.
//!
//! Per slot:
//! - **Camera**: readings the model calls occluded are dropped; the estimate is the median of
//!   the last few clear readings (a hand in one frame moves nothing).
//! - **Weight**: readings outside what the slot can physically weigh (negative, overload,
//!   more than capacity plus a margin) are rejected and counted. A new level is accepted once
//!   it has held steady: decreases (sales) after `weight_settle_down`, increases after the
//!   longer `weight_settle_up`, so a shopper leaning on the shelf for a few seconds is not a
//!   restock.
//! - **Fusion**: inverse-variance average of the fresh estimates (the weight dominates when it
//!   is there: load cells resolve one unit, the camera about a tenth of the slot). With no
//!   fresh source the slot is *stale*: the last estimate is kept and its confidence decays. A
//!   blind camera or a dead scale never reports zero stock.
//! - **Events** with hysteresis and dwell: `low_stock`, `out_of_stock`, `restocked`,
//!   `misplaced` (the model sees another product in the slot), `sensor_fault` (camera blind or
//!   offline, scale offline, or camera and weight disagreeing for long). Faults and misplaced
//!   products also report when they clear.
//! - **Sales from depletion**: a settled whole-unit level; a decrease that holds becomes
//!   estimated sales, an increase is a restock or a put-back.

use super::SlotSpec;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Tuning of the tracker. The defaults were tuned on the simulator's tuning scenarios
/// (`edge-runtime eval stock --set tuning`).
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerSettings {
    /// Clear camera readings the median runs over.
    pub camera_window: usize,
    /// ... and only those younger than this, seconds (with slow frames the median would lag).
    pub camera_window_secs: f64,
    /// A reading with P(occluded) at or above this is dropped.
    pub occluded_threshold: f32,
    /// A source with no usable reading for this long is stale, seconds.
    pub stale_after: f64,
    /// Half-life of the confidence of a stale estimate, seconds.
    pub confidence_half_life: f64,
    /// A lower weight is accepted after holding this long, seconds.
    pub weight_settle_down: f64,
    /// A higher weight is accepted after holding this long, seconds.
    pub weight_settle_up: f64,
    /// Readings within this many units of each other count as steady.
    pub weight_steady_units: f64,
    /// Seconds a new stock level must hold before `low_stock` / `out_of_stock` fire.
    pub level_dwell: f64,
    /// Seconds a rise must hold before `restocked` fires.
    pub restock_dwell: f64,
    /// Seconds the wrong-product probability must stay high before `misplaced` fires.
    pub misplaced_dwell: f64,
    /// Wrong-product probability (median) above which a slot counts as misplaced.
    pub misplaced_threshold: f32,
    /// Seconds of occluded-only readings or no frames before the camera is reported blind.
    pub blind_after: f64,
    /// Seconds camera and weight may disagree by more than `disagree_units` before a fault.
    pub disagree_after: f64,
    /// Disagreement in units (at least; a fifth of the capacity for large slots).
    pub disagree_units: f64,
    /// Seconds a lower whole-unit level must hold before it counts as sales.
    pub sale_dwell: f64,
    /// Camera-only: out of stock below this fill (the model reads an empty slot as 0-0.05).
    pub camera_empty_fill: f32,
    /// The camera counts no unit of the slot's own product when the median P(absent) of its
    /// clear readings is at or above this (models that read it).
    pub camera_absent: f32,
}

impl Default for TrackerSettings {
    fn default() -> Self {
        TrackerSettings {
            camera_window: 5,
            camera_window_secs: 90.0,
            occluded_threshold: 0.5,
            stale_after: 30.0,
            confidence_half_life: 600.0,
            weight_settle_down: 3.0,
            weight_settle_up: 12.0,
            weight_steady_units: 0.4,
            level_dwell: 20.0,
            restock_dwell: 10.0,
            misplaced_dwell: 60.0,
            misplaced_threshold: 0.6,
            blind_after: 300.0,
            disagree_after: 600.0,
            disagree_units: 2.0,
            sale_dwell: 10.0,
            camera_empty_fill: 0.03,
            camera_absent: 0.5,
        }
    }
}

/// What slotnet read in one slot of one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraObs {
    /// Share of capacity present, 0..1.
    pub fill: f32,
    /// Probability the view is blocked.
    pub occluded: f32,
    /// Probability another product sits in the slot.
    pub wrong: f32,
    /// Probability that no unit of the slot's own product is there (slotnet 3, which sees the
    /// planned product's pack); `None` from older models or without the product's pack.
    pub absent: Option<f32>,
}

/// Where an estimate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Nothing read yet.
    None,
    /// Camera only.
    Camera,
    /// Load cell only.
    Weight,
    /// Camera and load cell.
    Fused,
    /// No fresh reading: the last estimate, with decaying confidence.
    Stale,
}

/// Stock level of a slot, with hysteresis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Above the low-stock threshold.
    Ok,
    /// At or below the low-stock threshold.
    Low,
    /// Empty.
    Out,
}

/// Kinds of stock events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Units fell to the slot's low-stock threshold.
    LowStock,
    /// The slot is empty.
    OutOfStock,
    /// The slot was refilled.
    Restocked,
    /// Another product sits in the slot (`cleared` when it is gone).
    Misplaced,
    /// A sensor cannot be trusted (`cleared` when it recovers); `detail` says which and why.
    SensorFault,
}

/// One event for store staff and headquarters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockEvent {
    /// What happened.
    pub kind: EventKind,
    /// Slot id.
    pub slot: String,
    /// The slot's product.
    pub sku: String,
    /// Estimated units when it fired.
    pub units: f64,
    /// Caller's clock, seconds.
    pub t: f64,
    /// True when a misplaced product or a sensor fault has cleared.
    pub cleared: bool,
    /// Human-readable detail (which sensor, by how much).
    pub detail: String,
}

/// The live estimate of one slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotState {
    /// Slot id.
    pub slot: String,
    /// The slot's product.
    pub sku: String,
    /// Estimated units on the shelf.
    pub units: f64,
    /// Units over capacity, 0..1.
    pub fill: f64,
    /// How much to trust `units`, 0..1.
    pub confidence: f64,
    /// Where it comes from.
    pub source: Source,
    /// Level with hysteresis.
    pub level: Level,
    /// Another product is in the slot.
    pub misplaced: bool,
    /// Active sensor faults, e.g. "camera blind".
    pub faults: Vec<String>,
    /// Caller's clock when the estimate last changed source or value, seconds.
    pub updated: f64,
}

/// Units sold, estimated from a lasting decrease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaleEstimate {
    /// Slot id.
    pub slot: String,
    /// Product.
    pub sku: String,
    /// Units.
    pub units: u32,
    /// Caller's clock, seconds.
    pub t: f64,
}

/// What survives a restart, per slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotMemory {
    /// Slot id (restored only onto the same slot id).
    pub slot: String,
    /// Last estimate.
    pub units: f64,
    /// Its confidence.
    pub confidence: f64,
    /// Level.
    pub level: Level,
    /// Settled whole units for sales.
    pub settled: Option<i64>,
    /// Misplaced flag.
    pub misplaced: bool,
    /// Weight of foreign items believed on the slot's scale, in the slot's units.
    #[serde(default)]
    pub foreign: f64,
}

/// Counters for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrackerCounters {
    /// Camera readings dropped as occluded.
    pub occluded_readings: u64,
    /// Weight readings rejected as impossible (negative, overload, spikes past capacity).
    pub rejected_weights: u64,
}

#[derive(Debug, Clone)]
struct Pending<T> {
    value: T,
    since: f64,
}

#[derive(Debug, Clone)]
struct Track {
    // camera
    clear: VecDeque<(f64, f32, f32, Option<f32>)>, // t, fill, wrong, absent
    last_frame: Option<f64>,
    last_clear: Option<f64>,
    camera_offline_since: Option<f64>,
    // weight
    raw: VecDeque<(f64, f64)>, // t, units
    weight: Option<f64>,
    last_weight: Option<f64>,
    weight_pending: Option<Pending<f64>>,
    /// Weight on the scale that is not the slot's product, in its units (see `weight_step`).
    foreign: f64,
    // output
    units: f64,
    confidence: f64,
    source: Source,
    updated: f64,
    fresh_at: f64,
    fresh_confidence: f64,
    level: Level,
    level_pending: Option<Pending<Level>>,
    misplaced: bool,
    misplaced_pending: Option<Pending<bool>>,
    disagree_since: Option<f64>,
    faults: Vec<String>,
    settled: Option<i64>,
    settled_pending: Option<Pending<i64>>,
}

/// How far (in units) a one-item weight step may be from one unit and still be the slot's own
/// product. Load cells read a unit to about 2 %; packs of one product vary by a few percent.
const OWN_STEP_TOLERANCE: f64 = 0.12;

impl Track {
    /// Keeps `foreign`, the weight on the scale that is not the slot's product, current after
    /// the settled weight moved by `step` units to `level`.
    ///
    /// A shopper who puts another product into the slot adds one item whose weight is rarely
    /// a whole number of the slot's units: a settled rise of 0.5-1.5 units that is not within
    /// [`OWN_STEP_TOLERANCE`] of one unit is taken as a foreign item, and the slot's own units
    /// are the weight minus it. Without this, the last foreign item in an emptied slot weighs
    /// as one unit and the stock-out is never reported. The foreign weight is forgotten when
    /// the same weight leaves again, when a restock (a rise of two units or more: staff take
    /// misplaced items out) happens, and when the scale is empty. A foreign item within the
    /// tolerance of the slot's own unit weight cannot be told apart by weight.
    fn weight_step(&mut self, step: f64, level: f64) {
        if step >= 1.5 {
            self.foreign = 0.0;
        } else if step >= 0.5 && (step - 1.0).abs() > OWN_STEP_TOLERANCE {
            self.foreign += step;
        } else if step <= -0.5
            && self.foreign > 0.0
            && (-step - self.foreign).abs() <= OWN_STEP_TOLERANCE / 2.0
            && (-step - 1.0).abs() > OWN_STEP_TOLERANCE / 2.0
        {
            self.foreign = 0.0;
        }
        if level < 0.25 {
            self.foreign = 0.0;
        }
        // A rise measured from a passing level (a hand still on the shelf, a put-back in two
        // moves) can look like a foreign item. Once the scale settles close on a whole number
        // of units (half the step tolerance) and the slot's own share would be clearly off
        // one, the item was the slot's own. A foreign item that weighs about one unit (within
        // the step tolerance) keeps the total off whole numbers, so it is kept.
        let off = |x: f64| (x - x.round()).abs();
        if self.foreign > 0.0
            && off(level) <= OWN_STEP_TOLERANCE / 2.0
            && off(level - self.foreign) > OWN_STEP_TOLERANCE
        {
            self.foreign = 0.0;
        }
        self.foreign = self.foreign.clamp(0.0, level.max(0.0));
    }

    fn new() -> Track {
        Track {
            clear: VecDeque::new(),
            last_frame: None,
            last_clear: None,
            camera_offline_since: None,
            raw: VecDeque::new(),
            weight: None,
            last_weight: None,
            weight_pending: None,
            foreign: 0.0,
            units: 0.0,
            confidence: 0.0,
            source: Source::None,
            updated: 0.0,
            fresh_at: 0.0,
            fresh_confidence: 0.0,
            level: Level::Ok,
            level_pending: None,
            misplaced: false,
            misplaced_pending: None,
            disagree_since: None,
            faults: Vec::new(),
            settled: None,
            settled_pending: None,
        }
    }
}

/// The tracker of every slot of a planogram.
pub struct Tracker {
    slots: Vec<SlotSpec>,
    tracks: Vec<Track>,
    settings: TrackerSettings,
    counters: TrackerCounters,
    sales: Vec<SaleEstimate>,
    started: Option<f64>,
}

fn median(values: &mut [f32]) -> f32 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

impl Tracker {
    /// A tracker for `slots` (their order is the slot index the readings use).
    pub fn new(slots: Vec<SlotSpec>, settings: TrackerSettings) -> Tracker {
        let tracks = slots.iter().map(|_| Track::new()).collect();
        Tracker {
            slots,
            tracks,
            settings,
            counters: TrackerCounters::default(),
            sales: Vec::new(),
            started: None,
        }
    }

    /// The slots, in index order.
    pub fn slots(&self) -> &[SlotSpec] {
        &self.slots
    }

    /// Counters since start.
    pub fn counters(&self) -> TrackerCounters {
        self.counters
    }

    /// Restores what a previous run remembered; slots are matched by id, others ignored. The
    /// restored estimates are stale until a sensor reads them again.
    pub fn restore(&mut self, memory: &[SlotMemory], t: f64) {
        for m in memory {
            if let Some(i) = self.slots.iter().position(|s| s.id == m.slot) {
                if !m.units.is_finite() || !m.confidence.is_finite() {
                    continue;
                }
                let track = &mut self.tracks[i];
                track.units = m.units.clamp(0.0, self.slots[i].capacity as f64 * 2.0);
                track.confidence = m.confidence.clamp(0.0, 1.0);
                track.fresh_confidence = track.confidence;
                track.fresh_at = t;
                track.source = Source::Stale;
                track.level = m.level;
                track.settled = m.settled;
                track.misplaced = m.misplaced;
                track.foreign = if m.foreign.is_finite() {
                    m.foreign.clamp(0.0, 3.0)
                } else {
                    0.0
                };
                track.updated = t;
            }
        }
    }

    /// What to keep across a restart.
    pub fn memory(&self) -> Vec<SlotMemory> {
        self.slots
            .iter()
            .zip(&self.tracks)
            .filter(|(_, t)| t.source != Source::None)
            .map(|(s, t)| SlotMemory {
                slot: s.id.clone(),
                units: t.units,
                confidence: t.confidence,
                level: t.level,
                settled: t.settled,
                misplaced: t.misplaced,
                foreign: t.foreign,
            })
            .collect()
    }

    /// One slot's slotnet reading from a frame taken at `t`. Out-of-range indices and
    /// non-finite values are ignored.
    pub fn camera(&mut self, slot: usize, t: f64, obs: CameraObs) {
        let Some(track) = self.tracks.get_mut(slot) else {
            return;
        };
        if !(obs.fill.is_finite()
            && obs.occluded.is_finite()
            && obs.wrong.is_finite()
            && obs.absent.is_none_or(f32::is_finite))
        {
            return;
        }
        track.last_frame = Some(t);
        track.camera_offline_since = None;
        if obs.occluded >= self.settings.occluded_threshold {
            self.counters.occluded_readings += 1;
            return;
        }
        track.last_clear = Some(t);
        track.clear.push_back((
            t,
            obs.fill.clamp(0.0, 1.0),
            obs.wrong.clamp(0.0, 1.0),
            obs.absent.map(|a| a.clamp(0.0, 1.0)),
        ));
        let oldest = t - self.settings.camera_window_secs;
        while track.clear.len() > self.settings.camera_window.max(1)
            || track
                .clear
                .front()
                .is_some_and(|c| c.0 < oldest && track.clear.len() > 1)
        {
            track.clear.pop_front();
        }
    }

    /// A camera cannot deliver frames (unplugged, timing out) as of `t`.
    pub fn camera_offline(&mut self, camera: usize, t: f64) {
        for (spec, track) in self.slots.iter().zip(&mut self.tracks) {
            if spec.camera == camera && track.camera_offline_since.is_none() {
                track.camera_offline_since = Some(t);
            }
        }
    }

    /// The load on a slot's scale channel at `t`, grams, tare already removed.
    pub fn weight(&mut self, slot: usize, t: f64, grams: f64) {
        let (Some(track), Some(spec)) = (self.tracks.get_mut(slot), self.slots.get(slot)) else {
            return;
        };
        let Some(unit) = spec.unit_grams.filter(|g| *g > 0.0) else {
            return;
        };
        let units = grams / unit;
        // Physically possible: not negative beyond noise, not far past a full slot (a few
        // foreign units may add weight). Leaning shoppers and overloads land outside.
        let max = spec.capacity as f64 * 1.25 + 2.0;
        if !units.is_finite() || units < -0.5 || units > max {
            self.counters.rejected_weights += 1;
            return;
        }
        track.last_weight = Some(t);
        track.raw.push_back((t, units.max(0.0)));
        while track.raw.front().is_some_and(|(rt, _)| *rt < t - 2.0) {
            track.raw.pop_front();
        }
        // Steady over the last two seconds: one candidate value.
        let (lo, hi) = track
            .raw
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, u)| {
                (lo.min(*u), hi.max(*u))
            });
        if hi - lo > self.settings.weight_steady_units {
            return;
        }
        let mut values: Vec<f32> = track.raw.iter().map(|(_, u)| *u as f32).collect();
        let candidate = median(&mut values) as f64;
        match track.weight {
            None => {
                track.weight = Some(candidate);
                track.weight_pending = None;
            }
            Some(current) if (candidate - current).abs() < 0.5 => {
                track.weight = Some(candidate);
                track.weight_pending = None;
                track.weight_step(0.0, candidate);
            }
            Some(current) => {
                let settle = if candidate < current {
                    self.settings.weight_settle_down
                } else {
                    self.settings.weight_settle_up
                };
                match &mut track.weight_pending {
                    Some(p) if (p.value - candidate).abs() < 0.5 => {
                        p.value = candidate;
                        if t - p.since >= settle {
                            track.weight = Some(candidate);
                            track.weight_pending = None;
                            track.weight_step(candidate - current, candidate);
                        }
                    }
                    _ => {
                        track.weight_pending = Some(Pending {
                            value: candidate,
                            since: t,
                        })
                    }
                }
            }
        }
    }

    /// Re-evaluates every slot at `t`; returns the events that fired.
    pub fn tick(&mut self, t: f64) -> Vec<StockEvent> {
        let started = *self.started.get_or_insert(t);
        let mut events = Vec::new();
        for i in 0..self.slots.len() {
            self.tick_slot(i, t, started, &mut events);
        }
        events
    }

    fn tick_slot(&mut self, i: usize, t: f64, started: f64, events: &mut Vec<StockEvent>) {
        let s = &self.settings;
        let spec = &self.slots[i];
        let track = &mut self.tracks[i];
        let capacity = spec.capacity.max(1) as f64;
        let event = |kind: EventKind, units: f64, cleared: bool, detail: String| StockEvent {
            kind,
            slot: spec.id.clone(),
            sku: spec.sku.clone(),
            units: (units * 10.0).round() / 10.0,
            t,
            cleared,
            detail,
        };

        // Fresh estimates.
        let camera_fresh = track.last_clear.is_some_and(|c| t - c <= s.stale_after)
            && track.camera_offline_since.is_none();
        let camera = if camera_fresh && !track.clear.is_empty() {
            let mut fills: Vec<f32> = track.clear.iter().map(|c| c.1).collect();
            let mut wrongs: Vec<f32> = track.clear.iter().map(|c| c.2).collect();
            let mut absents: Vec<f32> = track.clear.iter().filter_map(|c| c.3).collect();
            let fill = median(&mut fills);
            // Units of another product only (a put-back in an emptied slot): none of its own.
            // Believed for a few units only: a slot that looks well filled is far more often
            // its own product under odd light than a whole row of another one.
            let few = fill as f64 * capacity <= (capacity / 4.0).max(2.0);
            let own_absent = few && !absents.is_empty() && median(&mut absents) >= s.camera_absent;
            let fill = if own_absent { 0.0 } else { fill };
            Some((fill, median(&mut wrongs)))
        } else {
            None
        };
        let weight_fresh = track.last_weight.is_some_and(|w| t - w <= s.stale_after);
        // The slot's own units: the weight less any foreign item on the scale.
        let weight = track
            .weight
            .filter(|_| weight_fresh)
            .map(|w| (w - track.foreign).max(0.0));

        let sigma_c = 0.1 * capacity + 0.5;
        let sigma_w = 0.15;
        let (units, confidence, source) = match (camera, weight) {
            (Some((fill, _)), Some(w)) => {
                let c = fill as f64 * capacity;
                let (wc, ww) = (1.0 / (sigma_c * sigma_c), 1.0 / (sigma_w * sigma_w));
                let units = (c * wc + w * ww) / (wc + ww);
                let agree = (c - w).abs() <= 2.0 * sigma_c;
                (units, if agree { 0.95 } else { 0.75 }, Source::Fused)
            }
            (None, Some(w)) => (w, 0.9, Source::Weight),
            (Some((fill, _)), None) => {
                let units = if fill < s.camera_empty_fill {
                    0.0
                } else {
                    fill as f64 * capacity
                };
                (units, 0.8, Source::Camera)
            }
            (None, None) => {
                let age = t - track.fresh_at;
                let decay = 0.5f64.powf(age.max(0.0) / s.confidence_half_life.max(1.0));
                let source = if track.source == Source::None {
                    Source::None
                } else {
                    Source::Stale
                };
                (track.units, track.fresh_confidence * decay, source)
            }
        };
        if source != Source::Stale && source != Source::None {
            track.fresh_at = t;
            track.fresh_confidence = confidence;
        }
        if (units - track.units).abs() > 0.05 || source != track.source {
            track.updated = t;
        }
        track.units = units;
        track.confidence = confidence;
        track.source = source;
        let fresh = matches!(source, Source::Camera | Source::Weight | Source::Fused);

        // Level with hysteresis and dwell; a stale slot keeps its level.
        if fresh {
            let low = spec.low_stock as f64;
            let target = match track.level {
                Level::Ok if units < 0.5 => Level::Out,
                Level::Ok if units <= low + 0.25 => Level::Low,
                Level::Ok => Level::Ok,
                Level::Low if units < 0.5 => Level::Out,
                Level::Low if units >= low + 1.0 => Level::Ok,
                Level::Low => Level::Low,
                Level::Out if units >= (low + 1.0).max(1.0) => Level::Ok,
                Level::Out if units >= 1.0 => Level::Low,
                Level::Out => Level::Out,
            };
            if target == track.level {
                track.level_pending = None;
            } else {
                let dwell = if rank(target) < rank(track.level) {
                    s.restock_dwell
                } else {
                    s.level_dwell
                };
                let pending = match &track.level_pending {
                    Some(p) if p.value == target => p.since,
                    _ => {
                        track.level_pending = Some(Pending {
                            value: target,
                            since: t,
                        });
                        t
                    }
                };
                if t - pending >= dwell {
                    let from = track.level;
                    track.level = target;
                    track.level_pending = None;
                    match target {
                        Level::Out => events.push(event(
                            EventKind::OutOfStock,
                            units,
                            false,
                            format!("empty ({source:?} estimate)").to_lowercase(),
                        )),
                        Level::Low if from == Level::Ok => events.push(event(
                            EventKind::LowStock,
                            units,
                            false,
                            format!("{units:.1} of {} units left", spec.capacity),
                        )),
                        _ => events.push(event(
                            EventKind::Restocked,
                            units,
                            false,
                            format!("{units:.1} of {} units", spec.capacity),
                        )),
                    }
                }
            }
        }

        // Misplaced products, from the camera's wrong-product reading.
        if let Some((_, wrong)) = camera {
            let target = if track.misplaced {
                wrong > s.misplaced_threshold * 0.5
            } else {
                wrong > s.misplaced_threshold
            };
            if target == track.misplaced {
                track.misplaced_pending = None;
            } else {
                let since = match &track.misplaced_pending {
                    Some(p) if p.value == target => p.since,
                    _ => {
                        track.misplaced_pending = Some(Pending {
                            value: target,
                            since: t,
                        });
                        t
                    }
                };
                if t - since >= s.misplaced_dwell {
                    track.misplaced = target;
                    track.misplaced_pending = None;
                    events.push(event(
                        EventKind::Misplaced,
                        units,
                        !target,
                        if target {
                            format!("another product seen in the slot (p={wrong:.2})")
                        } else {
                            "the slot holds only its own product again".into()
                        },
                    ));
                }
            }
        }

        // Sensor faults.
        let mut faults = Vec::new();
        let frames_since = track.last_frame.unwrap_or(started);
        if let Some(off) = track.camera_offline_since {
            if t - off >= s.blind_after {
                faults.push("camera offline".to_string());
            }
        } else if t - frames_since >= s.blind_after {
            faults.push("camera sends no frames".to_string());
        } else if t - track.last_clear.unwrap_or(started) >= s.blind_after {
            faults.push("camera blind (view blocked)".to_string());
        }
        if spec.scale.is_some() && t - track.last_weight.unwrap_or(started) >= s.blind_after {
            faults.push("scale silent or out of range".to_string());
        }
        if let (Some((fill, _)), Some(w)) = (camera, weight) {
            let c = fill as f64 * capacity;
            let limit = s.disagree_units.max(0.2 * capacity);
            if (c - w).abs() > limit {
                let since = *track.disagree_since.get_or_insert(t);
                if t - since >= s.disagree_after {
                    faults.push(format!(
                        "camera ({c:.1} units) and scale ({w:.1} units) disagree"
                    ));
                }
            } else {
                track.disagree_since = None;
            }
        } else {
            track.disagree_since = None;
        }
        let kind = |f: &str| f.split(' ').take(1).collect::<String>();
        for f in &faults {
            if !track.faults.iter().any(|old| kind(old) == kind(f)) {
                events.push(event(EventKind::SensorFault, units, false, f.clone()));
            }
        }
        for old in &track.faults {
            if !faults.iter().any(|f| kind(f) == kind(old)) {
                events.push(event(
                    EventKind::SensorFault,
                    units,
                    true,
                    format!("cleared: {old}"),
                ));
            }
        }
        track.faults = faults;

        // Sales from depletion: a settled whole-unit level.
        if fresh {
            let margin = if weight.is_some() { 0.5 } else { 0.7 };
            let whole = units.round() as i64;
            match track.settled {
                None => track.settled = Some(whole),
                Some(level) => {
                    let moved = (units - level as f64).abs() >= margin && whole != level;
                    if !moved {
                        track.settled_pending = None;
                    } else {
                        let since = match &track.settled_pending {
                            Some(p) if p.value == whole => p.since,
                            _ => {
                                track.settled_pending = Some(Pending {
                                    value: whole,
                                    since: t,
                                });
                                t
                            }
                        };
                        if t - since >= s.sale_dwell {
                            if whole < level {
                                self.sales.push(SaleEstimate {
                                    slot: spec.id.clone(),
                                    sku: spec.sku.clone(),
                                    units: (level - whole) as u32,
                                    t,
                                });
                            }
                            track.settled = Some(whole);
                            track.settled_pending = None;
                        }
                    }
                }
            }
        }
    }

    /// The live state of every slot.
    pub fn states(&self) -> Vec<SlotState> {
        self.slots
            .iter()
            .zip(&self.tracks)
            .map(|(spec, t)| SlotState {
                slot: spec.id.clone(),
                sku: spec.sku.clone(),
                units: (t.units * 100.0).round() / 100.0,
                fill: (t.units / spec.capacity.max(1) as f64).clamp(0.0, 1.5),
                confidence: (t.confidence * 1000.0).round() / 1000.0,
                source: t.source,
                level: t.level,
                misplaced: t.misplaced,
                faults: t.faults.clone(),
                updated: t.updated,
            })
            .collect()
    }

    /// Sales estimated since the last call.
    pub fn take_sales(&mut self) -> Vec<SaleEstimate> {
        std::mem::take(&mut self.sales)
    }
}

fn rank(level: Level) -> u8 {
    match level {
        Level::Ok => 0,
        Level::Low => 1,
        Level::Out => 2,
    }
}

/// Per-product view: every slot of a SKU summed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkuState {
    /// Product.
    pub sku: String,
    /// Units over all its slots.
    pub units: f64,
    /// The lowest confidence of its slots.
    pub confidence: f64,
    /// Out of stock in every slot.
    pub out_of_stock: bool,
    /// Slots holding it.
    pub slots: Vec<String>,
}

/// Sums slot states per SKU, in SKU order.
pub fn per_sku(states: &[SlotState]) -> Vec<SkuState> {
    let mut by: std::collections::BTreeMap<&str, SkuState> = Default::default();
    for s in states {
        let entry = by.entry(&s.sku).or_insert_with(|| SkuState {
            sku: s.sku.clone(),
            units: 0.0,
            confidence: 1.0,
            out_of_stock: true,
            slots: Vec::new(),
        });
        entry.units += s.units;
        entry.confidence = entry.confidence.min(s.confidence);
        entry.out_of_stock &= s.level == Level::Out;
        entry.slots.push(s.slot.clone());
    }
    by.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use edge_models::Quad;

    fn slot(id: &str, capacity: u32, scale: bool) -> SlotSpec {
        SlotSpec {
            id: id.into(),
            camera: 0,
            quad: Quad::rect(0.0, 0.0, 100.0, 100.0).unwrap(),
            sku: format!("SKU-{id}"),
            facings: 2,
            capacity,
            unit_grams: Some(250.0),
            scale: scale.then(|| ("scale".to_string(), 0)),
            low_stock: 2,
            pack: None,
        }
    }

    fn clear(fill: f32) -> CameraObs {
        CameraObs {
            fill,
            occluded: 0.02,
            wrong: 0.02,
            absent: None,
        }
    }

    /// Feeds camera (and weight, if given) once a second from `from` to `to`.
    fn run(
        tr: &mut Tracker,
        from: f64,
        to: f64,
        fill: impl Fn(f64) -> Option<CameraObs>,
        grams: impl Fn(f64) -> Option<f64>,
    ) -> Vec<StockEvent> {
        let mut events = Vec::new();
        let mut t = from;
        while t < to {
            if let Some(obs) = fill(t) {
                tr.camera(0, t, obs);
            }
            if let Some(g) = grams(t) {
                tr.weight(0, t, g);
            }
            events.extend(tr.tick(t));
            t += 1.0;
        }
        events
    }

    fn kinds(events: &[StockEvent]) -> Vec<(EventKind, bool)> {
        events.iter().map(|e| (e.kind, e.cleared)).collect()
    }

    #[test]
    fn camera_only_goes_low_then_out_then_restocked_once_each() {
        let mut tr = Tracker::new(vec![slot("a", 8, false)], TrackerSettings::default());
        let fill = |t: f64| {
            Some(clear(if t < 100.0 {
                0.75
            } else if t < 200.0 {
                0.25
            } else if t < 300.0 {
                0.0
            } else {
                1.0
            }))
        };
        let events = run(&mut tr, 0.0, 400.0, fill, |_| None);
        assert_eq!(
            kinds(&events),
            vec![
                (EventKind::LowStock, false),
                (EventKind::OutOfStock, false),
                (EventKind::Restocked, false)
            ]
        );
        let out = &events[1];
        assert!(
            out.t >= 220.0 && out.t <= 230.0,
            "out after the dwell: {}",
            out.t
        );
        let sold: u32 = tr.take_sales().iter().map(|s| s.units).sum();
        assert_eq!(sold, 6, "8*0.75 = 6 units went before the restock");
    }

    /// The first slot's units.
    fn units_at(tr: &Tracker) -> f64 {
        tr.states()[0].units
    }

    #[test]
    fn the_camera_sees_a_slot_holding_only_another_product_as_out_of_stock() {
        // camera only: 3 of 8 units, then the last one taken and another product's item put
        // back, which the model reads as one unit (fill 1/8) of a product that is not this one
        let reading = |absent: Option<f32>| {
            move |t: f64| {
                Some(if t < 100.0 {
                    CameraObs {
                        absent: absent.map(|_| 0.01),
                        ..clear(0.375)
                    }
                } else {
                    CameraObs {
                        fill: 0.125,
                        occluded: 0.02,
                        wrong: 0.9,
                        absent,
                    }
                })
            }
        };
        let outs = |events: &[StockEvent]| {
            events
                .iter()
                .filter(|e| e.kind == EventKind::OutOfStock && !e.cleared)
                .count()
        };
        let mut tr = Tracker::new(vec![slot("a", 8, false)], TrackerSettings::default());
        let events = run(&mut tr, 0.0, 300.0, reading(Some(0.93)), |_| None);
        assert_eq!(outs(&events), 1, "{events:?}");
        assert!(units_at(&tr) < 0.01, "{}", units_at(&tr));
        // a model without the absent reading cannot tell: one unit stays one unit
        let mut tr = Tracker::new(vec![slot("a", 8, false)], TrackerSettings::default());
        let events = run(&mut tr, 0.0, 300.0, reading(None), |_| None);
        assert_eq!(outs(&events), 0, "{events:?}");
        // nor does a doubtful reading (median below the threshold) empty the slot
        let mut tr = Tracker::new(vec![slot("a", 8, false)], TrackerSettings::default());
        let events = run(&mut tr, 0.0, 300.0, reading(Some(0.3)), |_| None);
        assert_eq!(outs(&events), 0, "{events:?}");
    }

    #[test]
    fn a_foreign_item_left_in_an_emptied_slot_is_still_a_stock_out() {
        let mut tr = Tracker::new(vec![slot("a", 8, true)], TrackerSettings::default());
        // 3 own units; at 100 s a shopper leaves a 190 g item of another product; at 300 s
        // and 400 s the own units go (2, then 1); at 600 s the last one.
        let grams = |t: f64| {
            let own = if t < 300.0 {
                3.0
            } else if t < 400.0 {
                2.0
            } else if t < 600.0 {
                1.0
            } else {
                0.0
            };
            Some(own * 250.0 + if t >= 100.0 { 190.0 } else { 0.0 })
        };
        // The camera sees the foreign pack as some fill throughout.
        let fill = |t: f64| Some(clear(if t < 600.0 { 0.45 } else { 0.15 }));
        let events = run(&mut tr, 0.0, 250.0, fill, grams);
        assert!(
            (units_at(&tr) - 3.0).abs() < 0.1,
            "own units only: {}",
            units_at(&tr)
        );
        assert!(!kinds(&events).contains(&(EventKind::OutOfStock, false)));
        let events = run(&mut tr, 250.0, 700.0, fill, grams);
        assert!(units_at(&tr) < 0.2, "{}", units_at(&tr));
        assert!(
            kinds(&events).contains(&(EventKind::OutOfStock, false)),
            "{events:?}"
        );
        let sold: u32 = tr.take_sales().iter().map(|s| s.units).sum();
        assert_eq!(
            sold, 3,
            "the foreign item is not a sale of the slot's product"
        );
        // Staff restock 6 and take the foreign item out: back to plain units.
        let events = run(
            &mut tr,
            700.0,
            800.0,
            |_| Some(clear(0.75)),
            |_| Some(1500.0),
        );
        assert!((units_at(&tr) - 6.0).abs() < 0.1, "{}", units_at(&tr));
        assert!(kinds(&events).contains(&(EventKind::Restocked, false)));
        // The memory keeps the foreign weight across a restart.
        assert_eq!(tr.memory()[0].foreign, 0.0);
    }

    #[test]
    fn a_put_back_in_two_moves_is_not_taken_for_a_foreign_item() {
        // one unit left, taken, then put back: the scale first settles at 0.78 units (a hand
        // still resting on the pack), then at one unit
        let mut tr = Tracker::new(vec![slot("a", 8, true)], TrackerSettings::default());
        let grams = |t: f64| {
            Some(
                250.0
                    * if t < 100.0 {
                        1.0
                    } else if t < 150.0 {
                        0.0
                    } else if t < 180.0 {
                        0.78
                    } else {
                        1.0
                    },
            )
        };
        run(&mut tr, 0.0, 400.0, |_| None, grams);
        assert!((units_at(&tr) - 1.0).abs() < 0.05, "{}", units_at(&tr));
    }

    #[test]
    fn a_foreign_item_taken_away_again_is_forgotten() {
        let mut tr = Tracker::new(vec![slot("a", 8, true)], TrackerSettings::default());
        // 4 own units, a 320 g foreign item from 100 s to 300 s.
        let grams = |t: f64| {
            Some(
                1000.0
                    + if (100.0..300.0).contains(&t) {
                        320.0
                    } else {
                        0.0
                    },
            )
        };
        run(&mut tr, 0.0, 200.0, |_| Some(clear(0.5)), grams);
        assert!((units_at(&tr) - 4.0).abs() < 0.1, "{}", units_at(&tr));
        assert!(
            (tr.memory()[0].foreign - 1.28).abs() < 0.05,
            "{:?}",
            tr.memory()
        );
        run(&mut tr, 200.0, 400.0, |_| Some(clear(0.5)), grams);
        assert!((units_at(&tr) - 4.0).abs() < 0.1, "{}", units_at(&tr));
        assert_eq!(tr.memory()[0].foreign, 0.0);
        assert!(
            tr.take_sales().is_empty(),
            "nothing of the slot's product left"
        );
    }

    #[test]
    fn a_put_back_of_the_own_product_is_not_foreign() {
        let mut tr = Tracker::new(vec![slot("a", 8, true)], TrackerSettings::default());
        // 2 units, one put back at 100 s reading 3 % light.
        let grams = |t: f64| Some(if t < 100.0 { 500.0 } else { 742.5 });
        run(&mut tr, 0.0, 200.0, |_| Some(clear(0.35)), grams);
        assert_eq!(tr.memory()[0].foreign, 0.0);
        assert!((units_at(&tr) - 2.97).abs() < 0.1, "{}", units_at(&tr));
    }

    #[test]
    fn occlusion_for_30_seconds_raises_nothing() {
        let mut tr = Tracker::new(vec![slot("a", 8, false)], TrackerSettings::default());
        let fill = |t: f64| {
            Some(if (100.0..130.0).contains(&t) {
                // A shopper in front: the model sees the shopper (and a low fill).
                CameraObs {
                    fill: 0.0,
                    occluded: 0.97,
                    wrong: 0.1,
                    absent: None,
                }
            } else {
                clear(0.5)
            })
        };
        let events = run(&mut tr, 0.0, 300.0, fill, |_| None);
        assert!(events.is_empty(), "{events:?}");
        assert_eq!(tr.counters().occluded_readings, 30);
        assert_eq!(tr.states()[0].units, 4.0);
    }

    #[test]
    fn an_undetected_short_occlusion_is_outvoted_by_the_median() {
        let mut tr = Tracker::new(vec![slot("a", 8, false)], TrackerSettings::default());
        // Two frames of a hand the model missed.
        let fill = |t: f64| Some(clear(if t == 50.0 || t == 51.0 { 0.0 } else { 0.5 }));
        let events = run(&mut tr, 0.0, 120.0, fill, |_| None);
        assert!(events.is_empty(), "{events:?}");
        assert!(tr.take_sales().is_empty());
    }

    #[test]
    fn weight_dominates_and_a_leaning_shopper_is_not_a_restock() {
        let mut tr = Tracker::new(vec![slot("a", 8, true)], TrackerSettings::default());
        let fill = |_: f64| Some(clear(0.45)); // the camera is a bit off
                                               // 3 units; a shopper leans on the shelf (+8 kg) for 8 s, then +600 g for 8 s.
        let grams = |t: f64| {
            Some(
                750.0
                    + if (50.0..58.0).contains(&t) {
                        8000.0
                    } else if (80.0..88.0).contains(&t) {
                        600.0
                    } else {
                        0.0
                    },
            )
        };
        let events = run(&mut tr, 0.0, 200.0, fill, grams);
        let state = &tr.states()[0];
        assert_eq!(state.source, Source::Fused);
        assert!((state.units - 3.0).abs() < 0.15, "{state:?}");
        assert!(tr.counters().rejected_weights >= 8);
        assert!(tr.take_sales().is_empty());
        assert!(
            events.iter().all(|e| e.kind != EventKind::Restocked),
            "{events:?}"
        );
    }

    #[test]
    fn weight_sales_are_counted_exactly() {
        let mut tr = Tracker::new(vec![slot("a", 8, true)], TrackerSettings::default());
        let grams = |t: f64| Some(250.0 * (8 - (t / 60.0).floor().min(8.0) as i64) as f64 + 3.0);
        run(&mut tr, 0.0, 600.0, |_| None, grams);
        let sold: u32 = tr.take_sales().iter().map(|s| s.units).sum();
        assert_eq!(sold, 8);
        assert_eq!(tr.states()[0].level, Level::Out);
    }

    #[test]
    fn an_offline_camera_goes_stale_never_to_zero_and_raises_a_fault() {
        let mut tr = Tracker::new(vec![slot("a", 8, false)], TrackerSettings::default());
        run(&mut tr, 0.0, 60.0, |_| Some(clear(0.5)), |_| None);
        tr.camera_offline(0, 60.0);
        let events = run(&mut tr, 60.0, 3660.0, |_| None, |_| None);
        let state = &tr.states()[0];
        assert_eq!(state.source, Source::Stale);
        assert_eq!(state.units, 4.0);
        assert!(
            state.confidence < 0.8 * 0.3,
            "decayed: {}",
            state.confidence
        );
        assert_eq!(state.level, Level::Ok);
        assert_eq!(kinds(&events), vec![(EventKind::SensorFault, false)]);
        assert!(events[0].detail.contains("camera offline"));
        // Back online: the fault clears.
        let events = run(&mut tr, 3660.0, 3700.0, |_| Some(clear(0.5)), |_| None);
        assert_eq!(kinds(&events), vec![(EventKind::SensorFault, true)]);
    }

    #[test]
    fn misplaced_fires_after_its_dwell_and_clears() {
        let mut tr = Tracker::new(vec![slot("a", 8, false)], TrackerSettings::default());
        let fill = |t: f64| {
            Some(CameraObs {
                fill: 0.6,
                occluded: 0.0,
                wrong: if (100.0..300.0).contains(&t) {
                    0.9
                } else {
                    0.05
                },
                absent: None,
            })
        };
        let events = run(&mut tr, 0.0, 500.0, fill, |_| None);
        assert_eq!(
            kinds(&events),
            vec![(EventKind::Misplaced, false), (EventKind::Misplaced, true)]
        );
    }

    #[test]
    fn persistent_disagreement_is_a_sensor_fault() {
        let mut tr = Tracker::new(vec![slot("a", 8, true)], TrackerSettings::default());
        // The camera sees a full slot, the scale weighs an empty one (e.g. dummies on display).
        let events = run(&mut tr, 0.0, 800.0, |_| Some(clear(1.0)), |_| Some(0.0));
        assert!(events
            .iter()
            .any(|e| e.kind == EventKind::SensorFault && e.detail.contains("disagree")));
    }

    #[test]
    fn garbage_readings_change_nothing() {
        let mut tr = Tracker::new(vec![slot("a", 8, true)], TrackerSettings::default());
        run(&mut tr, 0.0, 30.0, |_| Some(clear(0.5)), |_| Some(1000.0));
        let before = tr.states();
        for g in [f64::NAN, f64::INFINITY, -5000.0, 1e12] {
            tr.weight(0, 31.0, g);
        }
        tr.camera(
            0,
            31.0,
            CameraObs {
                fill: f32::NAN,
                occluded: 0.0,
                wrong: 0.0,
                absent: None,
            },
        );
        tr.camera(7, 31.0, clear(0.5));
        tr.weight(7, 31.0, 100.0);
        tr.tick(31.0);
        assert_eq!(tr.states()[0].units, before[0].units);
        assert_eq!(tr.counters().rejected_weights, 4);
    }

    #[test]
    fn a_clock_jump_raises_nothing_false() {
        let mut tr = Tracker::new(vec![slot("a", 8, true)], TrackerSettings::default());
        run(&mut tr, 0.0, 100.0, |_| Some(clear(0.5)), |_| Some(1000.0));
        // The caller's clock jumps back an hour, then forward a day: readings keep coming.
        let mut events = run(
            &mut tr,
            -3600.0,
            -3500.0,
            |_| Some(clear(0.5)),
            |_| Some(1000.0),
        );
        events.extend(run(
            &mut tr,
            86_400.0,
            86_500.0,
            |_| Some(clear(0.5)),
            |_| Some(1000.0),
        ));
        let state = &tr.states()[0];
        assert!((state.units - 4.0).abs() < 0.1, "{state:?}");
        assert!(
            events
                .iter()
                .all(|e| e.kind != EventKind::OutOfStock && e.kind != EventKind::LowStock),
            "{events:?}"
        );
        assert!(tr.take_sales().is_empty());
    }

    #[test]
    fn memory_round_trips_and_restores_stale() {
        let mut tr = Tracker::new(vec![slot("a", 8, false)], TrackerSettings::default());
        run(&mut tr, 0.0, 30.0, |_| Some(clear(0.25)), |_| None);
        let memory = tr.memory();
        let json = serde_json::to_string(&memory).unwrap();
        let mut again = Tracker::new(vec![slot("a", 8, false)], TrackerSettings::default());
        again.restore(
            &serde_json::from_str::<Vec<SlotMemory>>(&json).unwrap(),
            0.0,
        );
        let events = again.tick(100.0);
        assert!(events.is_empty());
        let state = &again.states()[0];
        assert_eq!(
            (state.units, state.source, state.level),
            (2.0, Source::Stale, Level::Low)
        );
    }
}
