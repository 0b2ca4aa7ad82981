//! The one place that talks to tract: verify a file, build an optimised plan for fixed shapes (a
//! sequence dimension "S" stays symbolic: one plan for every length), run it with a pool of
//! reusable states, and check the manifest's test vector.

use crate::kernels::eval_node;
use crate::manifest::{DType, Dim, Manifest, ModelEntry, TensorSpec};
use crate::vector::TestVector;
use crate::ModelError;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tract_onnx::prelude::*;

/// An input handed to [`Engine::run`]: the data of one tensor, row-major.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// 32-bit floats.
    F32(&'a [f32]),
    /// 64-bit integers.
    I64(&'a [i64]),
}

/// One output: shape and row-major data.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Values (integer outputs are converted to f32).
    pub data: Vec<f32>,
}

struct Plan {
    plan: Arc<TypedSimplePlan>,
    /// Reusable runners: a run state keeps its scratch buffers between runs, and the input
    /// tensors are refilled in place, so steady-state inference does not allocate them again.
    runners: Mutex<Vec<Runner>>,
}

struct Runner {
    state: TypedSimpleState,
    inputs: Vec<Arc<Tensor>>,
}

/// Which kernels run the operators `kernels.rs` has its own for (quantize, unfused f32
/// arithmetic, Concat) and whether the AVX upper state is cleared between nodes. The results
/// are the same bit for bit; only the time differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kernels {
    /// Ours (the default).
    #[default]
    Fast,
    /// tract alone (for benchmarks and the equality tests).
    Tract,
}

/// A verified model with optimised plans for the batch sizes it was asked for.
pub struct Engine {
    entry: ModelEntry,
    kernels: Kernels,
    /// The file, kept only while loading: plans for other batch sizes cannot be made later,
    /// and the daemon does not carry a second copy of every model in memory.
    onnx: Option<Vec<u8>>,
    plans: Mutex<BTreeMap<usize, Arc<Plan>>>,
    /// Time loading took (hash, parse, optimise, test vector), in milliseconds.
    pub load_ms: f64,
    /// Largest difference from the test vector's expected outputs.
    pub vector_max_diff: f32,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("model", &self.entry.name)
            .finish()
    }
}

/// Lower-case hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a model file and checks its hash; a missing, truncated or altered file fails here.
pub fn read_verified(path: &Path, sha256: &str, model: &str) -> Result<Vec<u8>, ModelError> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::File {
        model: model.to_string(),
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let actual = sha256_hex(&bytes);
    if !actual.eq_ignore_ascii_case(sha256) {
        return Err(ModelError::HashMismatch {
            model: model.to_string(),
            path: path.to_path_buf(),
            expected: sha256.to_string(),
            actual,
        });
    }
    Ok(bytes)
}

impl Engine {
    /// Verifies the file's hash, builds the plans for `batches` (the only batch sizes `run`
    /// accepts afterwards) and runs the test vector. Nothing is reported ready unless all of
    /// that passes.
    pub fn load(manifest: &Manifest, name: &str, batches: &[usize]) -> Result<Engine, ModelError> {
        Engine::load_with_kernels(manifest, name, false, batches, Kernels::Fast)
    }

    /// Like [`Engine::load`] (`float`: [`Engine::load_float`]) with a choice of quantize kernels.
    pub fn load_with_kernels(
        manifest: &Manifest,
        name: &str,
        float: bool,
        batches: &[usize],
        kernels: Kernels,
    ) -> Result<Engine, ModelError> {
        let entry = manifest
            .entry(name)
            .ok_or_else(|| ModelError::NotInManifest(name.to_string()))?;
        Engine::load_entry(manifest, entry.clone(), float, batches, kernels)
    }

    /// Like [`Engine::load`] for the float reference file (benchmarks and accuracy checks).
    /// The test vector's expected outputs are the int8 file's, so the float file is held to a
    /// loose bound (0.1): it must run, stay finite and agree roughly.
    pub fn load_float(
        manifest: &Manifest,
        name: &str,
        batches: &[usize],
    ) -> Result<Engine, ModelError> {
        Engine::load_with_kernels(manifest, name, true, batches, Kernels::Fast)
    }

    fn load_entry(
        manifest: &Manifest,
        entry: ModelEntry,
        float: bool,
        batches: &[usize],
        kernels: Kernels,
    ) -> Result<Engine, ModelError> {
        let started = std::time::Instant::now();
        let (file, sha) = if float {
            match (&entry.float_file, &entry.float_sha256) {
                (Some(f), Some(s)) => (f.clone(), s.clone()),
                _ => {
                    return Err(ModelError::Invalid {
                        model: entry.name.clone(),
                        reason: "the manifest lists no float file".into(),
                    })
                }
            }
        } else {
            (entry.file.clone(), entry.sha256.clone())
        };
        let onnx = read_verified(&manifest.path(&file), &sha, &entry.name)?;
        let vector_path = manifest.path(&entry.test_vector);
        let engine = Engine {
            entry,
            kernels,
            onnx: Some(onnx),
            plans: Mutex::new(BTreeMap::new()),
            load_ms: 0.0,
            vector_max_diff: 0.0,
        };
        for &b in batches {
            engine.plan(b)?;
        }
        let vector = TestVector::load(&vector_path, &engine.entry)?;
        let vector_max_diff = engine.check_vector(&vector, float)?;
        Ok(Engine {
            load_ms: started.elapsed().as_secs_f64() * 1e3,
            vector_max_diff,
            ..engine
        })
    }

    /// The manifest entry.
    pub fn entry(&self) -> &ModelEntry {
        &self.entry
    }

    /// Number of nodes of the optimised plan for `batch`, by operator name (for `model info`).
    pub fn op_counts(&self, batch: usize) -> Result<BTreeMap<String, usize>, ModelError> {
        let plan = self.plan(batch)?;
        let mut counts = BTreeMap::new();
        for node in plan.plan.model().nodes() {
            *counts.entry(node.op().name().to_string()).or_insert(0) += 1;
        }
        Ok(counts)
    }

    fn plan(&self, batch: usize) -> Result<Arc<Plan>, ModelError> {
        let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(plan) = plans.get(&batch) {
            return Ok(plan.clone());
        }
        // tract can panic on graphs it does not expect (an unwrap deep in an optimiser pass):
        // a file from outside must give an error, not take the daemon down.
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.build(batch)));
        let plan = Arc::new(built.unwrap_or_else(|panic| {
            Err(ModelError::Load {
                model: self.entry.name.clone(),
                stage: format!("building the plan for batch {batch}"),
                reason: format!("tract panicked: {}", panic_text(&panic)),
            })
        })?);
        plans.insert(batch, plan.clone());
        Ok(plan)
    }

    fn build(&self, batch: usize) -> Result<Plan, ModelError> {
        let name = &self.entry.name;
        let fail = |stage: &str, e: TractError| load_error(name, stage, e);
        let Some(onnx) = &self.onnx else {
            return Err(ModelError::Input {
                model: name.clone(),
                reason: format!("batch {batch} was not prepared when the model was loaded"),
            });
        };
        let mut model = tract_onnx::onnx()
            .model_for_read(&mut &onnx[..])
            .map_err(|e| fail("parsing the ONNX file", e))?;
        let graph_inputs = model
            .input_outlets()
            .map_err(|e| fail("reading inputs", e))?
            .len();
        if graph_inputs != self.entry.inputs.len() {
            return Err(ModelError::Invalid {
                model: name.clone(),
                reason: format!(
                    "the graph has {graph_inputs} inputs, the manifest lists {}",
                    self.entry.inputs.len()
                ),
            });
        }
        let seq = model.symbols.sym("S");
        for (ix, spec) in self.entry.inputs.iter().enumerate() {
            let graph_name = model
                .node(model.input_outlets().map_err(|e| fail("inputs", e))?[ix].node)
                .name
                .clone();
            if graph_name != spec.name {
                return Err(ModelError::Invalid {
                    model: name.clone(),
                    reason: format!(
                        "graph input {ix} is {graph_name:?}, the manifest says {:?}",
                        spec.name
                    ),
                });
            }
            let dt = match spec.dtype {
                DType::F32 => f32::datum_type(),
                DType::I64 => i64::datum_type(),
            };
            let dims: TVec<TDim> = spec
                .shape
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => TDim::from(*n),
                    Dim::Batch(_) => TDim::from(batch),
                    Dim::Seq(_) => TDim::from(seq.clone()),
                })
                .collect();
            let fact = InferenceFact::dt_shape(dt, dims);
            model = model
                .with_input_fact(ix, fact)
                .map_err(|e| fail("fixing the input shape", e))?;
        }
        let unsupported: Vec<String> = model
            .nodes()
            .iter()
            .filter_map(|n| {
                let op = n.op().name();
                op.strip_prefix("Unimplemented(")
                    .map(|o| o.trim_end_matches(')').to_string())
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !unsupported.is_empty() {
            return Err(ModelError::UnsupportedOp {
                model: name.clone(),
                ops: unsupported,
            });
        }
        let typed = model.into_typed().map_err(|e| {
            shape_or_load_error(name, &self.entry.inputs, batch, "analysing the graph", e)
        })?;
        let mut optimized = typed.into_optimized().map_err(|e| {
            shape_or_load_error(name, &self.entry.inputs, batch, "optimising the graph", e)
        })?;
        if self.kernels == Kernels::Fast {
            crate::kernels::use_fast_kernels(&mut optimized)
                .map_err(|e| fail("choosing the quantize kernels", e))?;
        }
        let outputs = optimized
            .output_outlets()
            .map_err(|e| fail("outputs", e))?
            .to_vec();
        if outputs.len() != self.entry.outputs.len() {
            return Err(ModelError::Invalid {
                model: name.clone(),
                reason: format!(
                    "the graph has {} outputs, the manifest lists {}",
                    outputs.len(),
                    self.entry.outputs.len()
                ),
            });
        }
        for (outlet, spec) in outputs.iter().zip(&self.entry.outputs) {
            let fact = optimized
                .outlet_fact(*outlet)
                .map_err(|e| fail("outputs", e))?;
            let fits = fact.rank() == spec.shape.len()
                && fact
                    .shape
                    .iter()
                    .zip(&spec.shape)
                    .all(|(got, want)| match want {
                        Dim::Fixed(n) => got.as_i64() == Some(*n as i64),
                        Dim::Batch(_) => got.as_i64() == Some(batch as i64),
                        Dim::Seq(_) => got.as_i64().is_none(),
                    });
            if !fits {
                return Err(ModelError::Invalid {
                    model: name.clone(),
                    reason: format!(
                        "output {:?} has shape {:?}, the manifest says {} (batch {batch})",
                        spec.name,
                        fact.shape,
                        spec.shape_text()
                    ),
                });
            }
        }
        let plan = optimized.into_runnable().map_err(|e| fail("planning", e))?;
        Ok(Plan {
            plan,
            runners: Mutex::new(Vec::new()),
        })
    }

    /// Where a run's time goes: for each operator kind of the plan for `batch` (tract's names;
    /// the crate's own kernels start with "Fast"), its node count and the median over `runs`
    /// runs of its total time in microseconds, slowest first. For benchmarks (`tract_bench
    /// --profile`); the timing adds a little overhead per node.
    pub fn profile(
        &self,
        batch: usize,
        inputs: &[Input<'_>],
        runs: usize,
    ) -> Result<Vec<(String, usize, f64)>, ModelError> {
        // checks the inputs and warms the plan up
        self.run(batch, inputs)?;
        let name = &self.entry.name;
        let plan = self.plan(batch)?;
        let seq = inputs
            .iter()
            .zip(&self.entry.inputs)
            .find_map(|(input, spec)| {
                let len = match input {
                    Input::F32(d) => d.len(),
                    Input::I64(d) => d.len(),
                };
                spec.seq_of(batch, len).filter(|_| spec.sequenced())
            })
            .unwrap_or(1);
        let mut values: TVec<TValue> = tvec!();
        for (input, spec) in inputs.iter().zip(&self.entry.inputs) {
            let shape = spec.concrete_seq(batch, seq);
            let tensor = match input {
                Input::F32(d) => Tensor::from_shape(&shape, d),
                Input::I64(d) => Tensor::from_shape(&shape, d),
            };
            values.push(
                tensor
                    .map_err(|e| load_error(name, "profiling", e))?
                    .into_tvalue(),
            );
        }
        let mut state = TypedSimpleState::new(&plan.plan)
            .map_err(|e| load_error(name, "creating a run state", e))?;
        let mut per_run: BTreeMap<String, (usize, Vec<f64>)> = BTreeMap::new();
        for _ in 0..runs.max(1) {
            let mut times: BTreeMap<String, f64> = BTreeMap::new();
            state
                .run_plan_with_eval(values.clone(), |ctx, op_state, node, inputs| {
                    let started = std::time::Instant::now();
                    let out = eval_node(self.kernels, ctx, op_state, node, inputs);
                    *times.entry(node.op().name().to_string()).or_default() +=
                        started.elapsed().as_secs_f64() * 1e6;
                    out
                })
                .map_err(|e| load_error(name, "profiling", e))?;
            for (op, us) in times {
                per_run.entry(op).or_default().1.push(us);
            }
        }
        for node in plan.plan.model().nodes() {
            if let Some(entry) = per_run.get_mut(&*node.op().name()) {
                entry.0 += 1;
            }
        }
        let mut rows: Vec<(String, usize, f64)> = per_run
            .into_iter()
            .map(|(op, (count, mut us))| {
                us.sort_by(f64::total_cmp);
                (op, count, us[us.len() / 2])
            })
            .collect();
        rows.sort_by(|a, b| b.2.total_cmp(&a.2));
        Ok(rows)
    }

    /// Runs one batch. Inputs follow the manifest's order and shapes with N = `batch`.
    pub fn run(&self, batch: usize, inputs: &[Input<'_>]) -> Result<Vec<Output>, ModelError> {
        let name = &self.entry.name;
        if inputs.len() != self.entry.inputs.len() {
            return Err(ModelError::Input {
                model: name.clone(),
                reason: format!(
                    "{} inputs given, {} expected",
                    inputs.len(),
                    self.entry.inputs.len()
                ),
            });
        }
        // the sequence length, from the first input that has one; every such input must agree
        let mut seq: Option<usize> = None;
        for (input, spec) in inputs.iter().zip(&self.entry.inputs) {
            let (len, dtype_fits) = match input {
                Input::F32(d) => (d.len(), spec.dtype == DType::F32),
                Input::I64(d) => (d.len(), spec.dtype == DType::I64),
            };
            let fits = dtype_fits
                && match spec.seq_of(batch, len) {
                    Some(s) if spec.sequenced() => *seq.get_or_insert(s) == s,
                    got => got.is_some(),
                };
            if !fits {
                let s = seq.map_or("S >= 1".to_string(), |s| format!("S = {s}"));
                return Err(ModelError::Input {
                    model: name.clone(),
                    reason: format!(
                        "input {:?} must be {:?} of shape {}{} ({len} values given)",
                        spec.name,
                        spec.dtype,
                        spec.shape_text_at(batch),
                        if spec.sequenced() {
                            format!(", {s}")
                        } else {
                            String::new()
                        }
                    ),
                });
            }
            if let Input::F32(d) = input {
                if let Some(bad) = d.iter().position(|v| !v.is_finite()) {
                    return Err(ModelError::Input {
                        model: name.clone(),
                        reason: format!(
                            "input {:?} holds a non-finite value at index {bad}",
                            spec.name
                        ),
                    });
                }
            }
        }
        let plan = self.plan(batch)?;
        let pooled = plan.runners.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut runner = match pooled {
            Some(r) => r,
            None => Runner {
                state: TypedSimpleState::new(&plan.plan)
                    .map_err(|e| load_error(name, "creating a run state", e))?,
                inputs: Vec::new(),
            },
        };
        let mut values: TVec<TValue> = tvec!();
        for (ix, (input, spec)) in inputs.iter().zip(&self.entry.inputs).enumerate() {
            let shape = spec.concrete_seq(batch, seq.unwrap_or(1));
            let reuse = runner.inputs.get(ix).is_some_and(|t| t.shape() == shape);
            if !reuse {
                let dt = match spec.dtype {
                    DType::F32 => f32::datum_type(),
                    DType::I64 => i64::datum_type(),
                };
                let tensor = Tensor::zero_dt(dt, &shape).map_err(|e| ModelError::Input {
                    model: name.clone(),
                    reason: e.to_string(),
                })?;
                if ix < runner.inputs.len() {
                    runner.inputs[ix] = Arc::new(tensor);
                } else {
                    runner.inputs.push(Arc::new(tensor));
                }
            }
            let slot = &mut runner.inputs[ix];
            if Arc::get_mut(slot).is_none() {
                // still shared with the previous run's state: take a fresh copy
                *slot = Arc::new((**slot).clone());
            }
            let tensor = Arc::get_mut(slot).expect("just made exclusive");
            let copied = match input {
                Input::F32(d) => tensor
                    .try_as_plain_ram_mut()
                    .and_then(|mut v| v.as_slice_mut::<f32>().map(|s| s.copy_from_slice(d))),
                Input::I64(d) => tensor
                    .try_as_plain_ram_mut()
                    .and_then(|mut v| v.as_slice_mut::<i64>().map(|s| s.copy_from_slice(d))),
            };
            copied.map_err(|e| ModelError::Input {
                model: name.clone(),
                reason: e.to_string(),
            })?;
            values.push(slot.clone().into_tvalue());
        }
        let kernels = self.kernels;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runner
                .state
                .run_plan_with_eval(values, |ctx, st, node, inputs| {
                    eval_node(kernels, ctx, st, node, inputs)
                })
        }));
        // Only a run that succeeded gives its runner back. After an error or a panic the state
        // is suspect: a failed run can leave a symbol bound (a text encoder run with 65 tokens
        // kept S = 65, and every later run failed with "clashing resolution"). A fresh one is
        // made next time.
        let outputs = match result {
            Ok(Ok(r)) => {
                plan.runners
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(runner);
                r
            }
            Ok(Err(e)) => {
                return Err(ModelError::Run {
                    model: name.clone(),
                    reason: format!("{e:#}"),
                })
            }
            Err(panic) => {
                return Err(ModelError::Run {
                    model: name.clone(),
                    reason: format!("tract panicked: {}", panic_text(&panic)),
                })
            }
        };
        outputs
            .iter()
            .map(|t| {
                let shape = t.shape().to_vec();
                let data = match t.datum_type() {
                    DatumType::F32 => t
                        .try_as_plain_ram()
                        .and_then(|v| v.as_slice::<f32>().map(<[f32]>::to_vec)),
                    _ => t.cast_to::<f32>().and_then(|c| {
                        c.try_as_plain_ram()
                            .and_then(|v| v.as_slice::<f32>().map(<[f32]>::to_vec))
                    }),
                }
                .map_err(|e| ModelError::Run {
                    model: name.clone(),
                    reason: e.to_string(),
                })?;
                // Finite inputs must give finite outputs: a model that does not is broken (and
                // a model update that does it is rolled back), never read as a value.
                if let Some(bad) = data.iter().position(|v| !v.is_finite()) {
                    return Err(ModelError::Run {
                        model: name.clone(),
                        reason: format!("output holds a non-finite value at index {bad}"),
                    });
                }
                Ok(Output { shape, data })
            })
            .collect()
    }

    /// Runs the test vector and compares every output element with the tolerance.
    /// `float`: the vector's expected outputs come from the int8 file, so the float file is
    /// held to a loose bound (its job there is to show it runs and agrees roughly).
    pub fn check_vector(&self, vector: &TestVector, float: bool) -> Result<f32, ModelError> {
        let batch = vector.batch(&self.entry);
        let inputs: Vec<Input<'_>> = vector.inputs.iter().map(|t| t.as_input()).collect();
        let outputs = self.run(batch, &inputs)?;
        let tolerance = if float {
            self.entry.tolerance.max(0.1)
        } else {
            self.entry.tolerance
        };
        let mut worst = 0.0f32;
        for (got, want) in outputs.iter().zip(&vector.outputs) {
            if got.shape != want.shape {
                return Err(ModelError::TestVector {
                    model: self.entry.name.clone(),
                    reason: format!(
                        "output {:?} has shape {:?}, expected {:?}",
                        want.name, got.shape, want.shape
                    ),
                });
            }
            for (g, w) in got.data.iter().zip(want.as_f32().iter()) {
                let diff = (g - w).abs();
                if !diff.is_finite() || diff > tolerance {
                    return Err(ModelError::TestVector {
                        model: self.entry.name.clone(),
                        reason: format!(
                            "output {:?} differs by {diff} (tolerance {tolerance}): got {g}, expected {w}",
                            want.name
                        ),
                    });
                }
                worst = worst.max(diff);
            }
        }
        log::debug!(
            "model {}: test vector passed, max difference {worst}",
            self.entry.name
        );
        Ok(worst)
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

fn load_error(model: &str, stage: &str, e: TractError) -> ModelError {
    let mut chain = format!("{e:#}");
    if chain.len() > 600 {
        let mut cut = 600;
        while !chain.is_char_boundary(cut) {
            cut -= 1;
        }
        chain.truncate(cut);
        chain.push_str(" …");
    }
    match unsupported_op(&chain) {
        Some(op) => ModelError::UnsupportedOp {
            model: model.to_string(),
            ops: vec![op],
        },
        None => ModelError::Load {
            model: model.to_string(),
            stage: stage.to_string(),
            reason: chain,
        },
    }
}

fn shape_or_load_error(
    model: &str,
    inputs: &[TensorSpec],
    batch: usize,
    stage: &str,
    e: TractError,
) -> ModelError {
    let err = load_error(model, stage, e);
    match err {
        ModelError::Load { reason, .. } if reason.contains("unify") || reason.contains("shape") => {
            let declared: Vec<String> = inputs
                .iter()
                .map(|i| format!("{} {}", i.name, i.shape_text_at(batch)))
                .collect();
            ModelError::Shape {
                model: model.to_string(),
                reason: format!(
                    "the graph does not accept the declared input shapes ({}): {reason}",
                    declared.join(", ")
                ),
            }
        }
        other => other,
    }
}

/// Finds the operator tract could not handle in an error chain (`Unimplemented(QGemm)`).
fn unsupported_op(chain: &str) -> Option<String> {
    let at = chain.find("Unimplemented(")? + "Unimplemented(".len();
    let op: String = chain[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    (!op.is_empty()).then_some(op)
}

#[cfg(test)]
mod tests {
    use super::unsupported_op;

    #[test]
    fn finds_the_operator_in_tract_errors() {
        assert_eq!(
            unsupported_op("optimising: Unimplemented(QGemm) at node 3").as_deref(),
            Some("QGemm")
        );
        assert_eq!(
            unsupported_op("translating node #2 \"x\" Unimplemented(FooBar)").as_deref(),
            Some("FooBar")
        );
        assert_eq!(unsupported_op("shape mismatch"), None);
    }
}
