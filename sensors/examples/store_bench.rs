//! Store simulator speed: simulated seconds per wall-clock second for a 12-hour busy day of
//! 24 slots (one camera), advanced in one call, in 250 ms steps, and in 250 ms steps while
//! every scale channel is read each step (as a 4 Hz load-cell board would be). Ratios are
//! against the one-call run in the same process. Also prints what happened that day.
//!
//! `cargo run --release -p edge-sensors --example store_bench [SEED]` (default 1).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use edge_sensors::sim::store::{demo_layout, ScenarioParams, StoreSim, TruthEvent};
use edge_sensors::sim::{PackLook, PackShape};

const DAY: Duration = Duration::from_secs(12 * 3600);
const STEP: Duration = Duration::from_millis(250);

/// 24 products with catalog-like popularities: log-uniform from 0.0125 to 1.0.
fn products() -> Vec<(PackLook, f64, f64)> {
    (0..24)
        .map(|i| {
            let look = PackLook {
                sku: format!("SKU{i:05}"),
                shape: PackShape::Box,
                primary: [30 + 9 * i as u8, 90, 160],
                secondary: [240, 240, 240],
            };
            let popularity = 0.0125 * 80f64.powf(i as f64 / 23.0);
            (look, 150.0 + 20.0 * i as f64, popularity)
        })
        .collect()
}

/// Monday 2024-01-08 08:00 UTC.
fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_704_672_000 + 8 * 3600)
}

fn store(seed: u64) -> StoreSim {
    match StoreSim::new(
        demo_layout(&products(), 1),
        ScenarioParams::busy(),
        seed,
        start(),
    ) {
        Ok(sim) => sim,
        Err(e) => panic!("bench store: {e}"),
    }
}

/// Best simulated-seconds per wall-second over a few runs of `day`.
fn rate(seed: u64, mut day: impl FnMut(&mut StoreSim) -> usize) -> (f64, usize) {
    let mut best = 0.0f64;
    let mut events = 0;
    for _ in 0..3 {
        let mut sim = store(seed);
        let t = Instant::now();
        events = std::hint::black_box(day(&mut sim));
        best = best.max(DAY.as_secs_f64() / t.elapsed().as_secs_f64());
    }
    (best, events)
}

fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let (one, n_one) = rate(seed, |sim| sim.advance(DAY).len());
    let steps = (DAY.as_millis() / STEP.as_millis()) as usize;
    let (stepped, n_stepped) = rate(seed, |sim| {
        (0..steps).map(|_| sim.advance(STEP).len()).sum::<usize>()
    });
    let (polled, _) = rate(seed, |sim| {
        let channels = sim.scale_channels();
        let mut n = 0;
        for _ in 0..steps {
            n += sim.advance(STEP).len();
            for &c in &channels {
                std::hint::black_box(sim.scale_reading(c));
            }
        }
        n
    });
    assert_eq!(n_one, n_stepped, "chunking changed the run");
    println!("12 h busy day, 24 slots, seed {seed}: {n_one} truth events");
    println!("one advance call          {one:>14.0} sim-s/wall-s  (1.00x)");
    println!(
        "250 ms steps              {stepped:>14.0} sim-s/wall-s  ({:.2}x)",
        stepped / one
    );
    println!(
        "250 ms steps + 24 scales  {polled:>14.0} sim-s/wall-s  ({:.2}x)",
        polled / one
    );

    let mut sim = store(seed);
    let mut hourly = [0u32; 12];
    let mut low = 0;
    for hour in &mut hourly {
        for e in sim.advance(Duration::from_secs(3600)) {
            match e {
                TruthEvent::Sale { units, .. } => *hour += units,
                TruthEvent::LowStock { .. } => low += 1,
                _ => {}
            }
        }
    }
    let t = sim.totals();
    println!(
        "day: {} shoppers, {} units sold ({} taken, {} put back, {} misplaced), {} low-stock, \
         {} stock-outs, {} restocks ({} units), {} lost sales ({} units)",
        t.shoppers,
        t.units_sold,
        t.units_taken,
        t.put_backs,
        t.misplaced,
        low,
        t.stock_outs,
        t.restocks,
        t.units_restocked,
        t.lost_sales,
        t.lost_units
    );
    println!("units taken per hour from 08:00: {hourly:?}");
    let empty = sim.contents().iter().filter(|c| c.units == 0).count();
    println!("slots empty at 20:00: {empty} of {}", sim.slots().len());
}
