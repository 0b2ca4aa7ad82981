//! forecaster: 28 days of one SKU's history in, p10/p50/p90 demand for the next 7 days out.

use crate::engine::{Engine, Input};
use crate::manifest::Manifest;
use crate::ModelError;

/// Days of history the model reads.
pub const WINDOW: usize = 28;
/// Days it forecasts.
pub const HORIZON: usize = 7;
const FEATURES: usize = 6;

/// One day of one SKU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayFeatures {
    /// Units sold (estimated from depletion and scans).
    pub sales: f32,
    /// Day of week, Monday = 0.
    pub weekday: u8,
    /// A promotion ran that day.
    pub promotion: bool,
    /// Selling price that day divided by today's regular catalog price (promotions and price
    /// changes both show here).
    pub relative_price: f32,
    /// The shelf was empty for part of the day (sales are censored).
    pub stock_out: bool,
}

/// The last 28 days of one SKU, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// Exactly [`WINDOW`] days.
    pub days: Vec<DayFeatures>,
}

/// Demand quantiles for days +1..+7, in units. This is demand, not sales: the model was
/// trained without stock-out days, so it says what would sell with a full shelf.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// 10th percentile per day.
    pub p10: [f32; HORIZON],
    /// Median per day.
    pub p50: [f32; HORIZON],
    /// 90th percentile per day.
    pub p90: [f32; HORIZON],
}

/// The global demand model (one for all SKUs).
pub struct Forecaster {
    engine: Engine,
}

impl Forecaster {
    /// Loads and verifies the forecaster.
    pub fn load(manifest: &Manifest) -> Result<Forecaster, ModelError> {
        let engine = Engine::load(manifest, "forecaster", &[1])?;
        Forecaster::from_engine(engine)
    }

    /// Wraps an engine loaded by the caller.
    pub fn from_engine(engine: Engine) -> Result<Forecaster, ModelError> {
        let entry = engine.entry();
        let window = entry.pre_f64("window")? as usize;
        let horizon = entry.pre_f64("horizon")? as usize;
        if window != WINDOW || horizon != HORIZON {
            return Err(ModelError::Invalid {
                model: entry.name.clone(),
                reason: format!(
                    "window {window} / horizon {horizon}; this build needs {WINDOW} / {HORIZON}"
                ),
            });
        }
        Ok(Forecaster { engine })
    }

    /// Forecasts one SKU. Refuses histories of the wrong length, negative or non-finite sales
    /// and non-positive prices rather than guessing.
    pub fn predict(&self, history: &History) -> Result<Forecast, ModelError> {
        let bad = |reason: String| ModelError::Input {
            model: "forecaster".into(),
            reason,
        };
        if history.days.len() != WINDOW {
            return Err(bad(format!(
                "{} days of history given, {WINDOW} needed",
                history.days.len()
            )));
        }
        if let Some((i, d)) = history.days.iter().enumerate().find(|(_, d)| {
            !(d.sales.is_finite()
                && d.sales >= 0.0
                && d.relative_price.is_finite()
                && d.relative_price > 0.0)
                || d.weekday > 6
        }) {
            return Err(bad(format!("day {i} is invalid: {d:?}")));
        }
        let scale = (history.days.iter().map(|d| d.sales).sum::<f32>() / WINDOW as f32).max(1.0);
        let mut x = [0f32; WINDOW * FEATURES];
        for (row, d) in x.chunks_exact_mut(FEATURES).zip(&history.days) {
            let angle = 2.0 * std::f32::consts::PI * d.weekday as f32 / 7.0;
            row.copy_from_slice(&[
                d.sales / scale,
                angle.sin(),
                angle.cos(),
                d.promotion as u8 as f32,
                d.relative_price,
                d.stock_out as u8 as f32,
            ]);
        }
        let out = self.engine.run(1, &[Input::F32(&x)])?;
        let q = &out[0].data;
        let mut forecast = Forecast {
            p10: [0.0; HORIZON],
            p50: [0.0; HORIZON],
            p90: [0.0; HORIZON],
        };
        for day in 0..HORIZON {
            // keep the quantiles ordered and non-negative even if the model slips
            let mut v = [q[day * 3], q[day * 3 + 1], q[day * 3 + 2]].map(|v| (v * scale).max(0.0));
            v.sort_by(f32::total_cmp);
            forecast.p10[day] = v[0];
            forecast.p50[day] = v[1];
            forecast.p90[day] = v[2];
        }
        Ok(forecast)
    }

    /// The underlying engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}
