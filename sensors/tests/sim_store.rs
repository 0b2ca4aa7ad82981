//! The store simulator as the evaluation uses it: whole simulated days, checked against the
//! invariants ground truth must keep (units conserved, no take from an empty slot, scales that
//! weigh what is on the shelf, occluders inside the frame) and against the demand shape the
//! forecaster was trained on.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use edge_sensors::sim::store::{
    demo_layout, Dist, ScenarioParams, StoreSim, TruthEvent, DEMO_FRAME,
};
use edge_sensors::sim::{PackLook, PackShape, SimSlot};
use proptest::prelude::*;

const HOUR: Duration = Duration::from_secs(3600);

fn look(sku: &str) -> PackLook {
    PackLook {
        sku: sku.to_owned(),
        shape: PackShape::Can,
        primary: [180, 20, 20],
        secondary: [240, 240, 240],
    }
}

/// 24 products with catalog-like popularities (log-uniform 0.0125..1.0).
fn products() -> Vec<(PackLook, f64, f64)> {
    (0..24)
        .map(|i| {
            let popularity = 0.0125 * 80f64.powf(i as f64 / 23.0);
            (
                look(&format!("SKU{i:05}")),
                120.0 + 35.0 * i as f64,
                popularity,
            )
        })
        .collect()
}

/// Monday 2024-01-08 08:00 UTC.
fn monday_8am() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_704_672_000 + 8 * 3600)
}

fn store(params: ScenarioParams, seed: u64) -> StoreSim {
    StoreSim::new(demo_layout(&products(), 1), params, seed, monday_8am()).expect("valid store")
}

/// Runs `hours` in steps of `step`, returning every event.
fn run(sim: &mut StoreSim, hours: u64, step: Duration) -> Vec<TruthEvent> {
    let end = sim.elapsed() + HOUR * hours as u32;
    let mut events = Vec::new();
    while sim.elapsed() < end {
        events.extend(sim.advance(step.min(end - sim.elapsed())));
    }
    events
}

/// Units conserved per slot, misplaced units accounted for, nothing above capacity.
fn assert_conserved(sim: &StoreSim) {
    let mut foreign = vec![0u64; sim.slots().len()];
    for c in sim.contents() {
        for &f in &c.foreign {
            foreign[f] += 1;
        }
    }
    for (i, (l, c)) in sim.ledger().iter().zip(sim.contents()).enumerate() {
        assert_eq!(
            u64::from(c.units) + l.sold - l.returned,
            l.initial + l.restocked,
            "slot {i}: {l:?} {c:?}"
        );
        assert_eq!(
            l.misplaced,
            foreign[i] + l.removed_by_staff,
            "slot {i}: {l:?}"
        );
        assert_eq!(
            u64::from(c.units) + l.net_sold() + l.misplaced,
            l.initial + l.restocked,
            "slot {i}: sold + on shelf = initial + restocked"
        );
        assert!(c.units <= sim.slots()[i].capacity(), "slot {i}: {c:?}");
    }
}

#[test]
fn the_same_seed_gives_the_same_day_and_another_seed_another() {
    let a = run(&mut store(ScenarioParams::busy(), 7), 12, HOUR);
    let b = run(
        &mut store(ScenarioParams::busy(), 7),
        12,
        Duration::from_secs(1),
    );
    let c = run(&mut store(ScenarioParams::busy(), 8), 12, HOUR);
    assert_eq!(a, b, "same seed, different step sizes");
    assert_ne!(a, c);
    assert!(a.len() > 1000, "{} events", a.len());
}

#[test]
fn a_busy_day_conserves_units_and_never_takes_from_an_empty_slot() {
    let mut sim = store(ScenarioParams::busy(), 11);
    let mut units: Vec<u32> = sim.contents().iter().map(|c| c.units).collect();
    let start_events = sim.advance(Duration::ZERO);
    assert!(
        start_events.is_empty()
            || start_events
                .iter()
                .all(|e| matches!(e, TruthEvent::LowStock { .. }))
    );
    let mut sales = 0;
    for e in run(&mut sim, 12, Duration::from_secs(10)) {
        match e {
            TruthEvent::Sale { slot, units: n, .. } => {
                assert!((1..=3).contains(&n));
                assert!(units[slot] >= n, "slot {slot}: took {n} of {}", units[slot]);
                units[slot] -= n;
                sales += 1;
            }
            TruthEvent::PutBack {
                slot,
                from_slot,
                units: n,
                ..
            } if slot == from_slot => units[slot] += n,
            TruthEvent::Restock { slot, units: n, .. } => units[slot] += n,
            TruthEvent::StockOut { slot, .. } => assert_eq!(units[slot], 0),
            _ => {}
        }
    }
    let now: Vec<u32> = sim.contents().iter().map(|c| c.units).collect();
    assert_eq!(units, now, "replaying the events gives the contents");
    assert!(sales > 300, "{sales} sales");
    assert_conserved(&sim);
}

#[test]
fn a_busy_day_runs_out_loses_sales_and_restocks_after_a_delay() {
    let mut sim = store(ScenarioParams::busy(), 3);
    let events = run(&mut sim, 12, Duration::from_secs(60));
    let end = sim.now();
    let mut out_since: BTreeMap<usize, SystemTime> = BTreeMap::new();
    let mut stock_outs = 0;
    let mut gaps = Vec::new();
    for e in &events {
        match *e {
            TruthEvent::StockOut { slot, at } => {
                stock_outs += 1;
                out_since.insert(slot, at);
            }
            TruthEvent::Replenished { slot, at } => {
                if let Some(since) = out_since.remove(&slot) {
                    gaps.push(at.duration_since(since).expect("later"));
                }
            }
            _ => {}
        }
    }
    assert!(stock_outs >= 10, "{stock_outs} stock-outs");
    // Every stock-out older than 3 h has been restocked (reaction is 5 min + Exp(20 min)).
    for (slot, since) in &out_since {
        let age = end.duration_since(*since).expect("later");
        assert!(age < 3 * HOUR, "slot {slot} empty for {age:?}");
    }
    let mean_gap = gaps.iter().sum::<Duration>() / gaps.len() as u32;
    assert!(
        mean_gap > Duration::from_secs(300),
        "restock is not instant: {mean_gap:?}"
    );
    let t = sim.totals();
    assert!(t.lost_sales > 0 && t.restocks >= 10, "{t:?}");
    assert!(t.misplaced > 0, "{t:?}");
}

#[test]
fn the_scales_weigh_what_is_on_the_shelf() {
    let mut sim = store(ScenarioParams::busy().without_disturbances(), 5);
    for _ in 0..200 {
        sim.advance(Duration::from_secs(97));
        for (i, slot) in sim.slots().to_vec().iter().enumerate() {
            let c = &sim.contents()[i];
            let expected = f64::from(c.units) * slot.unit_grams
                + c.foreign
                    .iter()
                    .map(|&f| sim.slots()[f].unit_grams)
                    .sum::<f64>();
            let channel = slot.scale_channel.expect("demo slots have scales");
            let truth = sim.true_grams(channel).expect("known channel");
            assert!((truth - expected).abs() < 1e-6, "slot {i}");
            assert_eq!(
                sim.scale_reading(channel),
                Some(truth),
                "no noise configured"
            );
        }
    }
    assert_eq!(sim.true_grams(9999), None);
    assert_eq!(sim.scale_reading(9999), None);
    assert_eq!(sim.scale_channels(), (0..24).collect::<Vec<u32>>());
}

#[test]
fn slots_sharing_a_channel_add_up() {
    let mut slots = demo_layout(&products(), 1);
    slots[1].scale_channel = Some(0);
    slots[2].scale_channel = None;
    let sim = StoreSim::new(slots.clone(), ScenarioParams::quiet(), 1, monday_8am()).expect("ok");
    let c = sim.contents();
    let expected =
        f64::from(c[0].units) * slots[0].unit_grams + f64::from(c[1].units) * slots[1].unit_grams;
    assert_eq!(sim.true_grams(0), Some(expected));
    assert_eq!(sim.true_grams(1), None);
    assert!(!sim.scale_channels().contains(&2));
}

#[test]
fn disturbed_scales_read_spikes_and_glitches_the_tracker_must_survive() {
    let mut params = ScenarioParams::busy();
    params.scale.glitches_per_hour = 2.0;
    params.scale.lean_probability = 0.5;
    let mut sim = store(params, 9);
    let (mut negative, mut huge, mut leans) = (0, 0, 0);
    for _ in 0..(4 * 3600 * 2) {
        for e in sim.advance(Duration::from_millis(500)) {
            if let TruthEvent::ScaleSpike { kind, .. } = e {
                leans += usize::from(kind == edge_sensors::sim::store::SpikeKind::Lean);
            }
        }
        for c in sim.scale_channels() {
            let r = sim.scale_reading(c).expect("known");
            let truth = sim.true_grams(c).expect("known");
            negative += usize::from(r < -100.0);
            huge += usize::from(r > truth + 40_000.0);
        }
    }
    assert!(
        negative > 0 && huge > 0 && leans > 0,
        "{negative} {huge} {leans}"
    );
}

#[test]
fn occluders_stay_inside_the_frame_and_on_known_cameras() {
    let mut sim = StoreSim::new(
        demo_layout(&products(), 2),
        ScenarioParams::occlusion_heavy(),
        21,
        monday_8am(),
    )
    .expect("store");
    let (w, h) = (DEMO_FRAME.0 as f32, DEMO_FRAME.1 as f32);
    let mut kinds = std::collections::BTreeSet::new();
    let mut busiest = 0;
    for _ in 0..(6 * 360) {
        sim.advance(Duration::from_secs(10));
        let occ = sim.occluders();
        busiest = busiest.max(occ.len());
        for o in occ {
            assert!(o.camera < 2);
            assert!(o.size > 0.0);
            let [x, y] = o.centre;
            assert!(
                x - o.size >= 0.0 && x + o.size <= w && y - o.size >= 0.0 && y + o.size <= h,
                "{o:?}"
            );
            kinds.insert(format!("{:?}", o.kind));
        }
    }
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    assert!(busiest >= 2);
}

#[test]
fn occlusion_events_pair_up_and_match_the_live_list() {
    let mut sim = store(ScenarioParams::occlusion_heavy(), 4);
    let mut open = BTreeMap::new();
    for _ in 0..3600 {
        for e in sim.advance(Duration::from_secs(2)) {
            match e {
                TruthEvent::OcclusionStart { id, occluder, .. } => {
                    assert!(open.insert(id, occluder).is_none());
                }
                TruthEvent::OcclusionEnd { id, kind, .. } => {
                    let o = open.remove(&id).expect("started before");
                    assert_eq!(o.kind, kind);
                }
                _ => {}
            }
        }
        assert_eq!(open.values().copied().collect::<Vec<_>>(), sim.occluders());
    }
}

#[test]
fn bad_slots_are_errors_not_panics() {
    let good = demo_layout(&products(), 1);
    let new = |slots: Vec<SimSlot>| {
        StoreSim::new(slots, ScenarioParams::busy(), 1, monday_8am()).map(|_| ())
    };
    assert_eq!(new(good.clone()), Ok(()));
    let broken = |f: &dyn Fn(&mut Vec<SimSlot>)| {
        let mut s = good.clone();
        f(&mut s);
        new(s).expect_err("must be refused")
    };
    let e = broken(&|s| s[3].facings = 0);
    assert!(e.contains("capacity 0"), "{e}");
    let e = broken(&|s| s[3].depth = 0);
    assert!(e.contains("capacity 0"), "{e}");
    let e = broken(&|s| s[3].facings = u32::MAX);
    assert!(e.contains("capacity above"), "{e}");
    let e = broken(&|s| s[4].popularity = f64::NAN);
    assert!(e.contains("popularity"), "{e}");
    let e = broken(&|s| s[4].popularity = -1.0);
    assert!(e.contains("popularity"), "{e}");
    let e = broken(&|s| s[5].unit_grams = f64::INFINITY);
    assert!(e.contains("unit grams"), "{e}");
    let e = broken(&|s| s[5].unit_grams = 0.0);
    assert!(e.contains("unit grams"), "{e}");
    let e = broken(&|s| s[6].id = s[7].id.clone());
    assert!(e.contains("duplicate id"), "{e}");
    let e = broken(&|s| s[6].quad[2][0] = f32::NAN);
    assert!(e.contains("quad"), "{e}");
    // Every problem is reported at once.
    let e = broken(&|s| {
        s[0].facings = 0;
        s[1].popularity = f64::NAN;
    });
    assert!(e.contains("capacity 0") && e.contains("popularity"), "{e}");
    let mut params = ScenarioParams::busy();
    params.take_weights = [0.0; 3];
    let e = StoreSim::new(good, params, 1, monday_8am()).map(|_| ());
    assert!(e.expect_err("bad params").contains("take_weights"));
}

#[test]
fn two_demo_minutes_at_60x_show_sales_a_low_stock_and_a_restock() {
    // Any hour will do: the demo is open around the clock.
    let start = UNIX_EPOCH + Duration::from_secs(1_718_000_000 + 3 * 3600);
    let mut sim = StoreSim::new(
        demo_layout(&products(), 1),
        ScenarioParams::demo(),
        1,
        start,
    )
    .expect("ok");
    for seed in 0..5 {
        sim = StoreSim::new(
            demo_layout(&products(), 1),
            ScenarioParams::demo(),
            seed,
            start,
        )
        .expect("ok");
        let events = run(&mut sim, 2, Duration::from_secs(1));
        let low = events
            .iter()
            .position(|e| matches!(e, TruthEvent::LowStock { .. }))
            .expect("a low-stock");
        let TruthEvent::LowStock { slot, .. } = events[low] else {
            unreachable!()
        };
        assert!(
            events[low..]
                .iter()
                .any(|e| matches!(e, TruthEvent::Restock { slot: s, .. } if *s == slot)),
            "seed {seed}: slot {slot} restocked within the demo"
        );
        let first_sale = events
            .iter()
            .find(|e| matches!(e, TruthEvent::Sale { .. }))
            .expect("a sale");
        assert!(
            first_sale.at().duration_since(start).expect("later") < Duration::from_secs(300),
            "seed {seed}: a sale in the first 5 simulated minutes (5 s of demo)"
        );
    }
    assert!(sim.totals().units_sold > 50);
}

/// Sales by hour and weekday follow the profiles demand_sim.py trained the forecaster on, and
/// the slowest products sell intermittently.
#[test]
fn a_fortnight_of_sales_has_the_trained_demand_shape() {
    // quiet() is about demand_sim's scale: ~200 units a day over 24 products, 30 a day for
    // the most popular, under one a day for the least.
    let mut params = ScenarioParams::quiet();
    // Staff keep up, so sales show demand rather than empty shelves.
    params.restock.threshold = 0.5;
    params.restock.reaction_seconds = Dist::uniform(30.0, 120.0);
    let midnight = UNIX_EPOCH + Duration::from_secs(1_704_672_000);
    let slots = demo_layout(&products(), 1);
    let mut sim = StoreSim::new(slots.clone(), params, 2, midnight).expect("ok");
    let mut by_hour = [0u64; 24];
    let mut by_weekday = [0u64; 7];
    let mut daily = vec![[0u64; 14]; slots.len()];
    for day in 0..14 {
        for hour_sales in &mut by_hour {
            for e in sim.advance(HOUR) {
                if let TruthEvent::Sale { slot, units, .. } = e {
                    *hour_sales += u64::from(units);
                    by_weekday[day % 7] += u64::from(units);
                    daily[slot][day] += u64::from(units);
                }
            }
        }
    }
    assert_eq!(by_hour[..7].iter().sum::<u64>(), 0, "closed at night");
    // Shoppers who came in before 22:00 may still take something just after.
    assert!(by_hour[22] * 10 < by_hour[21], "closing: {by_hour:?}");
    assert_eq!(by_hour[23], 0, "closed at night");
    assert!(
        2 * (by_hour[17] + by_hour[18]) > 3 * (by_hour[8] + by_hour[9]),
        "{by_hour:?}"
    );
    assert!(by_hour[12] > by_hour[14], "lunch peak: {by_hour:?}");
    // Saturday is the best day, Sunday and Tuesday the weakest.
    let best = (0..7).max_by_key(|&d| by_weekday[d]).expect("7 days");
    assert_eq!(best, 5, "{by_weekday:?}");
    assert!(
        by_weekday[5] as f64 > 1.3 * by_weekday[6] as f64,
        "{by_weekday:?}"
    );
    // The least popular product sells on few days, the most popular every day.
    let slowest = (0..slots.len())
        .min_by(|&a, &b| slots[a].popularity.total_cmp(&slots[b].popularity))
        .expect("slots");
    let fastest = (0..slots.len())
        .max_by(|&a, &b| slots[a].popularity.total_cmp(&slots[b].popularity))
        .expect("slots");
    let zero_days = |s: usize| daily[s].iter().filter(|&&n| n == 0).count();
    assert!(zero_days(slowest) >= 2, "slowest: {:?}", daily[slowest]);
    assert_eq!(zero_days(fastest), 0, "fastest: {:?}", daily[fastest]);
    assert_conserved(&sim);
}

#[test]
fn a_promotion_lifts_the_product_while_it_runs() {
    let start = monday_8am();
    let slots = demo_layout(&products(), 1);
    let sku = slots[12].look.sku.clone();
    let sold = |uplift: f64| {
        let mut params = ScenarioParams::demo();
        params.restock.reaction_seconds = Dist::Fixed(10.0);
        params.promotions.push(edge_sensors::sim::store::Promotion {
            sku: sku.clone(),
            start,
            end: start + 6 * HOUR,
            uplift,
        });
        let mut sim = StoreSim::new(slots.clone(), params, 5, start).expect("ok");
        sim.advance(6 * HOUR);
        // Demand: units taken plus units wanted from an empty slot.
        sim.ledger()[12].sold + sim.ledger()[12].lost_units
    };
    let (plain, promo) = (sold(1.0), sold(4.0));
    assert!(promo as f64 > 2.5 * plain as f64, "{plain} -> {promo}");
}

fn arb_params() -> impl Strategy<Value = ScenarioParams> {
    (
        (
            0.0f64..400.0,
            0.0f64..1.0,
            0.0f64..1.0,
            0.0f64..1.0,
            0.0f64..1.0,
        ),
        (0.0f64..0.99, 0.0f64..3600.0, 0.0f64..1.0, 0.0f64..1.0),
        (0.0f64..30.0, 0.0f64..30.0, 0.0f64..20.0, 0.0f64..5.0),
        (
            proptest::array::uniform3(0.0f64..1.0),
            0.0f64..300.0,
            0.0f64..10.0,
            any::<bool>(),
        ),
    )
        .prop_map(|(a, b, c, d)| {
            let mut p = ScenarioParams::busy();
            p.shoppers_per_hour = a.0;
            p.extra_product_probability = a.1;
            p.put_back_probability = a.2;
            p.wrong_slot_probability = a.3;
            p.in_view_probability = a.4;
            p.restock.threshold = b.0;
            p.restock.reaction_seconds = Dist::uniform(0.0, b.1);
            p.restock.partial_probability = b.2;
            p.restock.partial_fill = Dist::uniform(0.0, 1.0);
            p.daily_noise_sigma = b.3;
            p.carts_per_hour = c.0;
            p.glare_per_hour = c.1;
            p.scale.glitches_per_hour = c.2;
            p.camera_outages_per_day = c.3 * 24.0;
            p.take_weights = d.0;
            p.take_weights[0] += 0.01;
            p.dwell_seconds = Dist::uniform(0.0, d.1);
            p.hand_seconds = Dist::uniform(0.0, d.2);
            p.restock.enabled = d.3;
            p.hourly_profile = [1.0; 24];
            p
        })
}

fn arb_slots() -> impl Strategy<Value = Vec<SimSlot>> {
    proptest::collection::vec(
        (
            1u32..5,
            1u32..5,
            0.0f64..2.0,
            1.0f64..2000.0,
            0usize..3,
            proptest::option::of(0u32..6),
            0usize..4,
        ),
        0..30,
    )
    .prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(
                |(i, (facings, depth, popularity, grams, camera, channel, sku))| {
                    let x = (i % 6) as f32 * 200.0;
                    let y = (i / 6) as f32 * 120.0;
                    SimSlot {
                        id: format!("s{i}"),
                        camera,
                        quad: [
                            [x, y],
                            [x + 190.0, y],
                            [x + 190.0, y + 110.0],
                            [x, y + 110.0],
                        ],
                        look: look(&format!("SKU{sku}")),
                        facings,
                        depth,
                        unit_grams: grams,
                        scale_channel: channel,
                        popularity,
                    }
                },
            )
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn random_scenarios_never_panic_and_conserve_units(
        params in arb_params(),
        slots in arb_slots(),
        seed in any::<u64>(),
        steps in proptest::collection::vec(0u64..1_800_000, 1..12),
    ) {
        let mut sim = StoreSim::new(slots, params, seed, monday_8am()).expect("valid");
        let mut last = sim.now();
        for ms in steps {
            let events = sim.advance(Duration::from_millis(ms));
            for e in &events {
                prop_assert!(e.at() >= last && e.at() <= sim.now());
                last = e.at();
            }
            for c in sim.scale_channels() {
                let truth = sim.true_grams(c).expect("listed");
                prop_assert!(truth.is_finite() && truth >= 0.0);
                prop_assert!(sim.scale_reading(c).expect("listed").is_finite());
                let _ = sim.load_changed_at(c);
            }
            for o in sim.occluders() {
                prop_assert!(o.centre[0].is_finite() && o.size.is_finite());
            }
            assert_conserved(&sim);
        }
    }
}
