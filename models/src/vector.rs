//! Test vectors: inputs and the outputs onnxruntime gave for them (`models/CONTRACT.md`).

use crate::engine::Input;
use crate::manifest::{DType, Dim, ModelEntry};
use crate::ModelError;
use serde::Deserialize;
use std::path::Path;

/// One tensor of a test vector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorTensor {
    /// Tensor name.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Concrete shape.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f64>,
    #[serde(skip)]
    f32s: Vec<f32>,
    #[serde(skip)]
    i64s: Vec<i64>,
}

impl VectorTensor {
    /// The data as the engine takes it.
    pub fn as_input(&self) -> Input<'_> {
        match self.dtype {
            DType::F32 => Input::F32(&self.f32s),
            DType::I64 => Input::I64(&self.i64s),
        }
    }

    /// The data as f32 (for comparing outputs).
    pub fn as_f32(&self) -> &[f32] {
        &self.f32s
    }
}

/// Inputs and expected outputs. Other top-level keys (notes, extra cases for the training
/// side's own checks) are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct TestVector {
    /// In manifest input order.
    pub inputs: Vec<VectorTensor>,
    /// In manifest output order.
    pub outputs: Vec<VectorTensor>,
}

impl TestVector {
    /// Reads a vector and checks it against the manifest entry's tensors.
    pub fn load(path: &Path, entry: &ModelEntry) -> Result<TestVector, ModelError> {
        let invalid = |reason: String| ModelError::TestVector {
            model: entry.name.clone(),
            reason,
        };
        let text = std::fs::read(path).map_err(|e| ModelError::File {
            model: entry.name.clone(),
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let mut vector: TestVector = serde_json::from_slice(&text)
            .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
        if vector.inputs.len() != entry.inputs.len() || vector.outputs.len() != entry.outputs.len()
        {
            return Err(invalid(
                "the vector's tensors do not match the manifest's".into(),
            ));
        }
        let pairs = vector
            .inputs
            .iter_mut()
            .zip(&entry.inputs)
            .chain(vector.outputs.iter_mut().zip(&entry.outputs));
        for (t, spec) in pairs {
            let fits = t.name == spec.name
                && t.shape.len() == spec.shape.len()
                && t.shape.iter().zip(&spec.shape).all(|(n, d)| match d {
                    Dim::Fixed(f) => f == n,
                    Dim::Batch(_) => true,
                    Dim::Seq(_) => *n >= 1,
                })
                && t.shape.iter().product::<usize>() == t.data.len();
            if !fits {
                return Err(invalid(format!(
                    "tensor {:?} shape {:?} with {} values does not fit {:?} {}",
                    t.name,
                    t.shape,
                    t.data.len(),
                    spec.name,
                    spec.shape_text()
                )));
            }
            t.f32s = t.data.iter().map(|&v| v as f32).collect();
            if spec.dtype == DType::I64 {
                t.i64s = t.data.iter().map(|&v| v as i64).collect();
            }
        }
        Ok(vector)
    }

    /// The batch size the vector uses (1 when the model has no batch dimension).
    pub fn batch(&self, entry: &ModelEntry) -> usize {
        entry
            .inputs
            .iter()
            .zip(&self.inputs)
            .find_map(|(spec, t)| {
                spec.shape
                    .iter()
                    .position(|d| matches!(d, Dim::Batch(_)))
                    .map(|ix| t.shape[ix])
            })
            .unwrap_or(1)
    }

    /// The vector's input values cycled or cut to `batch` items of `seq` positions (`seq` only
    /// matters for a sequence dimension), with every float input multiplied by `gain`: inputs of
    /// the right shapes and plausible values for benchmarks and equality tests.
    pub fn tiled(&self, entry: &ModelEntry, batch: usize, seq: usize, gain: f32) -> Feeds {
        let tensors = self
            .inputs
            .iter()
            .zip(&entry.inputs)
            .map(|(t, spec)| {
                let values = t.as_f32();
                let n = spec.concrete_seq(batch, seq).iter().product::<usize>();
                let cycled = (0..n).map(|i| values[i % values.len().max(1)]);
                match spec.dtype {
                    DType::F32 => Feed::F32(cycled.map(|v| v * gain).collect()),
                    DType::I64 => Feed::I64(cycled.map(|v| v as i64).collect()),
                }
            })
            .collect();
        Feeds(tensors)
    }
}

#[derive(Debug, Clone)]
enum Feed {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

/// Owned input tensors in manifest order (from [`TestVector::tiled`]).
#[derive(Debug, Clone)]
pub struct Feeds(Vec<Feed>);

impl Feeds {
    /// The tensors as [`crate::Engine::run`] takes them.
    pub fn inputs(&self) -> Vec<Input<'_>> {
        self.0
            .iter()
            .map(|f| match f {
                Feed::F32(v) => Input::F32(v),
                Feed::I64(v) => Input::I64(v),
            })
            .collect()
    }
}
