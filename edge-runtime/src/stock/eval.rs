//! `edge-runtime eval stock`: replays simulated store scenarios with known ground truth through
//! the real pipeline (rendered frames, slot crops, slotnet, tracker) and measures it.
//!
//! Each scenario runs the simulated store second by second. Every `frame_secs` the shelf is
//! rendered and read by slotnet; the readings go to two trackers, one that also gets the
//! simulated load cells every second ("with weight") and one that does not ("camera only").
//! Measured against the simulator's truth:
//! - units MAE: mean |estimate - true units| over every slot at every frame (after the first
//!   minute);
//! - out-of-stock recall: share of true stock-outs lasting at least [`MIN_OUT_SECS`] that got
//!   an `out_of_stock` event before they ended (or within [`LATE_SECS`] after);
//! - precision: share of `out_of_stock` events that fell inside a true stock-out (same
//!   tolerance);
//! - median delay from the true stock-out to its event;
//! - false events per day: `out_of_stock` events outside a stock-out, and `low_stock` events
//!   while the slot held more than its threshold plus one, per 24 simulated hours.
//!
//! Scenarios come in two sets with different seeds and mixes: `tuning` (the tracker's
//! settings were chosen on it) and `reporting` (the figures in the notes).

use super::pipeline::ShelfReader;
use super::tracker::{CameraObs, EventKind, StockEvent, Tracker, TrackerSettings};
use super::SlotSpec;
use crate::catalog::Catalog;
use edge_models::SlotNet;
use edge_sensors::sim::render::ShelfRenderer;
use edge_sensors::sim::store::{ScenarioParams, StoreSim};
use edge_sensors::sim::{PackLook, PackShape, SimSlot};
use std::time::{Duration, Instant, SystemTime};

/// Stock-outs shorter than this are not counted for recall (the dwell alone is 20 s).
pub const MIN_OUT_SECS: f64 = 60.0;
/// An event this long after a stock-out ended still counts for it.
pub const LATE_SECS: f64 = 30.0;

/// Which scenarios to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScenarioSet {
    /// The scenarios the tracker was tuned on.
    Tuning,
    /// Held-out scenarios for the reported figures.
    Reporting,
}

/// One scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name in the report.
    pub name: String,
    /// Simulator seed (also seeds the renderer).
    pub seed: u64,
    /// Simulated hours.
    pub hours: f64,
    /// Store behaviour.
    pub params: ScenarioParams,
}

/// The scenarios of a set. Tuning and reporting use different seeds.
pub fn scenarios(set: ScenarioSet) -> Vec<Scenario> {
    let base = match set {
        ScenarioSet::Tuning => 1000,
        ScenarioSet::Reporting => 2000,
    };
    let mut list = vec![
        Scenario {
            name: "busy".into(),
            seed: base + 1,
            hours: 2.0,
            params: ScenarioParams::busy(),
        },
        Scenario {
            name: "occlusion-heavy".into(),
            seed: base + 2,
            hours: 2.0,
            params: ScenarioParams::occlusion_heavy(),
        },
        Scenario {
            name: "quiet".into(),
            seed: base + 3,
            hours: 2.0,
            params: ScenarioParams::quiet(),
        },
    ];
    if set == ScenarioSet::Reporting {
        list.push(Scenario {
            name: "busy-2".into(),
            seed: base + 4,
            hours: 2.0,
            params: ScenarioParams::busy(),
        });
    }
    list
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Seconds between camera frames (simulated time).
    pub frame_secs: f64,
    /// Override every scenario's length, hours.
    pub hours: Option<f64>,
    /// Write every slot reading as CSV here (for tuning and for looking at failures).
    pub trace: Option<std::path::PathBuf>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            frame_secs: 5.0,
            hours: None,
            trace: None,
        }
    }
}

/// Figures of one tracker in one scenario.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackerFigures {
    /// Mean absolute error in units.
    pub units_mae: f64,
    /// True stock-outs counted.
    pub outs: usize,
    /// Of those, detected.
    pub detected: usize,
    /// `out_of_stock` events.
    pub out_events: usize,
    /// Of those, inside a true stock-out.
    pub true_out_events: usize,
    /// Seconds from each detected stock-out to its event.
    pub delays: Vec<f64>,
    /// False `out_of_stock` + `low_stock` events.
    pub false_events: usize,
}

/// Result of one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// Scenario name.
    pub name: String,
    /// Simulated hours.
    pub hours: f64,
    /// Frames read.
    pub frames: u64,
    /// Stock-outs shorter than [`MIN_OUT_SECS`] (not counted).
    pub short_outs: usize,
    /// With the load cells.
    pub weight: TrackerFigures,
    /// Camera only.
    pub camera: TrackerFigures,
    /// Wall time spent.
    pub wall: Duration,
    /// Wall time in rendering (the simulator, not the product).
    pub render: Duration,
}

/// The simulator's view of the planogram's slots, with looks and popularity from the catalog.
pub fn sim_slots(slots: &[SlotSpec], catalog: &Catalog) -> Result<Vec<SimSlot>, String> {
    slots
        .iter()
        .map(|s| {
            let product = catalog
                .products
                .iter()
                .find(|p| p.sku == s.sku)
                .ok_or_else(|| format!("slot {}: SKU {} is not in the catalog", s.id, s.sku))?;
            // The pack the planogram read from the catalog (checked there); a product whose
            // pack is missing or incomplete is drawn grey, as a box, where the catalog is silent.
            let look = |sku: &str| -> PackLook {
                if let Some(p) = &s.pack {
                    return PackLook {
                        sku: sku.to_string(),
                        shape: PackShape::parse(&p.shape).unwrap_or(PackShape::Box),
                        primary: p.primary,
                        secondary: p.secondary,
                    };
                }
                let pack = product.attributes.get("pack");
                let colour = |key: &str| -> [u8; 3] {
                    let v = pack.and_then(|p| p.get(key)).and_then(|c| c.as_array());
                    let mut rgb = [128u8; 3];
                    if let Some(v) = v {
                        for (dst, src) in rgb.iter_mut().zip(v) {
                            *dst = src.as_u64().unwrap_or(128).min(255) as u8;
                        }
                    }
                    rgb
                };
                PackLook {
                    sku: sku.to_string(),
                    shape: pack
                        .and_then(|p| p.get("shape"))
                        .and_then(|s| s.as_str())
                        .and_then(PackShape::parse)
                        .unwrap_or(PackShape::Box),
                    primary: colour("primary"),
                    secondary: colour("secondary"),
                }
            };
            let popularity = product
                .attributes
                .get("popularity")
                .and_then(|p| p.as_f64())
                .unwrap_or(0.05);
            let facings = s.facings.max(1);
            Ok(SimSlot {
                id: s.id.clone(),
                camera: s.camera,
                quad: s.quad.corners(),
                look: look(&s.sku),
                facings,
                depth: s.capacity.div_ceil(facings).max(1),
                unit_grams: s.unit_grams.unwrap_or(250.0),
                scale_channel: s.scale.as_ref().map(|(_, c)| *c),
                popularity,
            })
        })
        .collect()
}

/// Reads every simulated load cell once and hands the readings to `tracker` at `t`.
pub fn feed_scales(sim: &mut StoreSim, slots: &[SimSlot], tracker: &mut Tracker, t: f64) {
    for (i, slot) in slots.iter().enumerate() {
        if let Some(grams) = slot.scale_channel.and_then(|c| sim.scale_reading(c)) {
            tracker.weight(i, t, grams);
        }
    }
}

struct OutInterval {
    slot: usize,
    start: f64,
    end: Option<f64>,
}

/// Runs one scenario on the planogram's slots (one camera, `width` x `height`).
pub fn run_scenario(
    model: &SlotNet,
    slots: &[SlotSpec],
    catalog: &Catalog,
    camera: (&str, u32, u32),
    scenario: &Scenario,
    options: &EvalOptions,
    settings: &TrackerSettings,
) -> Result<ScenarioResult, String> {
    let started = Instant::now();
    let (camera_id, width, height) = camera;
    let sims = sim_slots(slots, catalog)?;
    let epoch = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    let mut sim = StoreSim::new(sims.clone(), scenario.params.clone(), scenario.seed, epoch)?;
    let mut renderer = ShelfRenderer::new(0, width, height, &sims, scenario.seed)?;
    let mut reader = ShelfReader::new(camera_id, 0, width, height, slots);
    let mut with_weight = Tracker::new(slots.to_vec(), settings.clone());
    let mut camera_only = Tracker::new(slots.to_vec(), settings.clone());
    let hours = options.hours.unwrap_or(scenario.hours);
    let seconds = (hours * 3600.0).round() as u64;
    let frame_every = options.frame_secs.max(0.5);

    let mut intervals: Vec<OutInterval> = Vec::new();
    let mut open: Vec<Option<usize>> = vec![None; slots.len()];
    let mut truth_log: Vec<Vec<u32>> = Vec::with_capacity(seconds as usize + 1);
    let mut events_w: Vec<StockEvent> = Vec::new();
    let mut events_c: Vec<StockEvent> = Vec::new();
    let (mut err_w, mut err_c, mut samples) = (0.0f64, 0.0f64, 0u64);
    let mut frames = 0u64;
    let mut render_time = Duration::ZERO;
    let mut next_frame = 0.0f64;
    let mut trace = match &options.trace {
        Some(path) => {
            // Appended: one file holds every scenario of a run (the command truncates it).
            let file = std::fs::File::options()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("cannot write the trace {}: {e}", path.display()))?;
            let empty = file.metadata().map(|m| m.len() == 0).unwrap_or(false);
            let mut w = std::io::BufWriter::new(file);
            use std::io::Write;
            if empty {
                writeln!(w, "scenario,t,slot,truth,foreign,coverage,fill,occluded,wrong,units_weight,units_camera,absent")
                    .map_err(|e| e.to_string())?;
            }
            Some(w)
        }
        None => None,
    };

    for second in 0..=seconds {
        let t = second as f64;
        if second > 0 {
            sim.advance(Duration::from_secs(1));
        }
        let truth: Vec<u32> = sim.contents().iter().map(|c| c.units).collect();
        for (i, units) in truth.iter().enumerate() {
            match (open[i], *units == 0) {
                (None, true) => {
                    open[i] = Some(intervals.len());
                    intervals.push(OutInterval {
                        slot: i,
                        start: t,
                        end: None,
                    });
                }
                (Some(k), false) => {
                    intervals[k].end = Some(t);
                    open[i] = None;
                }
                _ => {}
            }
        }
        // Load cells every second, for the weight tracker.
        feed_scales(&mut sim, &sims, &mut with_weight, t);
        if t >= next_frame {
            next_frame += frame_every;
            if sim.camera_online(0) {
                let r0 = Instant::now();
                let frame = renderer.render(sim.contents(), &sim.occluders(), second);
                render_time += r0.elapsed();
                let readings = reader
                    .read(model, frame.width, frame.height, &frame.rgb)
                    .map_err(|e| e.to_string())?;
                frames += 1;
                let traced = trace
                    .is_some()
                    .then(|| (with_weight.states(), camera_only.states()));
                for (i, obs) in readings {
                    let obs: CameraObs = obs;
                    with_weight.camera(i, t, obs);
                    camera_only.camera(i, t, obs);
                    if let Some(w) = trace.as_mut() {
                        use std::io::Write;
                        let coverage = frame
                            .coverage
                            .iter()
                            .find(|(k, _)| *k == i)
                            .map_or(0.0, |(_, c)| *c);
                        let _ = writeln!(
                            w,
                            "{},{t},{},{},{},{coverage:.3},{:.3},{:.3},{:.3},{:.2},{:.2},{}",
                            scenario.name,
                            slots[i].id,
                            truth[i],
                            sim.contents()[i].foreign.len(),
                            obs.fill,
                            obs.occluded,
                            obs.wrong,
                            traced.as_ref().map_or(0.0, |(w, _)| w[i].units),
                            traced.as_ref().map_or(0.0, |(_, c)| c[i].units),
                            obs.absent.map_or(String::new(), |a| format!("{a:.3}")),
                        );
                    }
                }
            } else {
                with_weight.camera_offline(0, t);
                camera_only.camera_offline(0, t);
            }
            if t >= 60.0 {
                for (state_w, (state_c, units)) in with_weight
                    .states()
                    .iter()
                    .zip(camera_only.states().iter().zip(&truth))
                {
                    err_w += (state_w.units - *units as f64).abs();
                    err_c += (state_c.units - *units as f64).abs();
                    samples += 1;
                }
            }
        }
        let (new_w, new_c) = (with_weight.tick(t), camera_only.tick(t));
        if let Some(w) = trace.as_mut() {
            use std::io::Write;
            for (tracker, e) in new_w
                .iter()
                .map(|e| ("weight", e))
                .chain(new_c.iter().map(|e| ("camera", e)))
            {
                let i = slots.iter().position(|s| s.id == e.slot).unwrap_or(0);
                // Event rows: `fill` holds the event kind, `occluded` which tracker raised it.
                let _ = writeln!(
                    w,
                    "{},{t},{},{},{},,{:?}{},{tracker},,{:.2},",
                    scenario.name,
                    e.slot,
                    truth[i],
                    sim.contents()[i].foreign.len(),
                    e.kind,
                    if e.cleared { "-cleared" } else { "" },
                    e.units
                );
            }
        }
        events_w.extend(new_w);
        events_c.extend(new_c);
        truth_log.push(truth);
    }
    let end = seconds as f64;
    let short_outs = intervals
        .iter()
        .filter(|iv| iv.end.unwrap_or(end) - iv.start < MIN_OUT_SECS && iv.end.is_some())
        .count();
    let figures = |events: &[StockEvent], mae: f64| -> TrackerFigures {
        let counted: Vec<&OutInterval> = intervals
            .iter()
            .filter(|iv| iv.end.unwrap_or(f64::INFINITY) - iv.start >= MIN_OUT_SECS)
            .collect();
        let mut f = TrackerFigures {
            units_mae: mae,
            outs: counted.len(),
            ..Default::default()
        };
        let slot_index = |id: &str| slots.iter().position(|s| s.id == id);
        for iv in &counted {
            let hit = events.iter().find(|e| {
                e.kind == EventKind::OutOfStock
                    && slot_index(&e.slot) == Some(iv.slot)
                    && e.t >= iv.start
                    && e.t <= iv.end.map_or(f64::INFINITY, |x| x + LATE_SECS)
            });
            if let Some(e) = hit {
                f.detected += 1;
                f.delays.push(e.t - iv.start);
            }
        }
        for e in events {
            let Some(slot) = slot_index(&e.slot) else {
                continue;
            };
            match e.kind {
                EventKind::OutOfStock => {
                    f.out_events += 1;
                    let inside = intervals.iter().any(|iv| {
                        iv.slot == slot
                            && e.t >= iv.start
                            && e.t <= iv.end.map_or(f64::INFINITY, |x| x + LATE_SECS)
                    });
                    if inside {
                        f.true_out_events += 1;
                    } else {
                        f.false_events += 1;
                    }
                }
                EventKind::LowStock => {
                    let second = (e.t as usize).min(truth_log.len() - 1);
                    if truth_log[second][slot] > slots[slot].low_stock + 1 {
                        f.false_events += 1;
                    }
                }
                _ => {}
            }
        }
        f
    };
    let samples = samples.max(1) as f64;
    Ok(ScenarioResult {
        name: scenario.name.clone(),
        hours,
        frames,
        short_outs,
        weight: figures(&events_w, err_w / samples),
        camera: figures(&events_c, err_c / samples),
        wall: started.elapsed(),
        render: render_time,
    })
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    Some(values[values.len() / 2])
}

/// The report: one block per scenario and the totals against the goals.
pub fn report(results: &[ScenarioResult]) -> String {
    let mut out = String::new();
    let line = |name: &str, hours: f64, f: &TrackerFigures| {
        let mut delays = f.delays.clone();
        format!(
            "  {name:<12} units MAE {:.3}  out-of-stock recall {}/{} precision {}/{}  median delay {}  false events/day {:.1}\n",
            f.units_mae,
            f.detected,
            f.outs,
            f.true_out_events,
            f.out_events,
            median(&mut delays).map_or("-".into(), |d| format!("{d:.0} s")),
            f.false_events as f64 * 24.0 / hours.max(1e-9),
        )
    };
    let mut total = [TrackerFigures::default(), TrackerFigures::default()];
    let mut hours = 0.0;
    let mut weighted_mae = [0.0, 0.0];
    for r in results {
        out.push_str(&format!(
            "{} ({:.1} h simulated, {} frames, {} stock-outs shorter than {MIN_OUT_SECS} s not counted; {:.0} s wall, {:.0} s of it rendering)\n",
            r.name,
            r.hours,
            r.frames,
            r.short_outs,
            r.wall.as_secs_f64(),
            r.render.as_secs_f64()
        ));
        out.push_str(&line("with weight", r.hours, &r.weight));
        out.push_str(&line("camera only", r.hours, &r.camera));
        hours += r.hours;
        for (k, f) in [&r.weight, &r.camera].into_iter().enumerate() {
            weighted_mae[k] += f.units_mae * r.hours;
            total[k].outs += f.outs;
            total[k].detected += f.detected;
            total[k].out_events += f.out_events;
            total[k].true_out_events += f.true_out_events;
            total[k].delays.extend(&f.delays);
            total[k].false_events += f.false_events;
        }
    }
    for (k, f) in total.iter_mut().enumerate() {
        f.units_mae = weighted_mae[k] / hours.max(1e-9);
    }
    out.push_str(&format!("all scenarios ({hours:.1} h)\n"));
    out.push_str(&line("with weight", hours, &total[0]));
    out.push_str(&line("camera only", hours, &total[1]));
    // `None`: nothing to measure (no stock-out, or no out-of-stock event).
    let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
    let goals = [
        (
            "units MAE with weight <= 0.5",
            Some(total[0].units_mae <= 0.5),
        ),
        (
            "units MAE camera only <= 1.0",
            Some(total[1].units_mae <= 1.0),
        ),
        (
            "out-of-stock recall >= 0.98 (with weight)",
            ratio(total[0].detected, total[0].outs).map(|r| r >= 0.98),
        ),
        (
            "out-of-stock precision >= 0.95 (with weight)",
            ratio(total[0].true_out_events, total[0].out_events).map(|r| r >= 0.95),
        ),
        (
            "out-of-stock recall >= 0.98 (camera only)",
            ratio(total[1].detected, total[1].outs).map(|r| r >= 0.98),
        ),
        (
            "out-of-stock precision >= 0.95 (camera only)",
            ratio(total[1].true_out_events, total[1].out_events).map(|r| r >= 0.95),
        ),
    ];
    for (goal, met) in goals {
        out.push_str(&format!(
            "goal {goal}: {}\n",
            match met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "not measured (nothing to count; run longer or busier)",
            }
        ));
    }
    out
}
