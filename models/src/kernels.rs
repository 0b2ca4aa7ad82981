//! Faster kernels for operators that tract 0.23 runs one value at a time.
//!
//! tract computes every `QuantizeLinear` (static scale) and `DynamicQuantizeLinear` (scale from
//! the tensor's range) with a scalar loop whose rounding is a branch or a library call per
//! value: about 4-6 ns a value on x86_64, a third of the text encoder's time and a quarter of
//! slotnet's int8 time. The kernels here compute the same numbers, bit for bit, in loops the
//! compiler turns into SIMD code (a lane-wise range, a division or product, a round-to-even by
//! the 1.5 * 2^23 trick, float clamps), on every target we build. The same goes for f32
//! arithmetic that tract leaves to its general broadcasting loop when it does not fuse it
//! (slotnet's pixel normalisation at batch 24, the text encoder's residual Adds) and for f32
//! concatenation. [`eval_node`] clears the AVX state some tract kernels leave dirty.
//!
//! [`use_fast_kernels`] swaps them into an optimised model after tract's own passes, so every
//! fusion tract makes is kept and only the operators it left standing change. The tests below
//! hold them to tract's scalar code on ordinary and extreme values (ties, zeros, NaN, infinity,
//! values that overflow the integer range); `models/tests` runs every int8 model both ways.

use crate::engine::Kernels;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{
    ElementWiseMiniOp, EvalContext, EvalOp, Op, OpState, StaticName,
};
use tract_onnx::tract_core::ops::array::TypedConcat;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::quant::QuantizeLinearU8;
use tract_onnx::tract_core::{as_op, op_as_typed_op, op_out_of_plan};

/// Values handled side by side: wide enough for AVX-512 and a few NEON registers.
const LANES: usize = 16;
/// 1.5 * 2^23, see `to_u8_tame`.
const ROUNDER: f32 = 12_582_912.0;
/// Largest magnitude the rounding trick handles exactly (2^22).
const ROUNDER_RANGE: f32 = 4_194_304.0;

/// `saturate(round(v) + zero_point)` exactly as tract computes it, one value at a time: a
/// saturating cast to i32 (NaN gives 0), a wrapping add, a clamp. Used where a tensor holds
/// NaN, infinity or a value beyond 2^22 steps.
fn to_u8_exact(v: f32, zero_point: i32) -> u8 {
    (v.round_ties_even() as i32)
        .wrapping_add(zero_point)
        .clamp(0, 255) as u8
}

/// The same for `|v| <= 2^22` in float operations only, so that a loop of it vectorises:
/// adding and subtracting 1.5 * 2^23 rounds to an integer, ties to even; every step after it is
/// exact, and the clamped integer q in 0..=255 is the low byte of the bits of q + 2^23.
#[inline(always)]
fn to_u8_tame(v: f32, zero_point: f32) -> u8 {
    let q = ((v + ROUNDER) - ROUNDER + zero_point).clamp(0.0, 255.0);
    (q + 8_388_608.0).to_bits() as u8
}

/// Min and max of `xs` widened to include 0 (strict comparisons, so NaN is skipped and -0.0
/// never replaces 0.0, as in ONNX `DynamicQuantizeLinear`), and whether every value is finite.
fn range_with_zero(xs: &[f32]) -> (f32, f32, bool) {
    let mut lo = [0f32; LANES];
    let mut hi = [0f32; LANES];
    // x * 0 is 0 for finite x and NaN for NaN or infinity
    let mut poison = [0f32; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for i in 0..LANES {
            lo[i] = if c[i] < lo[i] { c[i] } else { lo[i] };
            hi[i] = if c[i] > hi[i] { c[i] } else { hi[i] };
            poison[i] += c[i] * 0.0;
        }
    }
    let (mut min, mut max, mut finite) = (0f32, 0f32, poison.iter().all(|p| *p == 0.0));
    for &v in lo.iter().chain(chunks.remainder()) {
        min = if v < min { v } else { min };
    }
    for &v in hi.iter().chain(chunks.remainder()) {
        max = if v > max { v } else { max };
    }
    for &v in chunks.remainder() {
        finite &= v.is_finite();
    }
    (min, max, finite)
}

/// `ys[i] = saturate(round(op(xs[i])) + zero_point)`, vectorised when `tame` (every `op(x)`
/// within 2^22 and not NaN), else value by value like tract.
#[inline(always)]
fn quantize_with(xs: &[f32], ys: &mut [u8], zero_point: u8, tame: bool, op: impl Fn(f32) -> f32) {
    if !tame {
        for (x, y) in xs.iter().zip(ys.iter_mut()) {
            *y = to_u8_exact(op(*x), i32::from(zero_point));
        }
        return;
    }
    let zp = f32::from(zero_point);
    for (x, y) in xs.iter().zip(ys.iter_mut()) {
        *y = to_u8_tame(op(*x), zp);
    }
}

/// `QuantizeLinear` with a static scale: `ys[i] = saturate(round(xs[i] * inv_scale) + zp)`,
/// `inv_scale` the reciprocal of the ONNX scale (tract multiplies by it; so do we).
pub(crate) fn quantize_u8(xs: &[f32], ys: &mut [u8], inv_scale: f32, zero_point: u8) {
    let (min, max, finite) = range_with_zero(xs);
    let tame = finite && (min * inv_scale).abs().max((max * inv_scale).abs()) <= ROUNDER_RANGE;
    quantize_with(xs, ys, zero_point, tame, |x| x * inv_scale);
}

/// ONNX `DynamicQuantizeLinear` to u8: returns (scale, zero point) and fills `ys`.
pub(crate) fn dynamic_quantize_u8(xs: &[f32], ys: &mut [u8]) -> (f32, u8) {
    let (min, max, finite) = range_with_zero(xs);
    let scale = (max - min) / 255.0;
    // the saturating cast clamps to 0..=255 and turns the NaN of an all-zero tensor (0 / 0)
    // into 0, as tract's max(0) / min(255) pair does
    let zero_point = (-min / scale).round_ties_even() as u8;
    // |x / scale| <= 255 when the range is finite and not empty
    let tame = finite && scale > 0.0 && scale.is_finite();
    quantize_with(xs, ys, zero_point, tame, |x| x / scale);
    (scale, zero_point)
}

/// Static-scale quantize to u8 in the element-wise form tract uses for `QuantizeLinear`.
#[derive(Debug, Clone, PartialEq)]
struct FastQuantizeU8 {
    inv_scale: f32,
    zero_point: u8,
}

impl Eq for FastQuantizeU8 {}

impl ElementWiseMiniOp for FastQuantizeU8 {
    fn name(&self) -> String {
        "FastQuantizeLinearU8".into()
    }

    fn output_type(&self, input_type: DatumType) -> Option<DatumType> {
        (input_type == f32::datum_type()).then(u8::datum_type)
    }

    fn eval_out_of_place(&self, t: &Tensor, _out_dt: Option<DatumType>) -> TractResult<Tensor> {
        let xs = t.try_as_plain_ram()?;
        let xs = xs.as_slice::<f32>()?;
        let mut dst = Tensor::zero_dt(u8::datum_type(), t.shape())?;
        quantize_u8(
            xs,
            dst.try_as_plain_ram_mut()?.as_slice_mut::<u8>()?,
            self.inv_scale,
            self.zero_point,
        );
        Ok(dst)
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "1/scale: {} zero_point: {}",
            self.inv_scale, self.zero_point
        )])
    }
}

/// ONNX `DynamicQuantizeLinear` (f32 to u8, scale and zero point as scalar outputs).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct FastDynamicQuantizeU8;

impl Op for FastDynamicQuantizeU8 {
    fn name(&self) -> StaticName {
        "FastDynamicQuantizeLinearU8".into()
    }

    op_as_typed_op!();
}

impl EvalOp for FastDynamicQuantizeU8 {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = &inputs[0];
        let xs = input.try_as_plain_ram()?;
        let xs = xs.as_slice::<f32>()?;
        let mut dst = Tensor::zero_dt(u8::datum_type(), input.shape())?;
        let (scale, zero_point) =
            dynamic_quantize_u8(xs, dst.try_as_plain_ram_mut()?.as_slice_mut::<u8>()?);
        Ok(tvec!(
            dst.into_tvalue(),
            tensor0(scale).into_tvalue(),
            tensor0(zero_point).into_tvalue()
        ))
    }
}

impl TypedOp for FastDynamicQuantizeU8 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut quantized = inputs[0].clone().without_value();
        quantized.datum_type = u8::datum_type();
        Ok(tvec!(
            quantized,
            f32::fact([0usize; 0]),
            u8::fact([0usize; 0])
        ))
    }

    as_op!();
}

/// The four arithmetic operators of [`FastBinary`].
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

impl Arith {
    fn of(name: &str) -> Option<Arith> {
        Some(match name {
            "Add" => Arith::Add,
            "Sub" => Arith::Sub,
            "Mul" => Arith::Mul,
            "Div" => Arith::Div,
            _ => return None,
        })
    }

    /// `ys[i] = xs[i] op v`; one simple loop per operator, so that each vectorises.
    fn apply(self, xs: &[f32], ys: &mut [f32], v: f32) {
        let pairs = xs.iter().zip(ys.iter_mut());
        match self {
            Arith::Add => pairs.for_each(|(x, y)| *y = x + v),
            Arith::Sub => pairs.for_each(|(x, y)| *y = x - v),
            Arith::Mul => pairs.for_each(|(x, y)| *y = x * v),
            Arith::Div => pairs.for_each(|(x, y)| *y = x / v),
        }
    }

    /// `ys[i] = xs[i] op bs[i]`.
    fn apply_each(self, xs: &[f32], bs: &[f32], ys: &mut [f32]) {
        let triples = xs.iter().zip(bs).zip(ys.iter_mut());
        match self {
            Arith::Add => triples.for_each(|((x, b), y)| *y = x + b),
            Arith::Sub => triples.for_each(|((x, b), y)| *y = x - b),
            Arith::Mul => triples.for_each(|((x, b), y)| *y = x * b),
            Arith::Div => triples.for_each(|((x, b), y)| *y = x / b),
        }
    }
}

/// How b lines up with a in a [`FastBinary`].
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
enum Operand {
    /// A constant that varies along this axis of a at most (none: a scalar).
    Channel(Option<usize>),
    /// A tensor of a's shape.
    Same,
}

/// `a op b` in f32, for the two cases tract leaves to its general broadcasting loop (about 4-5
/// ns a value) when it does not fuse them: b a constant that varies along one axis of a at most
/// (slotnet's per-channel pixel normalisation, `[1, 3, 1, 1]` against `[N, 3, 64, 64]`, fused at
/// batch 1 but not at 24), and b of a's own shape (the text encoder's residual Adds, which a
/// symbolic sequence length keeps unfused). Computes the same f32 operation on every value.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct FastBinary {
    arith: Arith,
    operand: Operand,
}

impl Op for FastBinary {
    fn name(&self) -> StaticName {
        match self.operand {
            Operand::Channel(_) => format!("Fast{:?}ByChannel", self.arith).into(),
            Operand::Same => format!("Fast{:?}", self.arith).into(),
        }
    }

    op_as_typed_op!();
}

impl EvalOp for FastBinary {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let xs = a.try_as_plain_ram()?;
        let xs = xs.as_slice::<f32>()?;
        let bs = b.try_as_plain_ram()?;
        let bs = bs.as_slice::<f32>()?;
        let shape = a.shape();
        let mismatch = || {
            TractError::msg(format!(
                "{}: shapes {:?} and {:?} do not fit",
                self.name(),
                shape,
                b.shape()
            ))
        };
        let mut dst = Tensor::zero_dt(f32::datum_type(), shape)?;
        {
            let mut plain = dst.try_as_plain_ram_mut()?;
            let ys = plain.as_slice_mut::<f32>()?;
            match self.operand {
                Operand::Same => {
                    if bs.len() != xs.len() {
                        return Err(mismatch());
                    }
                    self.arith.apply_each(xs, bs, ys);
                }
                Operand::Channel(axis) => {
                    let (channels, inner) = match axis {
                        Some(k) => (shape[k], shape[k + 1..].iter().product::<usize>()),
                        None => (1, xs.len()),
                    };
                    if bs.len() != channels
                        || channels * inner == 0
                        || xs.len() % (channels * inner) != 0
                    {
                        return Err(mismatch());
                    }
                    for (i, (x, y)) in xs.chunks(inner).zip(ys.chunks_mut(inner)).enumerate() {
                        self.arith.apply(x, y, bs[i % channels]);
                    }
                }
            }
        }
        Ok(tvec!(dst.into_tvalue()))
    }
}

impl TypedOp for FastBinary {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(inputs[0].clone().without_value()))
    }

    as_op!();
}

/// A [`FastBinary`] for this node if it is an f32 Add/Sub/Mul/Div of a full tensor by a
/// constant that varies along one of its axes at most, or by a tensor of its own shape.
fn fast_binary(model: &TypedModel, node: &TypedNode) -> TractResult<Option<FastBinary>> {
    let Some(bin) = node.op_as::<TypedBinOp>() else {
        return Ok(None);
    };
    let Some(arith) = Arith::of(bin.0.name()) else {
        return Ok(None);
    };
    if bin.1.is_some() || node.inputs.len() != 2 {
        return Ok(None);
    }
    let a = model.outlet_fact(node.inputs[0])?;
    let b = model.outlet_fact(node.inputs[1])?;
    let out = model.outlet_fact(OutletId::new(node.id, 0))?;
    let f32s = [a.datum_type, b.datum_type, out.datum_type]
        .iter()
        .all(|dt| *dt == f32::datum_type());
    if !f32s || out.shape != a.shape {
        return Ok(None);
    }
    if b.shape == a.shape {
        return Ok(Some(FastBinary {
            arith,
            operand: Operand::Same,
        }));
    }
    let (Some(a_shape), Some(b_shape)) = (a.shape.as_concrete(), b.shape.as_concrete()) else {
        return Ok(None);
    };
    if b.konst.is_none() || a_shape.len() != b_shape.len() {
        return Ok(None);
    }
    let varying: Vec<usize> = (0..b_shape.len()).filter(|&k| b_shape[k] != 1).collect();
    let axis = match varying[..] {
        [] => None,
        [k] if b_shape[k] == a_shape[k] => Some(k),
        _ => return Ok(None),
    };
    Ok(Some(FastBinary {
        arith,
        operand: Operand::Channel(axis),
    }))
}

/// Concatenation of f32 tensors along one axis as plain block copies (tract's general
/// `stack_tensors` took about 2 ns a value for slotnet's crops and maps at batch 24).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct FastConcat {
    axis: usize,
}

impl Op for FastConcat {
    fn name(&self) -> StaticName {
        "FastConcat".into()
    }

    op_as_typed_op!();
}

impl EvalOp for FastConcat {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let first = inputs
            .first()
            .ok_or_else(|| TractError::msg("FastConcat without inputs"))?;
        let mut shape = first.shape().to_vec();
        let axis = self.axis;
        let fits = axis < shape.len()
            && inputs.iter().all(|t| {
                t.datum_type() == f32::datum_type()
                    && t.rank() == shape.len()
                    && (0..shape.len()).all(|k| k == axis || t.shape()[k] == shape[k])
            });
        if !fits {
            return Err(TractError::msg(format!(
                "FastConcat on axis {axis}: inputs of shapes {:?} do not fit",
                inputs
                    .iter()
                    .map(|t| t.shape().to_vec())
                    .collect::<Vec<_>>()
            )));
        }
        shape[axis] = inputs.iter().map(|t| t.shape()[axis]).sum();
        let outer: usize = shape[..axis].iter().product();
        let inner: usize = shape[axis + 1..].iter().product();
        let mut dst = Tensor::zero_dt(f32::datum_type(), &shape)?;
        {
            let mut plain = dst.try_as_plain_ram_mut()?;
            let ys = plain.as_slice_mut::<f32>()?;
            let mut at = 0;
            for o in 0..outer {
                for t in &inputs {
                    let block = t.shape()[axis] * inner;
                    let xs = t.try_as_plain_ram()?;
                    let xs = xs.as_slice::<f32>()?;
                    ys[at..at + block].copy_from_slice(&xs[o * block..(o + 1) * block]);
                    at += block;
                }
            }
        }
        Ok(tvec!(dst.into_tvalue()))
    }
}

impl TypedOp for FastConcat {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut fact = inputs[0].clone().without_value();
        fact.shape.set(
            self.axis,
            inputs.iter().map(|f| f.shape[self.axis].clone()).sum(),
        );
        Ok(tvec!(fact))
    }

    as_op!();
}

/// Evaluates one node of a plan; with our kernels, after clearing the upper halves of the AVX
/// registers.
///
/// Some of tract's AVX kernels return without `vzeroupper`. Until something clears it, that
/// "dirty upper state" makes every SSE instruction after it slow on this machine (measured: our
/// quantize loop over 24576 values, 55 µs right after such a kernel, 9 µs once cleared), and
/// the SSE code is everything compiled for the x86_64 baseline: ours and most of tract's element-
/// wise operators. One `vzeroupper` per node costs about a cycle. Other targets: plain eval.
pub(crate) fn eval_node(
    kernels: Kernels,
    ctx: &EvalContext,
    state: Option<&mut (dyn OpState + 'static)>,
    node: &TypedNode,
    inputs: TVec<TValue>,
) -> TractResult<TVec<TValue>> {
    if kernels == Kernels::Fast {
        clear_upper_avx();
    }
    tract_onnx::tract_core::plan::eval(ctx, state, node, inputs)
}

#[cfg(target_arch = "x86_64")]
fn clear_upper_avx() {
    // no vector value lives across this call, so clearing the upper halves loses nothing
    #[target_feature(enable = "avx")]
    unsafe fn vzeroupper() {
        core::arch::x86_64::_mm256_zeroupper()
    }
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: AVX is present (checked above).
        unsafe { vzeroupper() }
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn clear_upper_avx() {}

/// Replaces tract's scalar quantize operators and its slow broadcasting arithmetic in an
/// optimised model by the kernels above and returns how many it replaced. Only f32 inputs are
/// touched; anything else stays tract's.
pub(crate) fn use_fast_kernels(model: &mut TypedModel) -> TractResult<usize> {
    let mut replaced = 0;
    for id in 0..model.nodes().len() {
        if let Some(op) = fast_op(model, model.node(id))? {
            model.node_mut(id).op = op;
            replaced += 1;
        }
    }
    Ok(replaced)
}

/// Our replacement for this node, if we have one.
fn fast_op(model: &TypedModel, node: &TypedNode) -> TractResult<Option<Box<dyn TypedOp>>> {
    if let Some(op) = fast_binary(model, node)? {
        return Ok(Some(Box::new(op)));
    }
    let mut input_types = node
        .inputs
        .iter()
        .map(|i| model.outlet_fact(*i).map(|f| f.datum_type));
    let all_f32 = !node.inputs.is_empty()
        && input_types.try_fold(true, |ok, dt| {
            Ok::<_, TractError>(ok && dt? == f32::datum_type())
        })?;
    if !all_f32 {
        return Ok(None);
    }
    if let Some(concat) = node.op_as::<TypedConcat>() {
        return Ok(Some(Box::new(FastConcat { axis: concat.axis })));
    }
    if node.inputs.len() != 1 {
        return Ok(None);
    }
    if let Some(ew) = node.op_as::<ElementWiseOp>() {
        let to_u8 = ew.1.is_none() || ew.1 == Some(u8::datum_type());
        return Ok(ew
            .0
            .downcast_ref::<QuantizeLinearU8>()
            .filter(|_| to_u8)
            .map(|q| {
                Box::new(ElementWiseOp(
                    Box::new(FastQuantizeU8 {
                        inv_scale: q.scale,
                        zero_point: q.zero_point,
                    }),
                    ew.1,
                )) as Box<dyn TypedOp>
            }));
    }
    if node.op().name() == "DynamicQuantizeLinearU8" && node.outputs.len() == 3 {
        return Ok(Some(Box::new(FastDynamicQuantizeU8)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::tract_core::ops::quant::quantize_linear_f32_u8;

    /// ONNX `DynamicQuantizeLinear` as tract 0.23.9 computes it, one value at a time.
    fn reference_dynamic(xs: &[f32]) -> (Vec<u8>, f32, u8) {
        let (min, max) = xs.iter().fold((0f32, 0f32), |(lo, hi), &v| {
            if v < lo {
                (v, hi)
            } else if v > hi {
                (lo, v)
            } else {
                (lo, hi)
            }
        });
        let scale = (max - min) / 255.0;
        #[allow(clippy::manual_clamp)] // tract's own steps, NaN included
        let zp = (-min / scale).round_ties_even().max(0.0).min(255.0) as u8;
        let ys = xs
            .iter()
            .map(|x| {
                (((x / scale).round_ties_even() as i32).wrapping_add(i32::from(zp))).clamp(0, 255)
                    as u8
            })
            .collect();
        (ys, scale, zp)
    }

    /// A deterministic spread of values: ordinary activations, exact halves (ties) at several
    /// scales, signed zeros, tiny and huge magnitudes.
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (s >> 40) as f32 / (1u64 << 24) as f32;
                match i % 7 {
                    0 => (u - 0.3) * 20.0,
                    1 => ((s >> 33) % 512) as f32 * 0.5 - 128.0,
                    2 => -0.0,
                    3 => (u - 0.5) * 1e-30,
                    _ => (u - 0.5) * 4.0,
                }
            })
            .collect()
    }

    #[test]
    fn static_quantize_matches_tract_bit_for_bit() {
        let mut xs = values(1003, 1);
        xs.extend([
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            3e9,
            -3e9,
            5e6,
            4_194_304.5,
            8_388_607.0,
            0.5,
            1.5,
            2.5,
            -0.5,
            -2.5,
            254.5,
            255.5,
        ]);
        for (inv_scale, zp) in [(1.0, 0u8), (1.0, 128), (7.3, 3), (0.031, 255), (1e9, 17)] {
            let mut ys = vec![0u8; xs.len()];
            quantize_u8(&xs, &mut ys, inv_scale, zp);
            for (x, y) in xs.iter().zip(&ys) {
                let want = quantize_linear_f32_u8(*x, inv_scale, i32::from(zp));
                assert_eq!(*y, want, "x {x} 1/scale {inv_scale} zp {zp}");
            }
        }
    }

    /// Values on and a few ulps around the half steps of their own quantization scale: a kernel
    /// multiplying by 1 / scale instead of dividing rounds some of them the other way.
    fn ties_of_a_scale() -> Vec<f32> {
        let (min, max) = (-1.3f32, 2.9f32);
        let scale = (max - min) / 255.0;
        let mut xs = vec![min, max];
        for k in -79..176 {
            let tie = (k as f32 + 0.5) * scale;
            xs.extend((-4..=4).map(|d: i32| f32::from_bits(tie.to_bits().wrapping_add_signed(d))));
        }
        xs
    }

    #[test]
    fn dynamic_quantize_matches_the_scalar_definition_bit_for_bit() {
        let cases: Vec<Vec<f32>> = vec![
            values(16 * 97 + 5, 2),
            values(7, 3),
            values(16, 4).iter().map(|v| v.abs() + 1.0).collect(),
            values(40, 5).iter().map(|v| -v.abs() - 0.25).collect(),
            vec![0.0; 33],
            vec![-0.0; 20],
            vec![],
            {
                let mut v = values(50, 6);
                v[17] = f32::NAN;
                v
            },
            {
                let mut v = values(50, 7);
                v[3] = f32::INFINITY;
                v
            },
            (0..=510).map(|i| i as f32 * 0.5 - 100.0).collect(),
            ties_of_a_scale(),
        ];
        for xs in cases {
            let (want, want_scale, want_zp) = reference_dynamic(&xs);
            let mut ys = vec![0u8; xs.len()];
            let (scale, zp) = dynamic_quantize_u8(&xs, &mut ys);
            assert_eq!(scale.to_bits(), want_scale.to_bits(), "scale of {xs:?}");
            assert_eq!(zp, want_zp, "zero point of {xs:?}");
            assert_eq!(ys, want, "values of {xs:?}");
        }
    }

    fn f32_tensor(shape: &[usize]) -> TValue {
        let n = shape.iter().product::<usize>();
        Tensor::from_shape(shape, &(0..n).map(|i| i as f32).collect::<Vec<_>>())
            .unwrap()
            .into_tvalue()
    }

    #[test]
    fn the_arithmetic_and_concat_kernels_refuse_shapes_that_do_not_fit() {
        let ctx = EvalContext::out_of_plan();
        let same = FastBinary {
            arith: Arith::Add,
            operand: Operand::Same,
        };
        let r = same.eval(&ctx, tvec!(f32_tensor(&[2, 3]), f32_tensor(&[2, 4])));
        assert!(r.is_err());
        let by_channel = FastBinary {
            arith: Arith::Mul,
            operand: Operand::Channel(Some(1)),
        };
        let r = by_channel.eval(&ctx, tvec!(f32_tensor(&[2, 3, 4]), f32_tensor(&[1, 2, 1])));
        assert!(r.is_err());
        let ok = by_channel
            .eval(&ctx, tvec!(f32_tensor(&[2, 3, 2]), f32_tensor(&[1, 3, 1])))
            .unwrap();
        let ys = ok[0].try_as_plain_ram().unwrap();
        // a[n, c, w] = 6n + 2c + w, times b[c] = c
        let want: Vec<f32> = (0..12).map(|i| i as f32 * ((i / 2) % 3) as f32).collect();
        assert_eq!(ys.as_slice::<f32>().unwrap(), &want[..]);
        let concat = FastConcat { axis: 1 };
        let r = concat.eval(&ctx, tvec!(f32_tensor(&[2, 3]), f32_tensor(&[3, 3])));
        assert!(r.is_err());
        let joined = concat
            .eval(&ctx, tvec!(f32_tensor(&[2, 1]), f32_tensor(&[2, 2])))
            .unwrap();
        let ys = joined[0].try_as_plain_ram().unwrap();
        assert_eq!(
            ys.as_slice::<f32>().unwrap(),
            &[0.0, 0.0, 1.0, 1.0, 2.0, 3.0]
        );
    }
}
