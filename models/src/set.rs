//! All models of a manifest, loaded independently: one that fails does not stop the others.

use crate::manifest::Manifest;
use crate::{Forecaster, ModelError, Recommender, SlotNet, TextEncoder};
use std::path::Path;

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
/// `reports`; callers degrade (e.g. no recommendations) instead of stopping.
#[derive(Default)]
pub struct ModelSet {
    /// Slot readings from camera crops.
    pub slotnet: Option<SlotNet>,
    /// Demand forecasts.
    pub forecaster: Option<Forecaster>,
    /// Product recommendations.
    pub recommender: Option<Recommender>,
    /// Kiosk text understanding.
    pub text_encoder: Option<TextEncoder>,
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
            let version = manifest
                .entry(name)
                .map(|e| e.version.clone())
                .unwrap_or_default();
            let result = match name {
                "slotnet" => SlotNet::load(&manifest, slot_batch).map(|m| {
                    let ms = m.engine().load_ms;
                    set.slotnet = Some(m);
                    ms
                }),
                "forecaster" => Forecaster::load(&manifest).map(|m| {
                    let ms = m.engine().load_ms;
                    set.forecaster = Some(m);
                    ms
                }),
                "recommender" => Recommender::load(&manifest).map(|m| {
                    let ms = m.engine().load_ms;
                    set.recommender = Some(m);
                    ms
                }),
                _ => TextEncoder::load(&manifest).map(|m| {
                    let ms = m.engine().load_ms;
                    set.text_encoder = Some(m);
                    ms
                }),
            };
            if let Err(e) = &result {
                log::error!("{e}; serving without it");
            }
            set.reports.push(LoadReport {
                name: name.to_string(),
                version,
                result,
            });
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

    /// Names of the models that loaded.
    pub fn ready(&self) -> Vec<&str> {
        self.reports
            .iter()
            .filter(|r| r.result.is_ok())
            .map(|r| r.name.as_str())
            .collect()
    }
}
