//! Loads, verifies and runs the shop's int8 ONNX models with tract; the only crate that knows
//! tract.
//!
//! A model is ready only after its file's SHA-256 matches the manifest, its input shapes are
//! fixed and the plan optimised, and its test vector reproduces onnxruntime's outputs within
//! the manifest's tolerance on this device. [`ModelSet::load`] loads every model it can and
//! reports the ones that failed, so the runtime keeps serving with the rest.
//!
//! The typed front ends do the preprocessing in Rust: [`SlotNet`] (slot crops, resized with
//! `fast_image_resize`), [`Forecaster`] (28 days of features), [`Recommender`] (a session of
//! SKUs) and [`TextEncoder`] (WordPiece tokenisation with `tokenizers`). All are `Send + Sync`.

mod engine;
mod forecaster;
mod kernels;
pub mod manifest;
mod quad;
mod recommender;
pub mod set;
mod slotnet;
mod text;
mod vector;

pub use engine::{read_verified, sha256_hex, Engine, Input, Kernels, Output};
pub use forecaster::{DayFeatures, Forecast, Forecaster, History};
pub use manifest::{DType, Manifest, ModelEntry, TensorSpec};
pub use quad::{Point, Quad, QuadError};
pub use recommender::{Recommendations, Recommender};
pub use set::{LoadReport, ModelSet};
pub use slotnet::{ProductPack, SlotCrop, SlotNet, SlotReading, CROP_SIZE, PACK_SHAPES};
pub use text::{TextEncoder, TextReading};
pub use vector::{Feeds, TestVector};

use std::path::PathBuf;

/// Why a model could not be loaded or run. Every variant names the model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The manifest is missing or malformed.
    #[error("manifest {path}: {reason}")]
    Manifest {
        /// Manifest file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No such model in the manifest.
    #[error("model {0:?} is not in the manifest")]
    NotInManifest(String),
    /// A file of the model could not be read.
    #[error("model {model}: cannot read {path}: {reason}")]
    File {
        /// Model name.
        model: String,
        /// File.
        path: PathBuf,
        /// OS error.
        reason: String,
    },
    /// The file is not the one the manifest describes (altered, truncated or replaced).
    #[error("model {model}: {path} has sha256 {actual}, the manifest expects {expected}; refusing to load it")]
    HashMismatch {
        /// Model name.
        model: String,
        /// File.
        path: PathBuf,
        /// From the manifest.
        expected: String,
        /// Of the file.
        actual: String,
    },
    /// The graph uses operators tract cannot run.
    #[error("model {model}: unsupported operator(s) {}: re-export without them (see models/CONTRACT.md)", ops.join(", "))]
    UnsupportedOp {
        /// Model name.
        model: String,
        /// Operator types.
        ops: Vec<String>,
    },
    /// The graph does not accept the shapes the manifest declares.
    #[error("model {model}: wrong input shape: {reason}")]
    Shape {
        /// Model name.
        model: String,
        /// Details.
        reason: String,
    },
    /// tract failed to load or optimise the graph.
    #[error("model {model}: {stage} failed: {reason}")]
    Load {
        /// Model name.
        model: String,
        /// Which step.
        stage: String,
        /// tract's error chain.
        reason: String,
    },
    /// The manifest entry and the graph or its parameters disagree.
    #[error("model {model}: {reason}")]
    Invalid {
        /// Model name.
        model: String,
        /// Details.
        reason: String,
    },
    /// The test vector failed: the model is not trusted on this device.
    #[error("model {model}: test vector failed: {reason}")]
    TestVector {
        /// Model name.
        model: String,
        /// Details.
        reason: String,
    },
    /// A caller's input was refused (wrong size, NaN, ...).
    #[error("model {model}: bad input: {reason}")]
    Input {
        /// Model name.
        model: String,
        /// Details.
        reason: String,
    },
    /// Inference failed.
    #[error("model {model}: inference failed: {reason}")]
    Run {
        /// Model name.
        model: String,
        /// tract's error chain.
        reason: String,
    },
}
