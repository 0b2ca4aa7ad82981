//! recommender: a shopper's session of SKUs in, a score for every catalog SKU out.

use crate::engine::{Engine, Input};
use crate::manifest::Manifest;
use crate::ModelError;
use std::collections::HashMap;

/// Ranked recommendations.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendations {
    /// (SKU, score), best first, without the session's own SKUs.
    pub ranked: Vec<(String, f32)>,
    /// Session SKUs the model does not know (new products); they were ignored.
    pub unknown: Vec<String>,
}

/// Item-embedding recommender over the catalog it was trained on.
pub struct Recommender {
    engine: Engine,
    skus: Vec<String>,
    index: HashMap<String, usize>,
}

impl Recommender {
    /// Loads and verifies the recommender and its SKU list.
    pub fn load(manifest: &Manifest) -> Result<Recommender, ModelError> {
        let engine = Engine::load(manifest, "recommender", &[1])?;
        Recommender::from_engine(manifest, engine)
    }

    /// Wraps an engine loaded by the caller.
    pub fn from_engine(manifest: &Manifest, engine: Engine) -> Result<Recommender, ModelError> {
        let entry = engine.entry();
        let path = manifest.path(std::path::Path::new(entry.pre_str("skus")?));
        let text = std::fs::read_to_string(&path).map_err(|e| ModelError::File {
            model: entry.name.clone(),
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let skus: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        let width = entry.inputs[0].concrete(1).iter().product::<usize>();
        if skus.len() != width {
            return Err(ModelError::Invalid {
                model: entry.name.clone(),
                reason: format!(
                    "{} lists {} SKUs, the model takes {width}",
                    path.display(),
                    skus.len()
                ),
            });
        }
        let index = skus
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
        Ok(Recommender {
            engine,
            skus,
            index,
        })
    }

    /// Number of SKUs the model scores.
    pub fn catalog_len(&self) -> usize {
        self.skus.len()
    }

    /// Scores for the session; an empty or all-unknown session gives the popularity order.
    pub fn score(&self, session: &[&str]) -> Result<Recommendations, ModelError> {
        let mut x = vec![0f32; self.skus.len()];
        let mut unknown = Vec::new();
        for sku in session {
            match self.index.get(*sku) {
                Some(&i) => x[i] = 1.0,
                None => unknown.push(sku.to_string()),
            }
        }
        let out = self.engine.run(1, &[Input::F32(&x)])?;
        let mut ranked: Vec<(String, f32)> = out[0]
            .data
            .iter()
            .enumerate()
            .filter(|(i, s)| x[*i] == 0.0 && s.is_finite())
            .map(|(i, s)| (self.skus[i].clone(), *s))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(Recommendations { ranked, unknown })
    }

    /// The underlying engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}
