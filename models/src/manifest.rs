//! `models/manifest.toml`: which models exist, their files, hashes, tensors and preprocessing.
//! The format is described in `models/CONTRACT.md`.

use crate::ModelError;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The parsed manifest, with file paths resolved against its directory.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Directory that relative paths in the manifest are resolved against.
    pub dir: PathBuf,
    /// One entry per model, in manifest order.
    pub models: Vec<ModelEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    schema: u32,
    #[serde(default)]
    model: Vec<ModelEntry>,
}

/// One `[[model]]` block.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// `slotnet`, `forecaster`, `recommender` or `text_encoder`.
    pub name: String,
    /// Version of the artifact.
    pub version: String,
    /// The int8 ONNX file the device runs, relative to the manifest.
    pub file: PathBuf,
    /// Lower-case hex SHA-256 of `file`.
    pub sha256: String,
    /// Float reference file (benchmarks, accuracy), if shipped.
    #[serde(default)]
    pub float_file: Option<PathBuf>,
    /// SHA-256 of `float_file`.
    #[serde(default)]
    pub float_sha256: Option<String>,
    /// Model card.
    #[serde(default)]
    pub card: Option<PathBuf>,
    /// Test vector JSON (inputs and expected outputs of `file`).
    pub test_vector: PathBuf,
    /// Largest accepted absolute difference from the expected outputs.
    pub tolerance: f32,
    /// Graph inputs, in graph order.
    pub inputs: Vec<TensorSpec>,
    /// Graph outputs, in graph order.
    pub outputs: Vec<TensorSpec>,
    /// Model-specific preprocessing parameters.
    #[serde(default)]
    pub preprocess: toml::Table,
}

/// Name, element type and shape of one tensor.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    /// Tensor name in the ONNX graph.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Dimensions; `Batch` where the runtime chooses, `Seq` where the input's length decides.
    pub shape: Vec<Dim>,
}

/// Element types the models use.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// 32-bit float.
    F32,
    /// 64-bit signed integer (token ids).
    I64,
}

/// One dimension: fixed, the batch size the runtime picks, or a sequence length each call sets.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Dim {
    /// A fixed size.
    Fixed(usize),
    /// `"N"`: the batch dimension.
    Batch(BatchMarker),
    /// `"S"`: a sequence length (the text encoder's tokens). The plan is built once with a
    /// symbolic dimension and each run takes the length of its input, so a short text does not
    /// pay for padding.
    Seq(SeqMarker),
}

/// The string `"N"`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum BatchMarker {
    /// Batch.
    N,
}

/// The string `"S"`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum SeqMarker {
    /// Sequence length.
    S,
}

impl TensorSpec {
    /// The shape with the batch dimension set to `batch` (and a sequence dimension, if any, to
    /// 1: use [`TensorSpec::concrete_seq`] for tensors that have one).
    pub fn concrete(&self, batch: usize) -> Vec<usize> {
        self.concrete_seq(batch, 1)
    }

    /// The shape with the batch dimension set to `batch` and the sequence dimension to `seq`.
    pub fn concrete_seq(&self, batch: usize, seq: usize) -> Vec<usize> {
        self.shape
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => *n,
                Dim::Batch(_) => batch,
                Dim::Seq(_) => seq,
            })
            .collect()
    }

    /// Whether the shape has a batch dimension.
    pub fn batched(&self) -> bool {
        self.shape.iter().any(|d| matches!(d, Dim::Batch(_)))
    }

    /// Whether the shape has a sequence dimension.
    pub fn sequenced(&self) -> bool {
        self.shape.iter().any(|d| matches!(d, Dim::Seq(_)))
    }

    /// The sequence length that `values` elements give at `batch` (None when the count does not
    /// fit the shape, or gives a length of 0). Tensors without a sequence dimension give 1 when
    /// the count is exactly their size.
    pub fn seq_of(&self, batch: usize, values: usize) -> Option<usize> {
        let per: usize = self.concrete_seq(batch, 1).iter().product();
        if per == 0 || values % per != 0 {
            return None;
        }
        let seq = values / per;
        match (self.sequenced(), seq) {
            (_, 0) => None,
            (false, 1) => Some(1),
            (false, _) => None,
            (true, s) => Some(s),
        }
    }

    /// The shape as the manifest writes it with N set to `batch`, e.g. `[24, 3, 64, 64]`.
    pub fn shape_text_at(&self, batch: usize) -> String {
        self.shape_text().replace('N', &batch.to_string())
    }

    /// The shape as the manifest writes it, e.g. `[N, 3, 64, 64]`.
    pub fn shape_text(&self) -> String {
        let dims: Vec<String> = self
            .shape
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => n.to_string(),
                Dim::Batch(_) => "N".to_string(),
                Dim::Seq(_) => "S".to_string(),
            })
            .collect();
        format!("[{}]", dims.join(", "))
    }
}

impl Manifest {
    /// Reads and checks a manifest file.
    pub fn load(path: &Path) -> Result<Manifest, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::Manifest {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Manifest::parse(&text, dir).map_err(|reason| ModelError::Manifest {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parses manifest text; `dir` resolves relative paths.
    pub fn parse(text: &str, dir: PathBuf) -> Result<Manifest, String> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| e.to_string())?;
        if raw.schema != 1 {
            return Err(format!(
                "schema {} is not supported (this build reads schema 1)",
                raw.schema
            ));
        }
        let mut problems = Vec::new();
        let mut names = std::collections::HashSet::new();
        for m in &raw.model {
            if !names.insert(m.name.as_str()) {
                problems.push(format!("model {:?} is listed twice", m.name));
            }
            if m.sha256.len() != 64 || !m.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                problems.push(format!("model {:?}: sha256 must be 64 hex digits", m.name));
            }
            if m.float_file.is_some() != m.float_sha256.is_some() {
                problems.push(format!(
                    "model {:?}: float_file and float_sha256 go together",
                    m.name
                ));
            }
            if !(m.tolerance.is_finite() && m.tolerance >= 0.0) {
                problems.push(format!(
                    "model {:?}: tolerance must be a finite number >= 0",
                    m.name
                ));
            }
            if m.inputs.is_empty() || m.outputs.is_empty() {
                problems.push(format!(
                    "model {:?}: inputs and outputs must not be empty",
                    m.name
                ));
            }
            for t in m.inputs.iter().chain(&m.outputs) {
                let batch_dims = t.shape.iter().filter(|d| matches!(d, Dim::Batch(_)));
                let seq_dims = t.shape.iter().filter(|d| matches!(d, Dim::Seq(_)));
                for (count, what) in [(batch_dims.count(), "N"), (seq_dims.count(), "S")] {
                    if count > 1 {
                        problems.push(format!(
                            "model {:?}: tensor {:?} has more than one {what}",
                            m.name, t.name
                        ));
                    }
                }
            }
            if m.outputs.iter().any(TensorSpec::sequenced)
                && !m.inputs.iter().any(TensorSpec::sequenced)
            {
                problems.push(format!(
                    "model {:?}: an output has S but no input does",
                    m.name
                ));
            }
        }
        if problems.is_empty() {
            Ok(Manifest {
                dir,
                models: raw.model,
            })
        } else {
            Err(problems.join("; "))
        }
    }

    /// The entry for `name`.
    pub fn entry(&self, name: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.name == name)
    }

    /// A manifest-relative path made usable.
    pub fn path(&self, relative: &Path) -> PathBuf {
        self.dir.join(relative)
    }
}

impl ModelEntry {
    /// A string preprocessing parameter.
    pub fn pre_str(&self, key: &str) -> Result<&str, ModelError> {
        self.preprocess
            .get(key)
            .and_then(|v| v.as_str())
            .ok_or_else(|| self.missing(key, "a string"))
    }

    /// A numeric preprocessing parameter.
    pub fn pre_f64(&self, key: &str) -> Result<f64, ModelError> {
        match self.preprocess.get(key) {
            Some(toml::Value::Float(f)) => Ok(*f),
            Some(toml::Value::Integer(i)) => Ok(*i as f64),
            _ => Err(self.missing(key, "a number")),
        }
    }

    /// A list-of-strings preprocessing parameter.
    pub fn pre_strings(&self, key: &str) -> Result<Vec<String>, ModelError> {
        let list = self.preprocess.get(key).and_then(|v| v.as_array());
        match list {
            Some(items) if items.iter().all(|v| v.is_str()) => Ok(items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()),
            _ => Err(self.missing(key, "a list of strings")),
        }
    }

    fn missing(&self, key: &str, what: &str) -> ModelError {
        ModelError::Invalid {
            model: self.name.clone(),
            reason: format!("manifest [model.preprocess] {key} must be {what}"),
        }
    }
}
