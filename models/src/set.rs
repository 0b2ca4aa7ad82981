//! All models of a manifest, loaded independently: one that fails does not stop the others.

use crate::manifest::Manifest;
use crate::{Forecaster, ModelError, Recommender, SlotNet, TextEncoder};
use std::path::Path;
use std::sync::Arc;

/// Outcome of loading one model.
#[derive(Debug)]
pub struct LoadReport {
    /// Model name.
    pub name: String,
    /// Manifest version.
    pub version: String,
    /// Load + optimise + test vector time in milliseconds, or why it failed.
    pub result: Result<f64, ModelError>,
}

/// The models the daemon serves with. A model that failed to load is `None` and listed in
/// `reports`; callers degrade (e.g. no recommendations) instead of stopping. Each model is
/// shared (`Arc`), so a set that differs in one model from another (a model update) shares the
/// rest instead of loading them again.
#[derive(Default)]
pub struct ModelSet {
    /// Slot readings from camera crops.
    pub slotnet: Option<Arc<SlotNet>>,
    /// Demand forecasts.
    pub forecaster: Option<Arc<Forecaster>>,
    /// Product recommendations.
    pub recommender: Option<Arc<Recommender>>,
    /// Kiosk text understanding.
    pub text_encoder: Option<Arc<TextEncoder>>,
    /// One entry per model in the manifest (and per model this build expects but did not find).
    pub reports: Vec<LoadReport>,
}

/// Models this build knows how to serve.
pub const KNOWN: [&str; 4] = ["slotnet", "forecaster", "recommender", "text_encoder"];

impl ModelSet {
    /// Loads every model of the manifest. Only an unreadable manifest is an error.
    pub fn load(path: &Path, slot_batch: usize) -> Result<ModelSet, ModelError> {
        let manifest = Manifest::load(path)?;
        let mut set = ModelSet::default();
        for name in KNOWN {
            let _ = set.load_one(&manifest, name, slot_batch);
        }
        for entry in &manifest.models {
            if !KNOWN.contains(&entry.name.as_str()) {
                set.reports.push(LoadReport {
                    name: entry.name.clone(),
                    version: entry.version.clone(),
                    result: Err(ModelError::Invalid {
                        model: entry.name.clone(),
                        reason: "this build has no use for this model".into(),
                    }),
                });
            }
        }
        Ok(set)
    }

    /// Loads (and so verifies) the model `name` of `manifest` into this set, replacing the one
    /// it held only when the load succeeds, and records the outcome in `reports`. Returns the
    /// load time in milliseconds.
    pub fn load_one(
        &mut self,
        manifest: &Manifest,
        name: &str,
        slot_batch: usize,
    ) -> Result<f64, String> {
        let version = manifest
            .entry(name)
            .map(|e| e.version.clone())
            .unwrap_or_default();
        let result = match name {
            "slotnet" => SlotNet::load(manifest, slot_batch).map(|m| {
                let ms = m.engine().load_ms;
                self.slotnet = Some(Arc::new(m));
                ms
            }),
            "forecaster" => Forecaster::load(manifest).map(|m| {
                let ms = m.engine().load_ms;
                self.forecaster = Some(Arc::new(m));
                ms
            }),
            "recommender" => Recommender::load(manifest).map(|m| {
                let ms = m.engine().load_ms;
                self.recommender = Some(Arc::new(m));
                ms
            }),
            "text_encoder" => TextEncoder::load(manifest).map(|m| {
                let ms = m.engine().load_ms;
                self.text_encoder = Some(Arc::new(m));
                ms
            }),
            other => Err(ModelError::Invalid {
                model: other.to_string(),
                reason: format!("this build has no use for this model (it serves {KNOWN:?})"),
            }),
        };
        if let Err(e) = &result {
            log::error!("{e}; serving without it");
        }
        let outcome = result.as_ref().map(|ms| *ms).map_err(|e| e.to_string());
        self.reports.retain(|r| r.name != name);
        self.reports.push(LoadReport {
            name: name.to_string(),
            version,
            result,
        });
        outcome
    }

    /// A set holding this set's models with `name` taken from `other` (shared, not reloaded);
    /// its reports are empty.
    pub fn with_model_from(&self, other: &ModelSet, name: &str) -> ModelSet {
        let pick = |n: &str| if n == name { other } else { self };
        ModelSet {
            slotnet: pick("slotnet").slotnet.clone(),
            forecaster: pick("forecaster").forecaster.clone(),
            recommender: pick("recommender").recommender.clone(),
            text_encoder: pick("text_encoder").text_encoder.clone(),
            reports: Vec::new(),
        }
    }

    /// The manifest version of the loaded model `name`.
    pub fn version(&self, name: &str) -> Option<&str> {
        let engine = match name {
            "slotnet" => self.slotnet.as_ref().map(|m| m.engine()),
            "forecaster" => self.forecaster.as_ref().map(|m| m.engine()),
            "recommender" => self.recommender.as_ref().map(|m| m.engine()),
            "text_encoder" => self.text_encoder.as_ref().map(|m| m.engine()),
            _ => None,
        };
        engine.map(|e| e.entry().version.as_str())
    }

    /// Names of the models that loaded.
    pub fn ready(&self) -> Vec<&str> {
        self.reports
            .iter()
            .filter(|r| r.result.is_ok())
            .map(|r| r.name.as_str())
            .collect()
    }
}
