//! The store simulator: shoppers take products by popularity, put some back (sometimes in the
//! wrong slot), stand in front of the cameras, lean on shelves; staff restock low slots after a
//! delay; carts, glare, scale glitches and camera outages come and go. Ground truth is known at
//! every simulated instant.
//!
//! The simulation is event-driven on a simulated clock (nanoseconds since `start`, never the
//! wall clock): every change happens at its own exact instant, taken from a time-ordered queue,
//! so the state after `advance(1 h)` is the same as after 14 400 calls of `advance(250 ms)`.
//! Reading the scales draws noise from a separate generator, so how often devices poll does not
//! change what shoppers do. Shopper arrivals are a Poisson process whose rate follows an
//! hour-of-day and a day-of-week profile (drawn exactly by thinning).
//!
//! Scenario presets: [`ScenarioParams::quiet`], [`ScenarioParams::busy`],
//! [`ScenarioParams::occlusion_heavy`], [`ScenarioParams::demo`]; vary one with struct update
//! syntax (`ScenarioParams { shoppers_per_hour: 200.0, ..ScenarioParams::busy() }`) or the
//! `with_*` helpers, and pick one by name with [`ScenarioParams::named`].

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Occluder, OccluderKind, PackLook, Point, SimRng, SimSlot, SlotContent};

const NANOS_PER_SEC: f64 = 1e9;
/// Longest single sampled duration (a day); keeps nanosecond arithmetic far from overflow.
const MAX_SAMPLED_SECONDS: f64 = 86_400.0;
/// Largest slot capacity accepted: keeps `facings * depth` and unit counts far from overflow.
pub const MAX_CAPACITY: u32 = 10_000;
/// Bounds of the per-slot, per-day demand multiplier (so the thinning bound holds).
const DAILY_MULT_MAX: f64 = 3.0;
const DAILY_MULT_MIN: f64 = 0.2;

/// A grocery hour-of-day profile (multipliers of [`ScenarioParams::shoppers_per_hour`]): shut
/// 22:00..07:00, a lunch peak and a larger after-work peak. Mean over the 15 open hours ~1.
pub const GROCERY_HOURS: [f64; 24] = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, // 00..06
    0.3, 0.6, 0.8, 0.95, 1.1, 1.35, 1.2, // 07..13
    0.95, 0.95, 1.15, 1.5, 1.55, 1.2, 0.8, 0.35, // 14..21
    0.0, 0.0, // 22..23
];

/// Day-of-week profile Monday..Sunday: the mean of `models/train/demand_sim.py`'s department
/// profiles (Friday and Saturday high, Sunday low), normalised to mean 1.
pub const GROCERY_WEEK: [f64; 7] = [0.952, 0.876, 0.905, 0.976, 1.148, 1.402, 0.741];

/// A probability distribution of a non-negative quantity (seconds, grams, shares).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    /// Always this value.
    Fixed(f64),
    /// Uniform in `[min, max)`.
    Uniform {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// `min` plus an exponential with mean `mean_extra`: a reaction time with a long tail.
    ShiftedExp {
        /// Shortest value.
        min: f64,
        /// Mean of the part above `min`.
        mean_extra: f64,
    },
}

impl Dist {
    /// Uniform in `[min, max)` (shorthand).
    pub const fn uniform(min: f64, max: f64) -> Dist {
        Dist::Uniform { min, max }
    }

    /// One draw.
    pub fn sample(&self, rng: &mut SimRng) -> f64 {
        match *self {
            Dist::Fixed(v) => v,
            Dist::Uniform { min, max } => rng.uniform(min, max),
            Dist::ShiftedExp { min, mean_extra } => min + rng.exponential(mean_extra),
        }
    }

    /// Pushes an error for a non-finite or negative parameter (or `min > max`).
    fn check(&self, name: &str, errors: &mut Vec<String>) {
        let ok = match *self {
            Dist::Fixed(v) => v.is_finite() && v >= 0.0,
            Dist::Uniform { min, max } => {
                min.is_finite() && max.is_finite() && min >= 0.0 && min <= max
            }
            Dist::ShiftedExp { min, mean_extra } => {
                min.is_finite() && mean_extra.is_finite() && min >= 0.0 && mean_extra >= 0.0
            }
        };
        if !ok {
            errors.push(format!(
                "{name}: {self:?} needs finite, non-negative values (min <= max)"
            ));
        }
    }
}

/// A promotion: more shoppers want `sku` while it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Promotion {
    /// Product on promotion.
    pub sku: String,
    /// First instant of the promotion.
    pub start: SystemTime,
    /// End of the promotion (exclusive).
    pub end: SystemTime,
    /// Demand multiplier while it runs (2.0 = twice the demand).
    pub uplift: f64,
}

/// A planned camera outage (for tests: "camera 0 offline for 10 minutes after 1 hour").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CameraOutage {
    /// Camera index.
    pub camera: usize,
    /// Simulated time after the start when it goes offline.
    pub after: Duration,
    /// How long it stays offline.
    pub duration: Duration,
}

/// How staff keep the shelf filled.
#[derive(Debug, Clone, PartialEq)]
pub struct RestockPolicy {
    /// Whether staff restock at all.
    pub enabled: bool,
    /// A slot is low (and staff are told) when its own units are at or below this share of
    /// its capacity. In `[0, 1)`.
    pub threshold: f64,
    /// Seconds from a slot going low until staff arrive at it.
    pub reaction_seconds: Dist,
    /// Seconds staff stand at the shelf with a hand in the slot before the units are in.
    pub work_seconds: Dist,
    /// Chance a restock is partial (the back room ran short) rather than to full.
    pub partial_probability: f64,
    /// Share of capacity a partial restock fills to (always above the threshold).
    pub partial_fill: Dist,
}

/// How the shelf scales misbehave.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleBehaviour {
    /// Standard deviation of the load-cell noise, grams.
    pub noise_grams: f64,
    /// Standard deviation of the extra wobble while a hand is in a slot on the channel, grams.
    pub touch_grams: f64,
    /// Chance a shopper leans on the shelf during a visit (a spike on one channel).
    pub lean_probability: f64,
    /// Grams a leaning shopper adds.
    pub lean_grams: Dist,
    /// Seconds a lean lasts.
    pub lean_seconds: Dist,
    /// Glitches per hour per channel (half read hugely negative, half overload).
    pub glitches_per_hour: f64,
    /// Seconds a glitch lasts.
    pub glitch_seconds: Dist,
    /// Grams a negative glitch subtracts.
    pub negative_glitch_grams: Dist,
    /// Grams an overload glitch adds.
    pub overload_glitch_grams: Dist,
}

/// Everything that shapes a simulated day. Presets: [`quiet`](Self::quiet),
/// [`busy`](Self::busy), [`occlusion_heavy`](Self::occlusion_heavy), [`demo`](Self::demo).
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioParams {
    /// Shopper visits per hour per camera (shelf in view) at profile 1.0; the store's total is
    /// this times the number of cameras that see slots, spread over slots by popularity.
    pub shoppers_per_hour: f64,
    /// Multiplier of the arrival rate per hour of day (local time), 0 = closed.
    pub hourly_profile: [f64; 24],
    /// Multiplier per day of week, Monday first.
    pub weekly_profile: [f64; 7],
    /// Local time = UTC + this, for the profiles.
    pub utc_offset_minutes: i32,
    /// A slot is chosen with weight `popularity ^ popularity_exponent` (demand_sim uses 0.9).
    pub popularity_exponent: f64,
    /// Sigma of a log-normal per-slot, per-day demand multiplier (day-to-day variation beyond
    /// Poisson, like demand_sim's negative binomial); 0 = none.
    pub daily_noise_sigma: f64,
    /// Promotions by SKU.
    pub promotions: Vec<Promotion>,
    /// Chance a shopper wants one more product from the same shelf (repeated, at most 2 more).
    pub extra_product_probability: f64,
    /// Relative weights of taking 1, 2 or 3 units.
    pub take_weights: [f64; 3],
    /// Seconds a shopper stays at the shelf.
    pub dwell_seconds: Dist,
    /// Seconds a hand is inside a slot for one take or put-back.
    pub hand_seconds: Dist,
    /// Chance a shopper stands between the camera and the shelf for the whole visit.
    pub in_view_probability: f64,
    /// Chance a shopper puts one unit back after a take.
    pub put_back_probability: f64,
    /// Chance a put-back lands in another slot of the same shelf (a misplaced foreign unit).
    pub wrong_slot_probability: f64,
    /// Staff restocking.
    pub restock: RestockPolicy,
    /// Carts parked in view, per hour per camera.
    pub carts_per_hour: f64,
    /// Seconds a cart stays.
    pub cart_seconds: Dist,
    /// Glare episodes per hour per camera.
    pub glare_per_hour: f64,
    /// Seconds glare lasts.
    pub glare_seconds: Dist,
    /// Scale noise, leaning shoppers and glitches.
    pub scale: ScaleBehaviour,
    /// Random camera outages per day per camera.
    pub camera_outages_per_day: f64,
    /// Seconds a random outage lasts.
    pub outage_seconds: Dist,
    /// Planned outages.
    pub outages: Vec<CameraOutage>,
}

impl ScenarioParams {
    /// A quiet weekday: few shoppers, attentive staff, little occlusion.
    pub fn quiet() -> ScenarioParams {
        ScenarioParams {
            shoppers_per_hour: 12.0,
            hourly_profile: GROCERY_HOURS,
            weekly_profile: GROCERY_WEEK,
            utc_offset_minutes: 0,
            popularity_exponent: 0.9,
            daily_noise_sigma: 0.25,
            promotions: Vec::new(),
            extra_product_probability: 0.2,
            take_weights: [0.75, 0.2, 0.05],
            dwell_seconds: Dist::uniform(5.0, 60.0),
            hand_seconds: Dist::uniform(1.0, 4.0),
            in_view_probability: 0.4,
            put_back_probability: 0.05,
            wrong_slot_probability: 0.2,
            restock: RestockPolicy {
                enabled: true,
                threshold: 0.3,
                reaction_seconds: Dist::ShiftedExp {
                    min: 300.0,
                    mean_extra: 900.0,
                },
                work_seconds: Dist::uniform(20.0, 60.0),
                partial_probability: 0.1,
                partial_fill: Dist::uniform(0.5, 0.9),
            },
            carts_per_hour: 0.5,
            cart_seconds: Dist::uniform(20.0, 180.0),
            glare_per_hour: 0.2,
            glare_seconds: Dist::uniform(30.0, 600.0),
            scale: ScaleBehaviour {
                noise_grams: 1.5,
                touch_grams: 30.0,
                lean_probability: 0.02,
                lean_grams: Dist::uniform(2_000.0, 15_000.0),
                lean_seconds: Dist::uniform(1.0, 10.0),
                glitches_per_hour: 0.01,
                glitch_seconds: Dist::uniform(0.2, 2.0),
                negative_glitch_grams: Dist::uniform(500.0, 20_000.0),
                overload_glitch_grams: Dist::uniform(50_000.0, 500_000.0),
            },
            camera_outages_per_day: 0.0,
            outage_seconds: Dist::uniform(60.0, 600.0),
            outages: Vec::new(),
        }
    }

    /// A busy day: many shoppers, slow staff (5 min plus an exponential tail of mean 20 min), so
    /// popular slots run out and stay empty for a while.
    pub fn busy() -> ScenarioParams {
        let quiet = ScenarioParams::quiet();
        ScenarioParams {
            shoppers_per_hour: 60.0,
            put_back_probability: 0.08,
            wrong_slot_probability: 0.3,
            in_view_probability: 0.5,
            restock: RestockPolicy {
                threshold: 0.25,
                reaction_seconds: Dist::ShiftedExp {
                    min: 300.0,
                    mean_extra: 1_200.0,
                },
                partial_probability: 0.2,
                ..quiet.restock.clone()
            },
            carts_per_hour: 2.0,
            glare_per_hour: 0.5,
            scale: ScaleBehaviour {
                lean_probability: 0.05,
                glitches_per_hour: 0.05,
                ..quiet.scale.clone()
            },
            camera_outages_per_day: 0.2,
            outage_seconds: Dist::uniform(120.0, 1_200.0),
            ..quiet
        }
    }

    /// Shoppers, carts and glare in front of the cameras much of the time.
    pub fn occlusion_heavy() -> ScenarioParams {
        let busy = ScenarioParams::busy();
        ScenarioParams {
            shoppers_per_hour: 40.0,
            dwell_seconds: Dist::uniform(20.0, 120.0),
            hand_seconds: Dist::uniform(2.0, 4.0),
            in_view_probability: 0.9,
            carts_per_hour: 6.0,
            cart_seconds: Dist::uniform(60.0, 400.0),
            glare_per_hour: 2.0,
            glare_seconds: Dist::uniform(60.0, 900.0),
            ..busy
        }
    }

    /// The live demo: open around the clock (flat profiles), many shoppers and quick staff
    /// (1..5 min), so two minutes at 60x speed show sales, a low-stock slot and its restock.
    pub fn demo() -> ScenarioParams {
        let busy = ScenarioParams::busy();
        ScenarioParams {
            shoppers_per_hour: 150.0,
            hourly_profile: [1.0; 24],
            weekly_profile: [1.0; 7],
            daily_noise_sigma: 0.0,
            dwell_seconds: Dist::uniform(5.0, 45.0),
            restock: RestockPolicy {
                threshold: 0.3,
                reaction_seconds: Dist::uniform(60.0, 300.0),
                work_seconds: Dist::uniform(15.0, 40.0),
                partial_probability: 0.1,
                ..busy.restock.clone()
            },
            camera_outages_per_day: 0.0,
            ..busy
        }
    }

    /// A preset by name: `quiet`, `busy`, `occlusion-heavy` (or `occlusion_heavy`), `demo`.
    pub fn named(name: &str) -> Option<ScenarioParams> {
        Some(match name {
            "quiet" => ScenarioParams::quiet(),
            "busy" => ScenarioParams::busy(),
            "occlusion-heavy" | "occlusion_heavy" => ScenarioParams::occlusion_heavy(),
            "demo" => ScenarioParams::demo(),
            _ => return None,
        })
    }

    /// The same scenario with `factor` times the shoppers.
    pub fn with_traffic(mut self, factor: f64) -> ScenarioParams {
        self.shoppers_per_hour *= factor;
        self
    }

    /// The same scenario with camera `camera` offline from `after` for `duration`.
    pub fn with_camera_outage(
        mut self,
        camera: usize,
        after: Duration,
        duration: Duration,
    ) -> ScenarioParams {
        self.outages.push(CameraOutage {
            camera,
            after,
            duration,
        });
        self
    }

    /// The same scenario without noise, spikes, glitches, occluders or outages: the clean
    /// shelf, for tests that compare readings exactly.
    pub fn without_disturbances(mut self) -> ScenarioParams {
        self.scale.noise_grams = 0.0;
        self.scale.touch_grams = 0.0;
        self.scale.lean_probability = 0.0;
        self.scale.glitches_per_hour = 0.0;
        self.in_view_probability = 0.0;
        self.carts_per_hour = 0.0;
        self.glare_per_hour = 0.0;
        self.camera_outages_per_day = 0.0;
        self.outages.clear();
        self
    }

    /// Every problem with the parameters, or `Ok`.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut e = Vec::new();
        let rate = |name: &str, v: f64, e: &mut Vec<String>| {
            if !(v.is_finite() && v >= 0.0) {
                e.push(format!("{name} must be finite and >= 0, not {v}"));
            }
        };
        let prob = |name: &str, v: f64, e: &mut Vec<String>| {
            if !(0.0..=1.0).contains(&v) {
                e.push(format!("{name} must be a probability in 0..=1, not {v}"));
            }
        };
        rate("shoppers_per_hour", self.shoppers_per_hour, &mut e);
        for (h, &v) in self.hourly_profile.iter().enumerate() {
            rate(&format!("hourly_profile[{h}]"), v, &mut e);
        }
        for (d, &v) in self.weekly_profile.iter().enumerate() {
            rate(&format!("weekly_profile[{d}]"), v, &mut e);
        }
        if self.utc_offset_minutes.abs() > 24 * 60 {
            e.push("utc_offset_minutes must be within a day".into());
        }
        rate("popularity_exponent", self.popularity_exponent, &mut e);
        if self.popularity_exponent > 10.0 {
            e.push("popularity_exponent must be <= 10".into());
        }
        rate("daily_noise_sigma", self.daily_noise_sigma, &mut e);
        for p in &self.promotions {
            rate(&format!("promotion {} uplift", p.sku), p.uplift, &mut e);
            if p.uplift > 100.0 {
                e.push(format!("promotion {} uplift must be <= 100", p.sku));
            }
        }
        prob(
            "extra_product_probability",
            self.extra_product_probability,
            &mut e,
        );
        for (i, &w) in self.take_weights.iter().enumerate() {
            rate(&format!("take_weights[{i}]"), w, &mut e);
        }
        let take_total: f64 = self.take_weights.iter().sum();
        if take_total.is_nan() || take_total <= 0.0 {
            e.push("take_weights must not all be 0".into());
        }
        self.dwell_seconds.check("dwell_seconds", &mut e);
        self.hand_seconds.check("hand_seconds", &mut e);
        prob("in_view_probability", self.in_view_probability, &mut e);
        prob("put_back_probability", self.put_back_probability, &mut e);
        prob(
            "wrong_slot_probability",
            self.wrong_slot_probability,
            &mut e,
        );
        let r = &self.restock;
        if !(0.0..1.0).contains(&r.threshold) {
            e.push(format!(
                "restock.threshold must be in [0, 1), not {}",
                r.threshold
            ));
        }
        r.reaction_seconds.check("restock.reaction_seconds", &mut e);
        r.work_seconds.check("restock.work_seconds", &mut e);
        prob("restock.partial_probability", r.partial_probability, &mut e);
        r.partial_fill.check("restock.partial_fill", &mut e);
        rate("carts_per_hour", self.carts_per_hour, &mut e);
        self.cart_seconds.check("cart_seconds", &mut e);
        rate("glare_per_hour", self.glare_per_hour, &mut e);
        self.glare_seconds.check("glare_seconds", &mut e);
        let s = &self.scale;
        rate("scale.noise_grams", s.noise_grams, &mut e);
        rate("scale.touch_grams", s.touch_grams, &mut e);
        prob("scale.lean_probability", s.lean_probability, &mut e);
        s.lean_grams.check("scale.lean_grams", &mut e);
        s.lean_seconds.check("scale.lean_seconds", &mut e);
        rate("scale.glitches_per_hour", s.glitches_per_hour, &mut e);
        s.glitch_seconds.check("scale.glitch_seconds", &mut e);
        s.negative_glitch_grams
            .check("scale.negative_glitch_grams", &mut e);
        s.overload_glitch_grams
            .check("scale.overload_glitch_grams", &mut e);
        rate(
            "camera_outages_per_day",
            self.camera_outages_per_day,
            &mut e,
        );
        self.outage_seconds.check("outage_seconds", &mut e);
        for o in &self.outages {
            if o.camera > 10_000 {
                e.push(format!("outage camera {} out of range", o.camera));
            }
        }
        if e.is_empty() {
            Ok(())
        } else {
            Err(e)
        }
    }
}

/// Why a scale reading is disturbed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpikeKind {
    /// A shopper leaning on the shelf (kilograms on one channel for a few seconds).
    Lean,
    /// A glitch reading far below zero.
    Negative,
    /// A glitch reading far above the range.
    Overload,
}

/// Something that happened in the store, with its simulated instant.
#[derive(Debug, Clone, PartialEq)]
pub enum TruthEvent {
    /// A shopper arrived at the shelf seen by `camera`.
    ShopperArrived {
        /// Shopper id (unique in the run).
        shopper: u64,
        /// Camera whose shelf they visit.
        camera: usize,
        /// When.
        at: SystemTime,
    },
    /// A shopper left the shelf with `basket`: net units per slot (takes minus put-backs),
    /// what they will pay for at checkout.
    ShopperLeft {
        /// Shopper id.
        shopper: u64,
        /// Camera whose shelf they visited.
        camera: usize,
        /// `(slot, units)` of the slots' own products, slot order, no zero entries.
        basket: Vec<(usize, u32)>,
        /// When.
        at: SystemTime,
    },
    /// A shopper's hand came out of `slot` with `units` of its product.
    Sale {
        /// Slot index.
        slot: usize,
        /// Units taken (1..3).
        units: u32,
        /// Shopper id.
        shopper: u64,
        /// When (the hand left the slot).
        at: SystemTime,
    },
    /// A shopper put `units` of `from_slot`'s product into `slot` (misplaced if they differ).
    PutBack {
        /// Slot the units went into.
        slot: usize,
        /// Slot whose product they are.
        from_slot: usize,
        /// Units.
        units: u32,
        /// Shopper id.
        shopper: u64,
        /// When.
        at: SystemTime,
    },
    /// A shopper wanted `units` from `slot` and found fewer (usually none): lost sales.
    LostSale {
        /// Slot index.
        slot: usize,
        /// Units wanted but not found.
        units: u32,
        /// Shopper id.
        shopper: u64,
        /// When.
        at: SystemTime,
    },
    /// The slot fell to the restock threshold; staff have been told.
    LowStock {
        /// Slot index.
        slot: usize,
        /// Own units left.
        units: u32,
        /// When.
        at: SystemTime,
    },
    /// Staff restocked the slot and took the foreign units out of it.
    Restock {
        /// Slot index.
        slot: usize,
        /// Units added.
        units: u32,
        /// Foreign units removed.
        removed_foreign: u32,
        /// When (the units are in).
        at: SystemTime,
    },
    /// The slot's last own unit was taken.
    StockOut {
        /// Slot index.
        slot: usize,
        /// When.
        at: SystemTime,
    },
    /// An empty slot has own units again (restock or a put-back).
    Replenished {
        /// Slot index.
        slot: usize,
        /// When.
        at: SystemTime,
    },
    /// An occluder appeared.
    OcclusionStart {
        /// Occluder id, matches its `OcclusionEnd`.
        id: u64,
        /// The occluder.
        occluder: Occluder,
        /// The slot a hand is in (hands only).
        slot: Option<usize>,
        /// When.
        at: SystemTime,
    },
    /// An occluder went away.
    OcclusionEnd {
        /// Occluder id.
        id: u64,
        /// Camera.
        camera: usize,
        /// What it was.
        kind: OccluderKind,
        /// When.
        at: SystemTime,
    },
    /// A scale channel reads `grams` off for a while (lean or glitch).
    ScaleSpike {
        /// Scale channel.
        channel: u32,
        /// Grams added to the reading (negative for a negative glitch).
        grams: f64,
        /// Why.
        kind: SpikeKind,
        /// Start.
        at: SystemTime,
        /// End.
        until: SystemTime,
    },
    /// A camera went offline.
    CameraOffline {
        /// Camera index.
        camera: usize,
        /// When.
        at: SystemTime,
    },
    /// A camera came back.
    CameraOnline {
        /// Camera index.
        camera: usize,
        /// When.
        at: SystemTime,
    },
}

impl TruthEvent {
    /// When it happened.
    pub fn at(&self) -> SystemTime {
        match self {
            TruthEvent::ShopperArrived { at, .. }
            | TruthEvent::ShopperLeft { at, .. }
            | TruthEvent::Sale { at, .. }
            | TruthEvent::PutBack { at, .. }
            | TruthEvent::LostSale { at, .. }
            | TruthEvent::LowStock { at, .. }
            | TruthEvent::Restock { at, .. }
            | TruthEvent::StockOut { at, .. }
            | TruthEvent::Replenished { at, .. }
            | TruthEvent::OcclusionStart { at, .. }
            | TruthEvent::OcclusionEnd { at, .. }
            | TruthEvent::ScaleSpike { at, .. }
            | TruthEvent::CameraOffline { at, .. }
            | TruthEvent::CameraOnline { at, .. } => *at,
        }
    }
}

/// Running counts for one slot's product since the start. Units are conserved:
/// `units_on_shelf + sold - returned == initial + restocked`, and
/// `misplaced == foreign units of this product on the shelf + removed_by_staff`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotLedger {
    /// Own units at the start.
    pub initial: u64,
    /// Units staff added.
    pub restocked: u64,
    /// Units shoppers took out of the slot.
    pub sold: u64,
    /// Units put back into this slot by shoppers.
    pub returned: u64,
    /// Units of this product shoppers put into other slots.
    pub misplaced: u64,
    /// Misplaced units of this product staff took off the shelf while restocking.
    pub removed_by_staff: u64,
    /// Times a shopper wanted this product and found none (or fewer than wanted).
    pub lost_sales: u64,
    /// Units wanted and not found.
    pub lost_units: u64,
    /// Times the slot ran empty.
    pub stock_outs: u64,
    /// Restocks.
    pub restocks: u64,
}

impl SlotLedger {
    /// Units that left the store with shoppers: taken, minus those put back anywhere.
    pub fn net_sold(&self) -> u64 {
        self.sold - self.returned - self.misplaced
    }
}

/// Store-wide sums of the slot ledgers, plus shopper counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreTotals {
    /// Shoppers that arrived.
    pub shoppers: u64,
    /// Units that left with shoppers (net of put-backs).
    pub units_sold: u64,
    /// Units taken out of slots (before put-backs).
    pub units_taken: u64,
    /// Put-back units, any slot.
    pub put_backs: u64,
    /// Put-back units in a wrong slot.
    pub misplaced: u64,
    /// Shopper wishes that found an empty slot (or too few units).
    pub lost_sales: u64,
    /// Units wanted and not found.
    pub lost_units: u64,
    /// Slots running empty.
    pub stock_outs: u64,
    /// Restocks.
    pub restocks: u64,
    /// Units restocked.
    pub units_restocked: u64,
}

/// Nanoseconds since the start of the run, the simulator's clock.
type Nanos = u64;

fn secs_to_nanos(s: f64) -> Nanos {
    (s.clamp(0.0, MAX_SAMPLED_SECONDS) * NANOS_PER_SEC) as Nanos
}

/// Something scheduled to happen.
#[derive(Debug, Clone)]
enum Action {
    /// A candidate shopper arrival (thinning decides whether it is one).
    Candidate,
    /// A shopper looks into a slot wanting `want` units.
    Reach {
        shopper: u64,
        slot: usize,
        want: u32,
    },
    /// The shopper's hand comes out of the slot.
    Grab {
        shopper: u64,
        slot: usize,
        want: u32,
        hand: u64,
    },
    /// The shopper decides where to put one unit of `from_slot` back.
    Return {
        shopper: u64,
        from_slot: usize,
    },
    /// The put-back hand leaves `slot`, the unit is in.
    Place {
        shopper: u64,
        from_slot: usize,
        slot: usize,
        hand: u64,
    },
    /// The shopper's dwell time is over; they leave when their hands are free.
    DwellEnd {
        shopper: u64,
    },
    StaffArrive {
        slot: usize,
    },
    StaffDone {
        slot: usize,
        hand: u64,
        body: u64,
    },
    OccluderEnd {
        id: u64,
    },
    NextCart {
        camera: usize,
    },
    NextGlare {
        camera: usize,
    },
    SpikeStart {
        channel: usize,
        grams: f64,
        kind: SpikeKind,
        seconds: f64,
    },
    SpikeEnd {
        id: u64,
        channel: usize,
    },
    NextGlitch {
        channel: usize,
    },
    OutageStart {
        camera: usize,
        nanos: Nanos,
    },
    OutageEnd {
        camera: usize,
    },
    NextRandomOutage {
        camera: usize,
    },
}

#[derive(Debug)]
struct Scheduled {
    at: Nanos,
    seq: u64,
    action: Action,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    // Reversed: BinaryHeap is a max-heap, the earliest (then first scheduled) must come out.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A shopper at the shelf.
#[derive(Debug)]
struct Visit {
    camera: usize,
    /// Actions of this visit still scheduled (reaches, grabs, returns, places).
    pending: u32,
    dwell_over: bool,
    body: Option<u64>,
    basket: BTreeMap<usize, u32>,
}

/// Axis-aligned bounds of what a camera sees of its shelf.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    min: Point,
    max: Point,
}

impl Bounds {
    fn width(&self) -> f32 {
        self.max[0] - self.min[0]
    }
    fn height(&self) -> f32 {
        self.max[1] - self.min[1]
    }
    fn centre(&self) -> Point {
        [
            (self.min[0] + self.max[0]) / 2.0,
            (self.min[1] + self.max[1]) / 2.0,
        ]
    }
    /// The centre moved so that a disc of `size` around it stays inside, where it fits.
    fn keep_inside(&self, c: Point, size: f32) -> Point {
        let fit = |v: f32, lo: f32, hi: f32| {
            if hi - lo >= 2.0 * size {
                v.clamp(lo + size, hi - size)
            } else {
                (lo + hi) / 2.0
            }
        };
        [
            fit(c[0], self.min[0], self.max[0]),
            fit(c[1], self.min[1], self.max[1]),
        ]
    }
    fn of(quads: impl Iterator<Item = [Point; 4]>) -> Option<Bounds> {
        let mut b: Option<Bounds> = None;
        for q in quads {
            for p in q {
                let nb = b.get_or_insert(Bounds { min: p, max: p });
                nb.min = [nb.min[0].min(p[0]), nb.min[1].min(p[1])];
                nb.max = [nb.max[0].max(p[0]), nb.max[1].max(p[1])];
            }
        }
        b
    }
}

/// The simulated store: slots, their contents, shoppers, staff and devices' disturbances.
#[derive(Debug)]
pub struct StoreSim {
    slots: Vec<SimSlot>,
    params: ScenarioParams,
    seed: u64,
    start: SystemTime,
    /// Start as signed nanoseconds since the Unix epoch (for hour and weekday).
    start_unix_nanos: i128,
    now: Nanos,
    rng: SimRng,
    noise_rng: SimRng,
    queue: BinaryHeap<Scheduled>,
    seq: u64,
    contents: Vec<SlotContent>,
    ledger: Vec<SlotLedger>,
    low_units: Vec<u32>,
    restock_pending: Vec<bool>,
    /// Base choice weight of each slot: popularity ^ exponent.
    base_weight: Vec<f64>,
    base_weight_sum: f64,
    /// Per-slot promotions as (start, end, uplift) in run nanoseconds.
    promos: Vec<Vec<(Nanos, Nanos, f64)>>,
    max_rate_per_sec: f64,
    cameras_with_slots: usize,
    camera_bounds: Vec<Option<Bounds>>,
    camera_slots: Vec<Vec<usize>>,
    daily: Option<(i64, Vec<f64>)>,
    visits: BTreeMap<u64, Visit>,
    next_shopper: u64,
    next_occluder: u64,
    occluders: BTreeMap<u64, Occluder>,
    /// Hand occluder id -> slot it is in.
    hands: BTreeMap<u64, usize>,
    channels: Vec<u32>,
    /// Per channel (index into `channels`): slots on it.
    channel_slots: Vec<Vec<usize>>,
    slot_channel: Vec<Option<usize>>,
    channel_changed: Vec<Option<Nanos>>,
    spikes: BTreeMap<u64, (usize, f64)>,
    offline: Vec<u32>,
    /// Events produced while building the store, returned by the first `advance`.
    early_events: Vec<TruthEvent>,
}

impl StoreSim {
    /// A store of `slots` run under `params`, deterministic for `seed`, its clock at `start`.
    /// Slots start 60..100 % full. Refuses empty, duplicate or over-long ids, capacity 0 or
    /// above [`MAX_CAPACITY`], non-finite or negative popularity, unit grams that are not
    /// finite and positive, non-finite quads, and invalid params (every problem is listed).
    pub fn new(
        slots: Vec<SimSlot>,
        params: ScenarioParams,
        seed: u64,
        start: SystemTime,
    ) -> Result<StoreSim, String> {
        let mut errors = params.validate().err().unwrap_or_default();
        let mut ids = std::collections::BTreeSet::new();
        for (i, s) in slots.iter().enumerate() {
            if s.id.is_empty() {
                errors.push(format!("slot {i}: empty id"));
            } else if !ids.insert(s.id.as_str()) {
                errors.push(format!("slot {i}: duplicate id {:?}", s.id));
            }
            match s.facings.checked_mul(s.depth) {
                Some(0) => errors.push(format!("slot {:?}: capacity 0", s.id)),
                Some(c) if c <= MAX_CAPACITY => {}
                _ => errors.push(format!("slot {:?}: capacity above {MAX_CAPACITY}", s.id)),
            }
            if !(s.popularity.is_finite() && s.popularity >= 0.0) {
                errors.push(format!(
                    "slot {:?}: popularity must be finite and >= 0, not {}",
                    s.id, s.popularity
                ));
            }
            if !(s.unit_grams.is_finite() && s.unit_grams > 0.0) {
                errors.push(format!(
                    "slot {:?}: unit grams must be finite and > 0, not {}",
                    s.id, s.unit_grams
                ));
            }
            if !s.quad.iter().flatten().all(|v| v.is_finite()) {
                errors.push(format!("slot {:?}: quad has non-finite points", s.id));
            }
            if s.camera > 10_000 {
                errors.push(format!(
                    "slot {:?}: camera index {} too large",
                    s.id, s.camera
                ));
            }
        }
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        Ok(StoreSim::build(slots, params, seed, start))
    }

    fn build(
        slots: Vec<SimSlot>,
        params: ScenarioParams,
        seed: u64,
        start: SystemTime,
    ) -> StoreSim {
        let start_unix_nanos = match start.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        let n_cameras = slots
            .iter()
            .map(|s| s.camera + 1)
            .chain(params.outages.iter().map(|o| o.camera + 1))
            .max()
            .unwrap_or(0);
        let mut camera_slots = vec![Vec::new(); n_cameras];
        for (i, s) in slots.iter().enumerate() {
            camera_slots[s.camera].push(i);
        }
        let camera_bounds: Vec<Option<Bounds>> = camera_slots
            .iter()
            .map(|idx| Bounds::of(idx.iter().map(|&i| slots[i].quad)))
            .collect();
        let cameras_with_slots = camera_slots.iter().filter(|s| !s.is_empty()).count();

        let mut channels: Vec<u32> = slots.iter().filter_map(|s| s.scale_channel).collect();
        channels.sort_unstable();
        channels.dedup();
        let mut channel_slots = vec![Vec::new(); channels.len()];
        let slot_channel: Vec<Option<usize>> = slots
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let c = channels.binary_search(&s.scale_channel?).ok()?;
                channel_slots[c].push(i);
                Some(c)
            })
            .collect();

        let base_weight: Vec<f64> = slots
            .iter()
            .map(|s| {
                let w = s.popularity.powf(params.popularity_exponent);
                if w.is_finite() {
                    w
                } else {
                    0.0
                }
            })
            .collect();
        let base_weight_sum: f64 = base_weight.iter().sum();

        let rel = |t: SystemTime| -> Nanos {
            match t.duration_since(start) {
                Ok(d) => d.as_nanos().min(u64::MAX as u128) as Nanos,
                Err(_) => 0,
            }
        };
        let promos: Vec<Vec<(Nanos, Nanos, f64)>> = slots
            .iter()
            .map(|s| {
                params
                    .promotions
                    .iter()
                    .filter(|p| p.sku == s.look.sku)
                    .map(|p| (rel(p.start), rel(p.end), p.uplift))
                    .collect()
            })
            .collect();
        let promo_bound = promos
            .iter()
            .map(|ps| ps.iter().map(|p| p.2.max(1.0)).product::<f64>())
            .fold(1.0, f64::max);
        let daily_bound = if params.daily_noise_sigma > 0.0 {
            DAILY_MULT_MAX
        } else {
            1.0
        };
        let max_hour = params.hourly_profile.iter().copied().fold(0.0, f64::max);
        let max_day = params.weekly_profile.iter().copied().fold(0.0, f64::max);
        let max_rate_per_sec = if base_weight_sum > 0.0 {
            params.shoppers_per_hour / 3600.0
                * cameras_with_slots as f64
                * max_hour
                * max_day
                * daily_bound
                * promo_bound
        } else {
            0.0
        };

        let low_units: Vec<u32> = slots
            .iter()
            .map(|s| (params.restock.threshold * s.capacity() as f64).floor() as u32)
            .collect();
        let mut fill_rng = SimRng::from_parts(&[seed, 3]);
        let contents: Vec<SlotContent> = slots
            .iter()
            .map(|s| {
                let cap = s.capacity();
                let units = ((fill_rng.uniform(0.6, 1.0) * cap as f64).ceil() as u32).min(cap);
                SlotContent {
                    units,
                    foreign: Vec::new(),
                }
            })
            .collect();
        let ledger = contents
            .iter()
            .map(|c| SlotLedger {
                initial: u64::from(c.units),
                ..SlotLedger::default()
            })
            .collect();
        let n_slots = slots.len();
        let n_channels = channels.len();
        let mut sim = StoreSim {
            slots,
            seed,
            start,
            start_unix_nanos,
            now: 0,
            rng: SimRng::from_parts(&[seed, 1]),
            noise_rng: SimRng::from_parts(&[seed, 2]),
            queue: BinaryHeap::new(),
            seq: 0,
            contents,
            ledger,
            low_units,
            restock_pending: vec![false; n_slots],
            base_weight,
            base_weight_sum,
            promos,
            max_rate_per_sec,
            cameras_with_slots,
            camera_bounds,
            camera_slots,
            daily: None,
            visits: BTreeMap::new(),
            next_shopper: 0,
            next_occluder: 0,
            occluders: BTreeMap::new(),
            hands: BTreeMap::new(),
            channels,
            channel_slots,
            slot_channel,
            channel_changed: vec![None; n_channels],
            spikes: BTreeMap::new(),
            offline: vec![0; n_cameras],
            early_events: Vec::new(),
            params,
        };
        sim.schedule_start();
        sim
    }

    fn schedule_start(&mut self) {
        if self.max_rate_per_sec > 0.0 {
            let dt = self.rng.exponential(1.0 / self.max_rate_per_sec);
            self.schedule_in(dt, Action::Candidate);
        }
        for camera in 0..self.camera_slots.len() {
            if self.camera_slots[camera].is_empty() {
                continue;
            }
            if let Some(dt) = self.poisson_gap(self.params.carts_per_hour) {
                self.schedule_in(dt, Action::NextCart { camera });
            }
            if let Some(dt) = self.poisson_gap(self.params.glare_per_hour) {
                self.schedule_in(dt, Action::NextGlare { camera });
            }
            if let Some(dt) = self.poisson_gap(self.params.camera_outages_per_day / 24.0) {
                self.schedule_in(dt, Action::NextRandomOutage { camera });
            }
        }
        for channel in 0..self.channels.len() {
            if let Some(dt) = self.poisson_gap(self.params.scale.glitches_per_hour) {
                self.schedule_in(dt, Action::NextGlitch { channel });
            }
        }
        for o in self.params.outages.clone() {
            let at = o.after.as_nanos().min(u64::MAX as u128 / 2) as Nanos;
            let nanos = o.duration.as_nanos().min(u64::MAX as u128 / 4) as Nanos;
            self.schedule_at(
                at,
                Action::OutageStart {
                    camera: o.camera,
                    nanos,
                },
            );
        }
        let mut events = Vec::new();
        for slot in 0..self.slots.len() {
            self.check_low(slot, &mut events);
        }
        self.early_events = events;
    }

    /// The slots, as given.
    pub fn slots(&self) -> &[SimSlot] {
        &self.slots
    }

    /// The scenario.
    pub fn params(&self) -> &ScenarioParams {
        &self.params
    }

    /// The seed the run was built with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The simulated now.
    pub fn now(&self) -> SystemTime {
        self.time_at(self.now)
    }

    /// Simulated time since the start.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.now)
    }

    fn time_at(&self, t: Nanos) -> SystemTime {
        self.start
            .checked_add(Duration::from_nanos(t))
            .unwrap_or(self.start)
    }

    /// What each slot holds now, same index as [`slots`](Self::slots).
    pub fn contents(&self) -> &[SlotContent] {
        &self.contents
    }

    /// Running counts per slot, same index as [`slots`](Self::slots).
    pub fn ledger(&self) -> &[SlotLedger] {
        &self.ledger
    }

    /// Store-wide counts since the start.
    pub fn totals(&self) -> StoreTotals {
        let mut t = StoreTotals {
            shoppers: self.next_shopper,
            ..StoreTotals::default()
        };
        for l in &self.ledger {
            t.units_sold += l.net_sold();
            t.units_taken += l.sold;
            t.put_backs += l.returned + l.misplaced;
            t.misplaced += l.misplaced;
            t.lost_sales += l.lost_sales;
            t.lost_units += l.lost_units;
            t.stock_outs += l.stock_outs;
            t.restocks += l.restocks;
            t.units_restocked += l.restocked;
        }
        t
    }

    /// Whether staff have been told to restock `slot` and have not finished.
    pub fn restock_pending(&self, slot: usize) -> bool {
        self.restock_pending.get(slot).copied().unwrap_or(false)
    }

    /// Shoppers at the shelves now.
    pub fn shoppers_present(&self) -> usize {
        self.visits.len()
    }

    /// Occluders in view now (hands in slots, shoppers and staff, carts, glare), in the order
    /// they appeared. Centres and sizes come from the slot quads, inside the cameras' shelves.
    pub fn occluders(&self) -> Vec<Occluder> {
        self.occluders.values().copied().collect()
    }

    /// The distinct scale channels under the slots, sorted.
    pub fn scale_channels(&self) -> Vec<u32> {
        self.channels.clone()
    }

    fn channel_index(&self, channel: u32) -> Option<usize> {
        self.channels.binary_search(&channel).ok()
    }

    fn true_grams_at(&self, c: usize) -> f64 {
        self.channel_slots[c]
            .iter()
            .map(|&i| {
                let content = &self.contents[i];
                let own = f64::from(content.units) * self.slots[i].unit_grams;
                let foreign: f64 = content
                    .foreign
                    .iter()
                    .map(|&f| self.slots[f].unit_grams)
                    .sum();
                own + foreign
            })
            .sum()
    }

    /// The load on `channel`: own units times unit grams plus foreign units' own grams, over
    /// the slots on it; no noise, spikes or tare. `None` for a channel no slot uses.
    pub fn true_grams(&self, channel: u32) -> Option<f64> {
        Some(self.true_grams_at(self.channel_index(channel)?))
    }

    /// What the load cell on `channel` reports now: the true load plus noise, the wobble of a
    /// hand in a slot on it, and active leans and glitches (so it can be far negative or huge).
    pub fn scale_reading(&mut self, channel: u32) -> Option<f64> {
        let c = self.channel_index(channel)?;
        let s = &self.params.scale;
        let mut grams = self.true_grams_at(c);
        if s.noise_grams > 0.0 {
            grams += self.noise_rng.normal() * s.noise_grams;
        }
        if s.touch_grams > 0.0 && self.touched(c) {
            grams += self.noise_rng.normal() * s.touch_grams;
        }
        grams += self
            .spikes
            .values()
            .filter(|(ch, _)| *ch == c)
            .map(|(_, g)| g)
            .sum::<f64>();
        Some(grams)
    }

    fn touched(&self, c: usize) -> bool {
        self.hands
            .values()
            .any(|&slot| self.slot_channel[slot] == Some(c))
    }

    /// When the load on `channel` last moved (units in or out, a lean or glitch starting or
    /// ending); now while a hand is in a slot on it. `None` if it has not moved since the start
    /// or no slot uses the channel. A scale reports `S D` within a second of such a moment.
    pub fn load_changed_at(&self, channel: u32) -> Option<SystemTime> {
        let c = self.channel_index(channel)?;
        if self.touched(c) {
            return Some(self.now());
        }
        self.channel_changed[c].map(|t| self.time_at(t))
    }

    /// Whether `camera` delivers frames now (false inside an outage window). Cameras the store
    /// does not know are online.
    pub fn camera_online(&self, camera: usize) -> bool {
        self.offline.get(camera).is_none_or(|&n| n == 0)
    }

    /// Moves the clock forward by `dt`, running everything due on the way at its own instant;
    /// returns what happened, in time order.
    pub fn advance(&mut self, dt: Duration) -> Vec<TruthEvent> {
        let mut events = std::mem::take(&mut self.early_events);
        let dt = dt.as_nanos().min(u128::from(u64::MAX - self.now)) as Nanos;
        let end = self.now + dt;
        while self.queue.peek().is_some_and(|s| s.at <= end) {
            let Some(next) = self.queue.pop() else { break };
            self.now = next.at;
            self.handle(next.action, &mut events);
        }
        self.now = end;
        events
    }

    fn schedule_at(&mut self, at: Nanos, action: Action) {
        self.seq += 1;
        self.queue.push(Scheduled {
            at,
            seq: self.seq,
            action,
        });
    }

    fn schedule_in(&mut self, seconds: f64, action: Action) {
        let at = self.now.saturating_add(secs_to_nanos(seconds));
        self.schedule_at(at, action);
    }

    /// Seconds to the next event of a Poisson process with `per_hour`, if it has a rate.
    fn poisson_gap(&mut self, per_hour: f64) -> Option<f64> {
        (per_hour > 0.0).then(|| self.rng.exponential(3600.0 / per_hour))
    }

    /// Local (day number since the epoch, hour, weekday Monday = 0) at run time `t`.
    fn calendar(&self, t: Nanos) -> (i64, usize, usize) {
        let unix_nanos = self.start_unix_nanos + i128::from(t);
        let secs = unix_nanos.div_euclid(1_000_000_000) as i64
            + i64::from(self.params.utc_offset_minutes) * 60;
        let day = secs.div_euclid(86_400);
        let hour = (secs.rem_euclid(86_400) / 3600) as usize;
        // 1970-01-01 was a Thursday.
        let weekday = (day + 3).rem_euclid(7) as usize;
        (day, hour, weekday)
    }

    fn daily_multipliers(&mut self, day: i64) -> &[f64] {
        let stale = self.daily.as_ref().is_none_or(|(d, _)| *d != day);
        if stale {
            let sigma = self.params.daily_noise_sigma;
            let mut rng = SimRng::from_parts(&[self.seed, 4, day as u64]);
            let mults = (0..self.slots.len())
                .map(|_| {
                    if sigma > 0.0 {
                        (rng.normal() * sigma - sigma * sigma / 2.0)
                            .exp()
                            .clamp(DAILY_MULT_MIN, DAILY_MULT_MAX)
                    } else {
                        1.0
                    }
                })
                .collect();
            self.daily = Some((day, mults));
        }
        self.daily.as_ref().map_or(&[], |(_, m)| m.as_slice())
    }

    /// Each slot's weight for shoppers' choices now: popularity, the day's multiplier, promos.
    fn weights_now(&mut self) -> Vec<f64> {
        let (day, _, _) = self.calendar(self.now);
        let now = self.now;
        let daily = self.daily_multipliers(day).to_vec();
        self.base_weight
            .iter()
            .enumerate()
            .map(|(i, &w)| {
                let promo: f64 = self.promos[i]
                    .iter()
                    .filter(|(s, e, _)| (*s..*e).contains(&now))
                    .map(|p| p.2)
                    .product();
                w * daily.get(i).copied().unwrap_or(1.0) * promo
            })
            .collect()
    }

    fn pick_weighted(&mut self, candidates: &[usize], weights: &[f64]) -> Option<usize> {
        let total: f64 = candidates.iter().map(|&i| weights[i]).sum();
        if total.is_nan() || total <= 0.0 {
            return None;
        }
        let mut x = self.rng.unit() * total;
        for &i in candidates {
            x -= weights[i];
            if x < 0.0 {
                return Some(i);
            }
        }
        candidates.iter().rev().copied().find(|&i| weights[i] > 0.0)
    }

    fn handle(&mut self, action: Action, ev: &mut Vec<TruthEvent>) {
        match action {
            Action::Candidate => self.on_candidate(ev),
            Action::Reach {
                shopper,
                slot,
                want,
            } => self.on_reach(shopper, slot, want, ev),
            Action::Grab {
                shopper,
                slot,
                want,
                hand,
            } => self.on_grab(shopper, slot, want, hand, ev),
            Action::Return { shopper, from_slot } => self.on_return(shopper, from_slot, ev),
            Action::Place {
                shopper,
                from_slot,
                slot,
                hand,
            } => self.on_place(shopper, from_slot, slot, hand, ev),
            Action::DwellEnd { shopper } => {
                if let Some(v) = self.visits.get_mut(&shopper) {
                    v.dwell_over = true;
                }
                self.maybe_leave(shopper, ev);
            }
            Action::StaffArrive { slot } => self.on_staff_arrive(slot, ev),
            Action::StaffDone { slot, hand, body } => self.on_staff_done(slot, hand, body, ev),
            Action::OccluderEnd { id } => self.unocclude(id, ev),
            Action::NextCart { camera } => {
                let seconds = self.params.cart_seconds.sample(&mut self.rng);
                if let Some(b) = self.camera_bounds[camera] {
                    let size = 0.18 * b.height();
                    let x = self.rng.uniform(f64::from(b.min[0]), f64::from(b.max[0])) as f32;
                    let centre = b.keep_inside([x, b.max[1] - size], size);
                    let id = self.occlude(OccluderKind::Cart, camera, centre, size, None, ev);
                    self.schedule_in(seconds, Action::OccluderEnd { id });
                }
                if let Some(dt) = self.poisson_gap(self.params.carts_per_hour) {
                    self.schedule_in(dt, Action::NextCart { camera });
                }
            }
            Action::NextGlare { camera } => {
                let seconds = self.params.glare_seconds.sample(&mut self.rng);
                if let Some(b) = self.camera_bounds[camera] {
                    let size = self.rng.uniform(0.03, 0.08) as f32 * b.width();
                    let x = self.rng.uniform(f64::from(b.min[0]), f64::from(b.max[0])) as f32;
                    let y = self.rng.uniform(f64::from(b.min[1]), f64::from(b.max[1])) as f32;
                    let centre = b.keep_inside([x, y], size);
                    let id = self.occlude(OccluderKind::Glare, camera, centre, size, None, ev);
                    self.schedule_in(seconds, Action::OccluderEnd { id });
                }
                if let Some(dt) = self.poisson_gap(self.params.glare_per_hour) {
                    self.schedule_in(dt, Action::NextGlare { camera });
                }
            }
            Action::SpikeStart {
                channel,
                grams,
                kind,
                seconds,
            } => {
                let id = self.next_id();
                self.spikes.insert(id, (channel, grams));
                self.channel_changed[channel] = Some(self.now);
                let until = self.now.saturating_add(secs_to_nanos(seconds));
                ev.push(TruthEvent::ScaleSpike {
                    channel: self.channels[channel],
                    grams,
                    kind,
                    at: self.now(),
                    until: self.time_at(until),
                });
                self.schedule_at(until, Action::SpikeEnd { id, channel });
            }
            Action::SpikeEnd { id, channel } => {
                self.spikes.remove(&id);
                self.channel_changed[channel] = Some(self.now);
            }
            Action::NextGlitch { channel } => {
                let s = &self.params.scale;
                let (negative, overload, secs) = (
                    s.negative_glitch_grams,
                    s.overload_glitch_grams,
                    s.glitch_seconds,
                );
                let (kind, grams) = if self.rng.chance(0.5) {
                    (SpikeKind::Negative, -negative.sample(&mut self.rng))
                } else {
                    (SpikeKind::Overload, overload.sample(&mut self.rng))
                };
                let seconds = secs.sample(&mut self.rng);
                self.schedule_in(
                    0.0,
                    Action::SpikeStart {
                        channel,
                        grams,
                        kind,
                        seconds,
                    },
                );
                if let Some(dt) = self.poisson_gap(self.params.scale.glitches_per_hour) {
                    self.schedule_in(dt, Action::NextGlitch { channel });
                }
            }
            Action::OutageStart { camera, nanos } => {
                if let Some(n) = self.offline.get_mut(camera) {
                    *n += 1;
                    if *n == 1 {
                        ev.push(TruthEvent::CameraOffline {
                            camera,
                            at: self.now(),
                        });
                    }
                }
                let end = self.now.saturating_add(nanos);
                self.schedule_at(end, Action::OutageEnd { camera });
            }
            Action::OutageEnd { camera } => {
                if let Some(n) = self.offline.get_mut(camera) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        ev.push(TruthEvent::CameraOnline {
                            camera,
                            at: self.now(),
                        });
                    }
                }
            }
            Action::NextRandomOutage { camera } => {
                let nanos = secs_to_nanos(self.params.outage_seconds.sample(&mut self.rng));
                self.schedule_in(0.0, Action::OutageStart { camera, nanos });
                if let Some(dt) = self.poisson_gap(self.params.camera_outages_per_day / 24.0) {
                    self.schedule_in(dt, Action::NextRandomOutage { camera });
                }
            }
        }
    }

    fn next_id(&mut self) -> u64 {
        self.next_occluder += 1;
        self.next_occluder
    }

    fn occlude(
        &mut self,
        kind: OccluderKind,
        camera: usize,
        centre: Point,
        size: f32,
        slot: Option<usize>,
        ev: &mut Vec<TruthEvent>,
    ) -> u64 {
        let id = self.next_id();
        let occluder = Occluder {
            kind,
            camera,
            centre,
            size,
            seed: SimRng::from_parts(&[self.seed, 5, id]).next_u64(),
        };
        self.occluders.insert(id, occluder);
        if kind == OccluderKind::Hand {
            if let Some(slot) = slot {
                self.hands.insert(id, slot);
            }
        }
        ev.push(TruthEvent::OcclusionStart {
            id,
            occluder,
            slot,
            at: self.now(),
        });
        id
    }

    fn unocclude(&mut self, id: u64, ev: &mut Vec<TruthEvent>) {
        if let Some(o) = self.occluders.remove(&id) {
            self.hands.remove(&id);
            ev.push(TruthEvent::OcclusionEnd {
                id,
                camera: o.camera,
                kind: o.kind,
                at: self.now(),
            });
        }
    }

    fn hand_in(&mut self, slot: usize, ev: &mut Vec<TruthEvent>) -> u64 {
        let q = self.slots[slot].quad;
        let b = Bounds::of(std::iter::once(q)).unwrap_or(Bounds {
            min: q[0],
            max: q[0],
        });
        let size = 0.4 * b.width().min(b.height());
        let camera = self.slots[slot].camera;
        self.occlude(OccluderKind::Hand, camera, b.centre(), size, Some(slot), ev)
    }

    /// A person (shopper or staff) standing in front of `slot`'s part of the shelf.
    fn body_in_front(&mut self, slot: usize, ev: &mut Vec<TruthEvent>) -> Option<u64> {
        let camera = self.slots[slot].camera;
        let b = self.camera_bounds[camera]?;
        let q = Bounds::of(std::iter::once(self.slots[slot].quad))?;
        let size = 0.3 * b.height();
        let x = q.centre()[0] + (self.rng.normal() * 0.05) as f32 * b.width();
        let y = b.centre()[1] + self.rng.uniform(-0.1, 0.1) as f32 * b.height();
        let centre = b.keep_inside([x, y], size);
        Some(self.occlude(OccluderKind::Shopper, camera, centre, size, None, ev))
    }

    fn take_size(&mut self) -> u32 {
        let w = self.params.take_weights;
        let total: f64 = w.iter().sum();
        let mut x = self.rng.unit() * total;
        for (i, wi) in w.iter().enumerate() {
            x -= wi;
            if x < 0.0 {
                return i as u32 + 1;
            }
        }
        1
    }

    fn on_candidate(&mut self, ev: &mut Vec<TruthEvent>) {
        let (_, hour, weekday) = self.calendar(self.now);
        let profile = self.params.hourly_profile[hour] * self.params.weekly_profile[weekday];
        if profile > 0.0 {
            let weights = self.weights_now();
            let weight_sum: f64 = weights.iter().sum();
            let rate = self.params.shoppers_per_hour / 3600.0
                * self.cameras_with_slots as f64
                * profile
                * weight_sum
                / self.base_weight_sum;
            if self.rng.chance(rate / self.max_rate_per_sec) {
                self.arrive(&weights, ev);
            }
        }
        let dt = self.rng.exponential(1.0 / self.max_rate_per_sec);
        self.schedule_in(dt, Action::Candidate);
    }

    fn arrive(&mut self, weights: &[f64], ev: &mut Vec<TruthEvent>) {
        let all: Vec<usize> = (0..self.slots.len()).collect();
        let Some(first) = self.pick_weighted(&all, weights) else {
            return;
        };
        let camera = self.slots[first].camera;
        let mut wanted = vec![first];
        let mut others: Vec<usize> = self.camera_slots[camera]
            .iter()
            .copied()
            .filter(|&i| i != first)
            .collect();
        while wanted.len() < 3 && self.rng.chance(self.params.extra_product_probability) {
            let Some(next) = self.pick_weighted(&others, weights) else {
                break;
            };
            others.retain(|&i| i != next);
            wanted.push(next);
        }
        self.next_shopper += 1;
        let shopper = self.next_shopper;
        ev.push(TruthEvent::ShopperArrived {
            shopper,
            camera,
            at: self.now(),
        });
        let dwell = self.params.dwell_seconds.sample(&mut self.rng);
        let body = if self.rng.chance(self.params.in_view_probability) {
            self.body_in_front(first, ev)
        } else {
            None
        };
        let mut offsets: Vec<f64> = wanted
            .iter()
            .map(|_| self.rng.uniform(0.5, (dwell - 6.0).max(1.0)))
            .collect();
        offsets.sort_by(f64::total_cmp);
        self.visits.insert(
            shopper,
            Visit {
                camera,
                pending: wanted.len() as u32,
                dwell_over: false,
                body,
                basket: BTreeMap::new(),
            },
        );
        for (&slot, &offset) in wanted.iter().zip(&offsets) {
            let want = self.take_size();
            self.schedule_in(
                offset,
                Action::Reach {
                    shopper,
                    slot,
                    want,
                },
            );
        }
        self.schedule_in(dwell, Action::DwellEnd { shopper });
        if self.rng.chance(self.params.scale.lean_probability) {
            if let Some(channel) = self.slot_channel[first] {
                let s = &self.params.scale;
                let (lean_grams, lean_seconds) = (s.lean_grams, s.lean_seconds);
                let grams = lean_grams.sample(&mut self.rng);
                let seconds = lean_seconds.sample(&mut self.rng);
                let offset = self.rng.uniform(0.0, dwell);
                self.schedule_in(
                    offset,
                    Action::SpikeStart {
                        channel,
                        grams,
                        kind: SpikeKind::Lean,
                        seconds,
                    },
                );
            }
        }
    }

    /// One of the visit's pending actions is done; the shopper leaves if nothing is left.
    fn visit_action_done(&mut self, shopper: u64, ev: &mut Vec<TruthEvent>) {
        if let Some(v) = self.visits.get_mut(&shopper) {
            v.pending = v.pending.saturating_sub(1);
        }
        self.maybe_leave(shopper, ev);
    }

    fn visit_action_added(&mut self, shopper: u64) {
        if let Some(v) = self.visits.get_mut(&shopper) {
            v.pending += 1;
        }
    }

    fn maybe_leave(&mut self, shopper: u64, ev: &mut Vec<TruthEvent>) {
        let done = self
            .visits
            .get(&shopper)
            .is_some_and(|v| v.dwell_over && v.pending == 0);
        if !done {
            return;
        }
        let Some(v) = self.visits.remove(&shopper) else {
            return;
        };
        if let Some(body) = v.body {
            self.unocclude(body, ev);
        }
        ev.push(TruthEvent::ShopperLeft {
            shopper,
            camera: v.camera,
            basket: v.basket.into_iter().filter(|&(_, n)| n > 0).collect(),
            at: self.now(),
        });
    }

    fn on_reach(&mut self, shopper: u64, slot: usize, want: u32, ev: &mut Vec<TruthEvent>) {
        // An empty slot: the same product elsewhere on the shelves will do.
        let found = if self.contents[slot].units > 0 {
            Some(slot)
        } else {
            let sku = &self.slots[slot].look.sku;
            (0..self.slots.len())
                .find(|&i| self.contents[i].units > 0 && self.slots[i].look.sku == *sku)
        };
        match found {
            Some(slot) => {
                let hand = self.hand_in(slot, ev);
                let seconds = self.params.hand_seconds.sample(&mut self.rng);
                self.schedule_in(
                    seconds,
                    Action::Grab {
                        shopper,
                        slot,
                        want,
                        hand,
                    },
                );
            }
            None => {
                self.lost(shopper, slot, want, ev);
                self.visit_action_done(shopper, ev);
            }
        }
    }

    fn lost(&mut self, shopper: u64, slot: usize, units: u32, ev: &mut Vec<TruthEvent>) {
        let l = &mut self.ledger[slot];
        l.lost_sales += 1;
        l.lost_units += u64::from(units);
        ev.push(TruthEvent::LostSale {
            slot,
            units,
            shopper,
            at: self.now(),
        });
    }

    fn mark_changed(&mut self, slot: usize) {
        if let Some(c) = self.slot_channel[slot] {
            self.channel_changed[c] = Some(self.now);
        }
    }

    fn on_grab(
        &mut self,
        shopper: u64,
        slot: usize,
        want: u32,
        hand: u64,
        ev: &mut Vec<TruthEvent>,
    ) {
        self.unocclude(hand, ev);
        let got = want.min(self.contents[slot].units);
        if got > 0 {
            self.contents[slot].units -= got;
            self.ledger[slot].sold += u64::from(got);
            self.mark_changed(slot);
            if let Some(v) = self.visits.get_mut(&shopper) {
                *v.basket.entry(slot).or_insert(0) += got;
            }
            ev.push(TruthEvent::Sale {
                slot,
                units: got,
                shopper,
                at: self.now(),
            });
            if self.contents[slot].units == 0 {
                self.ledger[slot].stock_outs += 1;
                ev.push(TruthEvent::StockOut {
                    slot,
                    at: self.now(),
                });
            }
            self.check_low(slot, ev);
            if self.rng.chance(self.params.put_back_probability) {
                let delay = self.rng.uniform(2.0, 10.0);
                self.visit_action_added(shopper);
                self.schedule_in(
                    delay,
                    Action::Return {
                        shopper,
                        from_slot: slot,
                    },
                );
            }
        }
        if got < want {
            self.lost(shopper, slot, want - got, ev);
        }
        self.visit_action_done(shopper, ev);
    }

    /// Whether one unit of `from_slot`'s product fits into `slot` now.
    fn fits(&self, from_slot: usize, slot: usize) -> bool {
        let c = &self.contents[slot];
        let s = &self.slots[slot];
        if slot == from_slot {
            c.units < s.capacity()
        } else {
            // A misplaced unit stands in front of a column; one per column at most.
            (c.foreign.len() as u32) < s.facings
        }
    }

    fn on_return(&mut self, shopper: u64, from_slot: usize, ev: &mut Vec<TruthEvent>) {
        let camera = self
            .visits
            .get(&shopper)
            .map_or(self.slots[from_slot].camera, |v| v.camera);
        let mut target = from_slot;
        if self.rng.chance(self.params.wrong_slot_probability) {
            let others: Vec<usize> = self.camera_slots[camera]
                .iter()
                .copied()
                .filter(|&i| i != from_slot)
                .collect();
            if !others.is_empty() {
                target = others[self.rng.below(others.len() as u64) as usize];
            }
        }
        if self.fits(from_slot, target) {
            let hand = self.hand_in(target, ev);
            let seconds = self.params.hand_seconds.sample(&mut self.rng);
            self.schedule_in(
                seconds,
                Action::Place {
                    shopper,
                    from_slot,
                    slot: target,
                    hand,
                },
            );
        } else {
            // No room: the shopper keeps it.
            self.visit_action_done(shopper, ev);
        }
    }

    fn on_place(
        &mut self,
        shopper: u64,
        from_slot: usize,
        slot: usize,
        hand: u64,
        ev: &mut Vec<TruthEvent>,
    ) {
        self.unocclude(hand, ev);
        let holding = self
            .visits
            .get(&shopper)
            .is_some_and(|v| v.basket.get(&from_slot).copied().unwrap_or(0) > 0);
        if holding && self.fits(from_slot, slot) {
            if let Some(v) = self.visits.get_mut(&shopper) {
                if let Some(n) = v.basket.get_mut(&from_slot) {
                    *n -= 1;
                }
            }
            if slot == from_slot {
                let was_empty = self.contents[slot].units == 0;
                self.contents[slot].units += 1;
                self.ledger[slot].returned += 1;
                if was_empty {
                    ev.push(TruthEvent::Replenished {
                        slot,
                        at: self.now(),
                    });
                }
            } else {
                self.contents[slot].foreign.push(from_slot);
                self.ledger[from_slot].misplaced += 1;
            }
            self.mark_changed(slot);
            ev.push(TruthEvent::PutBack {
                slot,
                from_slot,
                units: 1,
                shopper,
                at: self.now(),
            });
        }
        self.visit_action_done(shopper, ev);
    }

    fn check_low(&mut self, slot: usize, ev: &mut Vec<TruthEvent>) {
        let units = self.contents[slot].units;
        if !self.params.restock.enabled
            || self.restock_pending[slot]
            || units > self.low_units[slot]
        {
            return;
        }
        self.restock_pending[slot] = true;
        ev.push(TruthEvent::LowStock {
            slot,
            units,
            at: self.now(),
        });
        let delay = self.params.restock.reaction_seconds.sample(&mut self.rng);
        self.schedule_in(delay, Action::StaffArrive { slot });
    }

    fn on_staff_arrive(&mut self, slot: usize, ev: &mut Vec<TruthEvent>) {
        let body = self.body_in_front(slot, ev);
        let hand = self.hand_in(slot, ev);
        let seconds = self.params.restock.work_seconds.sample(&mut self.rng);
        self.schedule_in(
            seconds,
            Action::StaffDone {
                slot,
                hand,
                // 0 is never an occluder id: ids start at 1.
                body: body.unwrap_or(0),
            },
        );
    }

    fn on_staff_done(&mut self, slot: usize, hand: u64, body: u64, ev: &mut Vec<TruthEvent>) {
        self.unocclude(hand, ev);
        self.unocclude(body, ev);
        let cap = self.slots[slot].capacity();
        let r = &self.params.restock;
        let (partial, fill) = (r.partial_probability, r.partial_fill);
        let target = if self.rng.chance(partial) {
            let share = fill.sample(&mut self.rng);
            ((share * f64::from(cap)).ceil() as u32).clamp(self.low_units[slot] + 1, cap)
        } else {
            cap
        };
        let before = self.contents[slot].units;
        let added = target.saturating_sub(before);
        let removed = std::mem::take(&mut self.contents[slot].foreign);
        for &f in &removed {
            self.ledger[f].removed_by_staff += 1;
        }
        self.contents[slot].units += added;
        let l = &mut self.ledger[slot];
        l.restocked += u64::from(added);
        l.restocks += 1;
        self.restock_pending[slot] = false;
        self.mark_changed(slot);
        ev.push(TruthEvent::Restock {
            slot,
            units: added,
            removed_foreign: removed.len() as u32,
            at: self.now(),
        });
        if before == 0 && added > 0 {
            ev.push(TruthEvent::Replenished {
                slot,
                at: self.now(),
            });
        }
        self.check_low(slot, ev);
    }
}

/// Frame size of [`demo_layout`] cameras.
pub const DEMO_FRAME: (u32, u32) = (1280, 720);
/// Shelves per camera in [`demo_layout`].
pub const DEMO_SHELVES: usize = 4;
/// Slots per shelf in [`demo_layout`].
pub const DEMO_SLOTS_PER_SHELF: usize = 6;

/// A demo shelf layout: per camera a 1280x720 frame of 4 shelves x 6 slots, axis-aligned
/// rectangles tiling the shelf rows with small gaps (8 % margin top and bottom). Products are
/// `(look, unit grams, popularity)`, used in turn; facings 2..4 by popularity rank among the
/// products (the most popular third gets 4, as a planogram would), depth 2..4 (fixed per slot
/// position); slot ids `c{camera}-{shelf letter}{position}` (`c0-A1`); scale channel = global
/// slot index. Empty when there are no products or cameras.
pub fn demo_layout(products: &[(PackLook, f64, f64)], cameras: usize) -> Vec<SimSlot> {
    if products.is_empty() {
        return Vec::new();
    }
    let (w, h) = (DEMO_FRAME.0 as f32, DEMO_FRAME.1 as f32);
    let margin_y = 0.08 * h;
    let margin_x = 16.0;
    let gap = 8.0;
    let row_h = (h - 2.0 * margin_y) / DEMO_SHELVES as f32;
    let cols = DEMO_SLOTS_PER_SHELF as f32;
    let slot_w = (w - 2.0 * margin_x - (cols - 1.0) * gap) / cols;
    // Rank of each product by popularity, 0 = least popular.
    let mut order: Vec<usize> = (0..products.len()).collect();
    order.sort_by(|&a, &b| products[a].2.total_cmp(&products[b].2));
    let mut rank = vec![0usize; products.len()];
    for (r, &p) in order.iter().enumerate() {
        rank[p] = r;
    }
    let mut slots = Vec::with_capacity(cameras * DEMO_SHELVES * DEMO_SLOTS_PER_SHELF);
    for camera in 0..cameras {
        for shelf in 0..DEMO_SHELVES {
            for pos in 0..DEMO_SLOTS_PER_SHELF {
                let g = slots.len();
                let p = g % products.len();
                let (look, grams, popularity) = &products[p];
                let mut rng = SimRng::from_parts(&[0xD3E0, g as u64]);
                let facings = 2 + (3 * rank[p] / products.len()) as u32;
                let depth = 2 + rng.below(3) as u32;
                let x0 = margin_x + pos as f32 * (slot_w + gap);
                let x1 = x0 + slot_w;
                let y0 = margin_y + shelf as f32 * row_h + gap / 2.0;
                let y1 = y0 + row_h - gap;
                slots.push(SimSlot {
                    id: format!("c{camera}-{}{}", char::from(b'A' + shelf as u8), pos + 1),
                    camera,
                    quad: [[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
                    look: look.clone(),
                    facings,
                    depth,
                    unit_grams: *grams,
                    scale_channel: Some(g as u32),
                    popularity: *popularity,
                });
            }
        }
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::PackShape;

    fn products(n: usize) -> Vec<(PackLook, f64, f64)> {
        (0..n)
            .map(|i| {
                (
                    PackLook {
                        sku: format!("SKU{i:03}"),
                        shape: PackShape::Box,
                        primary: [200, 40, 40],
                        secondary: [250, 250, 250],
                    },
                    100.0 + 50.0 * i as f64,
                    1.0 / (1.0 + i as f64),
                )
            })
            .collect()
    }

    fn monday_8am() -> SystemTime {
        // 2024-01-01 was a Monday.
        UNIX_EPOCH + Duration::from_secs(1_704_067_200 + 8 * 3600)
    }

    #[test]
    fn calendar_knows_weekdays_and_hours() {
        let sim = StoreSim::new(Vec::new(), ScenarioParams::quiet(), 1, monday_8am())
            .expect("empty store");
        assert_eq!(sim.calendar(0).1, 8);
        assert_eq!(sim.calendar(0).2, 0);
        assert_eq!(sim.calendar(5 * 86_400 * 1_000_000_000).2, 5);
    }

    #[test]
    fn demo_layout_tiles_the_frame() {
        let slots = demo_layout(&products(5), 2);
        assert_eq!(slots.len(), 48);
        for s in &slots {
            let [tl, _, br, _] = s.quad;
            assert!(tl[0] >= 0.0 && br[0] <= 1280.0 && tl[1] >= 57.0 && br[1] <= 663.0);
            assert!((2..=4).contains(&s.facings) && (2..=4).contains(&s.depth));
        }
        assert_eq!(slots[25].id, "c1-A2");
        assert_eq!(slots[25].scale_channel, Some(25));
        assert_eq!(slots[7].look.sku, "SKU002");
    }

    #[test]
    fn empty_store_runs() {
        let mut sim = StoreSim::new(Vec::new(), ScenarioParams::busy(), 1, monday_8am())
            .expect("empty store");
        assert!(sim.advance(Duration::from_secs(3600)).is_empty());
        assert!(sim.scale_channels().is_empty());
        assert!(sim.camera_online(3));
    }

    #[test]
    fn a_planned_outage_takes_the_camera_offline_for_its_window() {
        let params = ScenarioParams::quiet().with_camera_outage(
            0,
            Duration::from_secs(60),
            Duration::from_secs(120),
        );
        let mut sim =
            StoreSim::new(demo_layout(&products(3), 1), params, 3, monday_8am()).expect("store");
        sim.advance(Duration::from_secs(59));
        assert!(sim.camera_online(0));
        let ev = sim.advance(Duration::from_secs(2));
        assert!(!sim.camera_online(0));
        assert!(ev
            .iter()
            .any(|e| matches!(e, TruthEvent::CameraOffline { camera: 0, .. })));
        sim.advance(Duration::from_secs(118));
        assert!(!sim.camera_online(0));
        sim.advance(Duration::from_secs(2));
        assert!(sim.camera_online(0));
    }

    #[test]
    fn chunking_does_not_change_the_run() {
        let slots = demo_layout(&products(6), 1);
        let mut a =
            StoreSim::new(slots.clone(), ScenarioParams::busy(), 9, monday_8am()).expect("store");
        let mut b = StoreSim::new(slots, ScenarioParams::busy(), 9, monday_8am()).expect("store");
        let one = a.advance(Duration::from_secs(7200));
        let mut many = Vec::new();
        for _ in 0..(7200 * 4) {
            many.extend(b.advance(Duration::from_millis(250)));
            // Polling the scales must not change what shoppers do.
            b.scale_reading(0);
        }
        assert_eq!(one, many);
        assert_eq!(a.contents(), b.contents());
        assert!(!one.is_empty());
    }

    #[test]
    fn events_come_in_time_order() {
        let mut sim = StoreSim::new(
            demo_layout(&products(8), 2),
            ScenarioParams::occlusion_heavy(),
            4,
            monday_8am(),
        )
        .expect("store");
        let ev = sim.advance(Duration::from_secs(4 * 3600));
        assert!(ev.windows(2).all(|w| w[0].at() <= w[1].at()));
        assert!(ev.iter().all(|e| e.at() <= sim.now()));
    }

    #[test]
    fn hands_sit_in_the_slot_they_touch() {
        let slots = demo_layout(&products(4), 1);
        let mut sim =
            StoreSim::new(slots.clone(), ScenarioParams::demo(), 2, monday_8am()).expect("store");
        let mut seen = 0;
        for _ in 0..2000 {
            for e in sim.advance(Duration::from_millis(500)) {
                if let TruthEvent::OcclusionStart {
                    occluder,
                    slot: Some(slot),
                    ..
                } = e
                {
                    let [tl, _, br, _] = slots[slot].quad;
                    let [x, y] = occluder.centre;
                    assert!(x > tl[0] && x < br[0] && y > tl[1] && y < br[1]);
                    assert_eq!(occluder.kind, OccluderKind::Hand);
                    seen += 1;
                }
            }
        }
        assert!(seen > 10, "{seen} hands");
    }

    #[test]
    fn params_validation_lists_every_problem() {
        let mut p = ScenarioParams::busy();
        p.shoppers_per_hour = f64::NAN;
        p.put_back_probability = 1.5;
        p.restock.threshold = 1.0;
        p.dwell_seconds = Dist::uniform(10.0, 5.0);
        let errors = p.validate().expect_err("invalid");
        assert_eq!(errors.len(), 4, "{errors:?}");
        for name in ["quiet", "busy", "occlusion-heavy", "demo"] {
            let p = ScenarioParams::named(name).expect("preset");
            assert_eq!(p.validate(), Ok(()), "{name}");
        }
        assert!(ScenarioParams::named("rush").is_none());
    }
}
