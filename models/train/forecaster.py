"""Forecaster: one global GRU for every SKU, trained on simulated stores (demand_sim.py).

    python models/train/forecaster.py          # ~5-8 min on one CPU thread

Produces models/onnx/forecaster.{fp32,int8}.onnx, models/vectors/forecaster.json,
models/cards/forecaster.md and the forecaster block of models/manifest.toml.
Intermediates (checkpoint, metrics json) go to models/train/out/.

I/O (models/CONTRACT.md): history f32 [N,28,6] -> quantiles f32 [N,7,3] (p10/p50/p90, scaled).
Per history day: 0 sales/scale, 1 sin(2*pi*dow/7), 2 cos(2*pi*dow/7) (Monday = 0), 3 promo flag,
4 relative price = that day's selling price / the regular price on the last history day (i.e. the
current regular price), 5 stock-out flag; scale = max(1, mean(sales over the 28 days)).
"""

import json
import pathlib
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import demand_sim  # noqa: E402
from manifest import sha256, update_manifest  # noqa: E402

MODELS = HERE.parent
OUT = HERE / "out"
FP32 = MODELS / "onnx" / "forecaster.fp32.onnx"
INT8 = MODELS / "onnx" / "forecaster.int8.onnx"
VECTOR = MODELS / "vectors" / "forecaster.json"
CARD = MODELS / "cards" / "forecaster.md"

WINDOW, HORIZON = 28, 7
QUANTILES = [0.1, 0.5, 0.9]
FEATURES = ["sales_scaled", "dow_sin", "dow_cos", "promo", "relative_price", "stockout"]
HIDDEN, HEAD = 64, 64
STEPS, BATCH, LR = 4000, 256, 3e-3
VAL_STORE = 500  # monitoring only; the reported metrics use demand_sim.EVAL_STORES
SEED = 7
TOLERANCE = 1e-4


# ----------------------------------------------------------------------------- windows

def windows(sim: dict, s, i, t):
    """Model inputs and targets for stores s, SKUs i, forecast origins t (first forecast day).

    This is exactly the preprocessing the runtime must do (CONTRACT.md), plus the targets."""
    s, i, t = (np.asarray(a, dtype=np.int64) for a in (s, i, t))
    hist = t[:, None] - WINDOW + np.arange(WINDOW)[None, :]
    fut = t[:, None] + np.arange(HORIZON)[None, :]
    S, I = s[:, None], i[:, None]
    sales = sim["sales"][S, I, hist]
    scale = np.maximum(1.0, sales.mean(axis=1))
    dow = hist % 7  # day 0 of the simulation is a Monday
    x = np.stack([
        sales / scale[:, None],
        np.sin(2 * np.pi * dow / 7),
        np.cos(2 * np.pi * dow / 7),
        sim["promo"][S, I, hist],
        sim["price"][S, I, hist] / sim["regular_price"][s, i, t - 1][:, None],
        sim["stockout"][S, I, hist],
    ], axis=-1).astype(np.float32)
    return {
        "x": x,
        "scale": scale.astype(np.float32),
        "sales": sim["sales"][S, I, fut],
        "demand": sim["demand"][S, I, fut],
        "censored": sim["stockout"][S, I, fut],
        "promo": sim["promo"][S, I, fut],
        "snaive": sales[:, -7:],  # seasonal naive: the same weekday one week earlier
    }


def eval_index(sim: dict, stride: int = 5):
    """Every SKU of every store, origins every `stride` days (5 is coprime with 7: all weekdays)."""
    stores, skus, days = sim["sales"].shape
    origins = np.arange(WINDOW, days - HORIZON + 1, stride)
    s, i, t = np.meshgrid(np.arange(stores), np.arange(skus), origins, indexing="ij")
    return s.ravel(), i.ravel(), t.ravel()


# ----------------------------------------------------------------------------- model

class Forecaster(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(len(FEATURES), HIDDEN, batch_first=True)
        self.fc1 = torch.nn.Linear(HIDDEN, HEAD)
        self.fc2 = torch.nn.Linear(HEAD, HORIZON * len(QUANTILES))

    def forward(self, x):
        _, h = self.gru(x)
        o = self.fc2(torch.relu(self.fc1(h[-1])))
        # p10 = softplus(a) > 0, p50 = p10 + softplus(b), p90 = p50 + softplus(c): non-negative
        # and non-decreasing by construction. (A Relu for p10, to allow exact zeros, died in
        # training: p10 = 0 for every input.)
        return torch.nn.functional.softplus(o.reshape(-1, HORIZON, len(QUANTILES))).cumsum(-1)


def pinball(q, y, mask):
    """Mean pinball loss over quantiles, horizon days and windows where mask = 1. q [B,7,3], y [B,7]."""
    tau = torch.tensor(QUANTILES)
    diff = y[..., None] - q
    loss = torch.maximum(tau * diff, (tau - 1) * diff).mean(-1)
    return (loss * mask).sum() / mask.sum().clamp(min=1)


def train(train_sim, val_sim, log):
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    model = Forecaster()
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=STEPS, pct_start=0.05)
    stores, skus, days = train_sim["sales"].shape
    vs, vi, vt = eval_index(val_sim, stride=11)
    val = windows(val_sim, vs, vi, vt)
    vx = torch.from_numpy(val["x"])
    vy = torch.from_numpy(val["sales"] / val["scale"][:, None])
    vm = torch.from_numpy(1 - val["censored"])
    t0 = time.time()
    for step in range(1, STEPS + 1):
        s = rng.integers(0, stores, BATCH)
        i = rng.integers(0, skus, BATCH)
        t = rng.integers(WINDOW, days - HORIZON + 1, BATCH)
        w = windows(train_sim, s, i, t)
        y = torch.from_numpy(w["sales"] / w["scale"][:, None])
        # stock-out days in the target are censored demand: leave them out of the loss, so the
        # model learns demand rather than the shelf's emptiness. Windows are weighted by
        # sqrt(scale): with equal weights the many slow movers set the spread and fast movers'
        # p10 came out too low (2 % below p10 instead of 10 % on the validation store).
        weight = np.sqrt(w["scale"])[:, None]
        mask = torch.from_numpy((1 - w["censored"]) * weight / weight.mean())
        loss = pinball(model(torch.from_numpy(w["x"])), y, mask)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 500 == 0 or step == STEPS:
            model.eval()
            with torch.no_grad():
                vl = float(pinball(model(vx), vy, vm))
            model.train()
            log(f"step {step:5d}  train pinball {loss.item():.4f}  val pinball {vl:.4f}  {time.time() - t0:.0f}s")
    model.eval()
    return model


# ----------------------------------------------------------------------------- ONNX

def export_onnx(model: Forecaster, path: pathlib.Path):
    """Hand-built graph: Transpose -> GRU (ONNX op, linear_before_reset = torch semantics, zero
    initial_h computed from the input so the batch stays symbolic in tract) ->
    MatMul+Add -> Relu -> MatMul+Add -> Reshape -> Softplus increments -> CumSum. Batch dim symbolic N."""
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    H = HIDDEN

    def zrh(m):  # torch gate order (r, z, n) -> ONNX (z, r, h)
        r, z, n = np.split(m, 3, axis=0)
        return np.concatenate([z, r, n], axis=0)

    W = zrh(sd["gru.weight_ih_l0"])[None]
    R = zrh(sd["gru.weight_hh_l0"])[None]
    B = np.concatenate([zrh(sd["gru.bias_ih_l0"]), zrh(sd["gru.bias_hh_l0"])])[None]
    inits = [
        numpy_helper.from_array(W, "gru.W"),
        numpy_helper.from_array(R, "gru.R"),
        numpy_helper.from_array(B, "gru.B"),
        numpy_helper.from_array(np.array([-1, H], np.int64), "shape_h"),
        numpy_helper.from_array(np.array([0], np.int64), "h0_start"),
        numpy_helper.from_array(np.array([1], np.int64), "h0_end"),
        numpy_helper.from_array(np.array([0], np.int64), "h0_axis_time"),
        numpy_helper.from_array(np.array([2], np.int64), "h0_axis_feat"),
        numpy_helper.from_array(np.zeros(H, np.float32), "h0_zeros"),
        numpy_helper.from_array(sd["fc1.weight"].T.copy(), "fc1.W"),
        numpy_helper.from_array(sd["fc1.bias"], "fc1.b"),
        numpy_helper.from_array(sd["fc2.weight"].T.copy(), "fc2.W"),
        numpy_helper.from_array(sd["fc2.bias"], "fc2.b"),
        numpy_helper.from_array(np.array([-1, HORIZON, len(QUANTILES)], np.int64), "shape_q"),
        numpy_helper.from_array(np.array(2, np.int64), "axis_q"),
    ]
    nodes = [
        helper.make_node("Transpose", ["history"], ["x_tbf"], name="to_time_major", perm=[1, 0, 2]),
        # initial_h = zeros [1, N, H] derived from the input, so the batch can stay symbolic in
        # tract (without initial_h, tract-onnx 0.23 builds a constant h0 and panics on a
        # symbolic N: UndeterminedSymbol("N") in ops/rec/common.rs)
        helper.make_node("Slice", ["x_tbf", "h0_start", "h0_end", "h0_axis_time"], ["x_first"], name="h0_first_step"),
        helper.make_node("ReduceSum", ["x_first", "h0_axis_feat"], ["x_first_sum"], name="h0_sum", keepdims=1),
        # the node is not named like its constant: tract names both in one namespace and a
        # debug build refuses duplicates ("duplicate name for node h0_zeros"; 1.0.0 had that)
        helper.make_node("Mul", ["x_first_sum", "h0_zeros"], ["h0"], name="h0_times_zero"),
        helper.make_node("GRU", ["x_tbf", "gru.W", "gru.R", "gru.B", "", "h0"], ["", "h_n"], name="gru",
                         hidden_size=H, linear_before_reset=1),
        helper.make_node("Reshape", ["h_n", "shape_h"], ["h"], name="last_hidden"),
        helper.make_node("MatMul", ["h", "fc1.W"], ["fc1_mm"], name="fc1_matmul"),
        helper.make_node("Add", ["fc1_mm", "fc1.b"], ["fc1_out"], name="fc1_add"),
        helper.make_node("Relu", ["fc1_out"], ["fc1_relu"], name="fc1_relu"),
        helper.make_node("MatMul", ["fc1_relu", "fc2.W"], ["fc2_mm"], name="fc2_matmul"),
        helper.make_node("Add", ["fc2_mm", "fc2.b"], ["fc2_out"], name="fc2_add"),
        helper.make_node("Reshape", ["fc2_out", "shape_q"], ["increments_raw"], name="to_quantiles"),
        helper.make_node("Softplus", ["increments_raw"], ["increments"], name="positive_increments"),
        helper.make_node("CumSum", ["increments", "axis_q"], ["quantiles"], name="monotone_quantiles"),
    ]
    graph = helper.make_graph(
        nodes, "forecaster",
        [helper.make_tensor_value_info("history", TensorProto.FLOAT, ["N", WINDOW, len(FEATURES)])],
        [helper.make_tensor_value_info("quantiles", TensorProto.FLOAT, ["N", HORIZON, len(QUANTILES)])],
        inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="edge-runtime models/train/forecaster.py")
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)


def quantize(fp32: pathlib.Path, int8: pathlib.Path):
    """Dynamic quantization of the two MatMuls (DynamicQuantizeLinear + MatMulInteger, QInt8
    weights, per tensor). onnxruntime never quantizes the GRU op: it stays float."""
    tmp = OUT / "forecaster.int8.tmp.onnx"
    quantize_dynamic(fp32, tmp, op_types_to_quantize=["MatMul"], per_channel=False,
                     weight_type=QuantType.QInt8)
    m = onnx.load(tmp)
    del m.graph.value_info[:]
    clean_opsets(m)
    onnx.checker.check_model(m, full_check=True)
    assert all(n.domain in ("", "ai.onnx") for n in m.graph.node), "contrib op in graph"
    onnx.save(m, int8)
    tmp.unlink()


def clean_opsets(m):
    """Drops opset imports no node uses (the quantizer adds com.microsoft)."""
    used = {n.domain for n in m.graph.node} | {""}
    keep = [o for o in m.opset_import if o.domain in used or (o.domain == "ai.onnx")]
    del m.opset_import[:]
    m.opset_import.extend(keep)


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def run_batched(sess, x, batch=4096):
    return np.concatenate([sess.run(None, {"history": x[k:k + batch]})[0] for k in range(0, len(x), batch)])


def op_list(path):
    m = onnx.load(path)
    ops = {}
    for n in m.graph.node:
        key = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}"
        ops[key] = ops.get(key, 0) + 1
    return ops


# ----------------------------------------------------------------------------- metrics

def metrics(q, w, intermittent=None):
    """q [B,7,3] scaled quantiles. Errors in units (x scale).

    MASE here = sum |y - p50| / sum |y - seasonal naive| over the same windows and horizon days
    (relative MAE against the 7-day seasonal naive forecast, i.e. the sales of the same weekday one
    week earlier). < 1 means better than seasonal naive."""
    scale = w["scale"][:, None]
    p50 = q[..., 1] * scale
    obs = w["censored"] == 0  # sales on stock-out days are censored demand: not scored against sales
    ys, yd, sn = w["sales"], w["demand"], w["snaive"]
    y_scaled = ys / scale
    tau = np.array(QUANTILES)
    diff = y_scaled[..., None] - q
    pin = np.maximum(tau * diff, (tau - 1) * diff).mean(-1)
    p10, p90 = q[..., 0] * scale, q[..., 2] * scale
    mean28 = np.repeat(w["x"][:, :, 0].mean(axis=1, keepdims=True), HORIZON, axis=1) * scale
    out = {
        "windows": int(len(q)),
        "mase_sales": float(np.abs(ys - p50)[obs].sum() / np.abs(ys - sn)[obs].sum()),
        "mase_demand": float(np.abs(yd - p50).sum() / np.abs(yd - sn).sum()),
        "mase_sales_mean28_baseline": float(np.abs(ys - mean28)[obs].sum() / np.abs(ys - sn)[obs].sum()),
        "mae_sales": float(np.abs(ys - p50)[obs].mean()),
        "mae_sales_snaive": float(np.abs(ys - sn)[obs].mean()),
        "pinball_scaled": float(pin[obs].mean()),
        "coverage_p10_p90": float(((ys >= p10) & (ys <= p90))[obs].mean()),
        "below_p10": float((ys < p10)[obs].mean()),
        "above_p90": float((ys > p90)[obs].mean()),
        # sales are whole units: the same with the quantiles rounded to the nearest unit
        "coverage_p10_p90_rounded": float(((ys >= np.round(p10)) & (ys <= np.round(p90)))[obs].mean()),
        "below_p10_rounded": float((ys < np.round(p10))[obs].mean()),
        "above_p90_rounded": float((ys > np.round(p90))[obs].mean()),
        "stockout_share_of_target_days": float(1 - obs.mean()),
    }
    fast = obs & (scale >= 5)  # 28-day mean >= 5 units/day: discreteness matters little
    out["fast_share_of_days"] = float(fast.mean())
    out["coverage_p10_p90_fast"] = float(((ys >= p10) & (ys <= p90))[fast].mean())
    out["below_p10_fast"] = float((ys < p10)[fast].mean())
    out["above_p90_fast"] = float((ys > p90)[fast].mean())
    if intermittent is not None:
        for name, sel in (("intermittent", intermittent), ("regular", ~intermittent)):
            o = obs & sel[:, None]
            out[f"mase_sales_{name}"] = float(np.abs(ys - p50)[o].sum() / np.abs(ys - sn)[o].sum())
        promo = w["promo"] > 0
        for name, sel in (("promo_days", promo), ("non_promo_days", ~promo)):
            o = obs & sel
            out[f"mase_sales_{name}"] = float(np.abs(ys - p50)[o].sum() / np.abs(ys - sn)[o].sum())
    return out


# ----------------------------------------------------------------------------- test vector

def quant_margin(int8_path, x):
    """Smallest distance (in quantisation steps) of any DynamicQuantizeLinear input to a rounding
    boundary, for input batch x: how far the float path may drift before an int8 value flips."""
    m = onnx.load(int8_path)
    dql = [n for n in m.graph.node if n.op_type == "DynamicQuantizeLinear"]
    names = [n.input[0] for n in dql]
    for name in names:
        m.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    outs = sess.run(names, {"history": x})
    margin = np.inf
    for a in outs:
        lo, hi = min(0.0, float(a.min())), max(0.0, float(a.max()))
        scale = (hi - lo) / 255.0
        zp = np.clip(np.round(-lo / scale), 0, 255)
        v = a / scale + zp
        frac = np.abs(v - np.floor(v) - 0.5)  # distance to the .5 rounding boundary
        margin = min(margin, float(frac.min()))
    return margin


def pick_vector(sim, int8_sess, int8_path):
    """Four real held-out windows: a fast mover, one with a promotion, one with a stock-out in
    its history, an intermittent slow mover; the batch is chosen so that no int8 activation lies
    within 0.005 quantisation steps of a rounding boundary (robust to tiny float differences)."""
    rng = np.random.default_rng(SEED)
    stores, skus, days = sim["sales"].shape
    inter = sim["intermittent"]
    best = None
    for attempt in range(200):
        picks = []
        s = int(rng.integers(stores))
        t = int(rng.integers(WINDOW + 7, days - HORIZON))
        sales_mean = sim["sales"][s, :, t - WINDOW:t].mean(axis=1)
        promo_any = sim["promo"][s, :, t - WINDOW:t].max(axis=1) > 0
        so_any = sim["stockout"][s, :, t - WINDOW:t].max(axis=1) > 0
        cands = [np.nonzero(sales_mean > 8)[0], np.nonzero(promo_any & (sales_mean > 1))[0],
                 np.nonzero(so_any & ~inter[s] & (sales_mean > 1))[0], np.nonzero(inter[s])[0]]
        if any(len(c) == 0 for c in cands):
            continue
        for c in cands:
            picks.append(int(rng.choice(c)))
        w = windows(sim, [s] * 4, picks, [t] * 4)
        margin = quant_margin(int8_path, w["x"])
        if best is None or margin > best[0]:
            best = (margin, s, picks, t, w)
        if margin > 0.005:
            break
    return best


def write_vector(w, int8_sess):
    x = w["x"]
    y = int8_sess.run(None, {"history": x})[0]
    doc = {
        "inputs": [{"name": "history", "dtype": "f32", "shape": list(x.shape),
                    "data": [float(v) for v in x.ravel()]}],
        "outputs": [{"name": "quantiles", "dtype": "f32", "shape": list(y.shape),
                     "data": [float(v) for v in y.ravel()]}],
    }
    VECTOR.write_text(json.dumps(doc) + "\n")
    return y


# ----------------------------------------------------------------------------- main

def main():
    t_start = time.time()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    OUT.mkdir(exist_ok=True)
    for d in (FP32.parent, VECTOR.parent, CARD.parent):
        d.mkdir(exist_ok=True)
    lines = []

    def log(msg):
        print(msg, flush=True)
        lines.append(msg)

    catalog = demand_sim.load_catalog()
    train_sim = demand_sim.simulate(demand_sim.TRAIN_STORES, catalog)
    val_sim = demand_sim.simulate([VAL_STORE], catalog)
    eval_sim = demand_sim.simulate(demand_sim.EVAL_STORES, catalog)
    log(f"simulated {len(demand_sim.TRAIN_STORES)} training stores, {len(demand_sim.EVAL_STORES)} held-out stores "
        f"({time.time() - t_start:.0f}s)")

    model = train(train_sim, val_sim, log)
    torch.save(model.state_dict(), OUT / "forecaster.pt")
    t_train = time.time() - t_start

    export_onnx(model, FP32)
    quantize(FP32, INT8)
    fp_sess, q_sess = session(FP32), session(INT8)

    es, ei, et = eval_index(eval_sim)
    w = windows(eval_sim, es, ei, et)
    inter = eval_sim["intermittent"][es, ei]
    with torch.no_grad():
        q_torch = np.concatenate([model(torch.from_numpy(w["x"][k:k + 8192])).numpy()
                                  for k in range(0, len(w["x"]), 8192)])
    q_fp = run_batched(fp_sess, w["x"])
    q_q = run_batched(q_sess, w["x"])
    torch_vs_onnx = float(np.abs(q_torch - q_fp).max())
    assert torch_vs_onnx < 1e-4, torch_vs_onnx
    assert (np.diff(q_q, axis=-1) >= 0).all() and (q_q >= 0).all()
    res = {"float": metrics(q_fp, w, inter), "int8": metrics(q_q, w, inter),
           "torch_vs_onnx_fp32_max_abs": torch_vs_onnx,
           "fp32_vs_int8_max_abs": float(np.abs(q_fp - q_q).max()),
           "fp32_vs_int8_mean_abs": float(np.abs(q_fp - q_q).mean())}
    # batch dependence of dynamic quantization: the same windows one by one vs in a batch of 4096
    single = np.concatenate([q_sess.run(None, {"history": w["x"][k:k + 1]})[0] for k in range(256)])
    res["int8_single_vs_batched_max_abs"] = float(np.abs(single - q_q[:256]).max())
    res["int8_single_vs_batched_mean_abs"] = float(np.abs(single - q_q[:256]).mean())
    log(json.dumps(res, indent=1))

    margin, vs, vi, vt, vw = pick_vector(eval_sim, q_sess, INT8)
    y = write_vector(vw, q_sess)
    res["vector"] = {"store_seed": eval_sim["seeds"][vs], "skus": [eval_sim["sku"][k] for k in vi],
                     "origin_day": vt, "quant_margin_steps": margin,
                     "fp32_vs_int8_max_abs": float(np.abs(fp_sess.run(None, {"history": vw["x"]})[0] - y).max())}
    log(f"test vector: {res['vector']}")

    # timing (onnxruntime, one thread, batch 1)
    x1 = w["x"][:1]
    for name, sess in (("fp32", fp_sess), ("int8", q_sess)):
        for _ in range(50):
            sess.run(None, {"history": x1})
        t0 = time.perf_counter()
        for _ in range(500):
            sess.run(None, {"history": x1})
        res[f"ort_us_batch1_{name}"] = (time.perf_counter() - t0) / 500 * 1e6
    res["ops_fp32"] = op_list(FP32)
    res["ops_int8"] = op_list(INT8)
    res["size_bytes"] = {"fp32": FP32.stat().st_size, "int8": INT8.stat().st_size}
    res["train_seconds"] = t_train
    res["wall_seconds"] = time.time() - t_start
    (OUT / "forecaster.metrics.json").write_text(json.dumps(res, indent=1))

    update_manifest({
        "name": "forecaster",
        "version": "1.0.1",
        "file": "onnx/forecaster.int8.onnx",
        "sha256": sha256(INT8),
        "float_file": "onnx/forecaster.fp32.onnx",
        "float_sha256": sha256(FP32),
        "card": "cards/forecaster.md",
        "test_vector": "vectors/forecaster.json",
        "tolerance": TOLERANCE,
        "inputs": [{"name": "history", "dtype": "f32", "shape": ["N", WINDOW, len(FEATURES)]}],
        "outputs": [{"name": "quantiles", "dtype": "f32", "shape": ["N", HORIZON, len(QUANTILES)]}],
        "preprocess": {"window": WINDOW, "horizon": HORIZON, "features": FEATURES,
                       "quantiles": QUANTILES, "scale": "max(1, mean(sales))"},
    })
    write_card(res, lines)
    log(f"wall time {res['wall_seconds']:.0f}s")


def write_card(res, lines):
    f, q = res["float"], res["int8"]

    def row(label, key, fmt="{:.3f}"):
        return f"| {label} | {fmt.format(f[key])} | {fmt.format(q[key])} |"

    pct = "{:.1%}"
    n_params = HIDDEN * 3 * (len(FEATURES) + HIDDEN + 2) + HIDDEN * HEAD + HEAD + HEAD * HORIZON * 3 + HORIZON * 3
    ops = ", ".join(f"{k} x{v}" for k, v in res["ops_int8"].items())
    v = res["vector"]
    card = f"""# forecaster 1.0.1

Daily demand quantiles (p10 / p50 / p90) for the next 7 days of one SKU, from its last 28 days.
One global model for every SKU of the store. **Trained and evaluated on simulated stores only**
(`models/train/demand_sim.py`); no real sales history was available.

## Interface (models/CONTRACT.md)

- input `history` f32 `[N, 28, 6]`, oldest day first (the last row is yesterday, the day before
  the first forecast day). Per day: 0 `sales / scale`; 1 `sin(2*pi*dow/7)`; 2 `cos(2*pi*dow/7)`
  (dow: Monday = 0); 3 promotion flag 0/1; 4 relative price = that day's selling price / the
  **current** regular price (the regular price on the last history day, i.e. today's catalog
  price), so a regular price change inside the window shows up as a step; 5 stock-out flag 0/1
  (the shelf ran empty that day; its sales are censored demand).
  `scale = max(1, mean(sales over the 28 days))`.
- output `quantiles` f32 `[N, 7, 3]`: days +1..+7, p10 <= p50 <= p90, all >= 0, in scaled units:
  multiply by `scale` for units. Monotonicity and non-negativity are built into the graph
  (Softplus increments, CumSum), so the runtime need not sort or clamp. p10 is never exactly 0
  (Softplus): round to whole units for display / ordering.
- Days without a sales record inside the window must be filled (0 sales and the stock-out flag
  set if the shop was open but the shelf empty); the model needs 28 days of history.

## Data (simulated)

`demand_sim.py`, seeded: 240 SKUs of `data/demo-catalog.json` x 728 days (104 weeks from Monday
2024-01-01) per store. Base rate from the catalog popularity, store size and per-SKU noise;
weekly profiles per department (e.g. beverages/snacks peak Friday-Saturday, household Saturday,
dairy Monday and Saturday, all low on Sunday); log-linear trend plus a slow AR(1) level walk;
summer seasonality for beverages and snacks; regular price changes with per-department price
elasticity (0.9-1.8); promotions (1-2 weeks, 10-35 % off, promo elasticity 2-4, display uplift)
followed by a post-promotion dip (pantry loading, deeper for storable goods); negative binomial
noise; about 30 % of SKUs intermittent (Croston-like: demand occurs every 2.5-12 days); stock from
a periodic-review order-up-to policy with an imperfect plan, random safety stock and 2 % failed
deliveries: sales = min(demand, stock), about 4-7 % of SKU-days flagged as stock-outs.
Training: 12 stores (seeds {demand_sim.TRAIN_STORES[0]}-{demand_sim.TRAIN_STORES[-1]}); monitoring: store {VAL_STORE};
**evaluation: 4 held-out stores (seeds {", ".join(map(str, demand_sim.EVAL_STORES))})**, every SKU, forecast origins every 5 days
over the whole 104 weeks ({f["windows"]} windows of 7 days).

## Model and training

GRU(6 -> {HIDDEN}), last hidden state -> Linear({HIDDEN}, {HEAD}) + ReLU -> Linear({HEAD}, 21) -> quantile
increments ({n_params} parameters). Pinball loss over the 3 quantiles and 7 days in scaled units;
target days that are stock-outs are left out of the loss (censored demand), so the model
forecasts demand, not the empty shelf; windows are weighted by sqrt(scale) (with equal weights
the many slow movers set the spread and fast movers' p10 was too low). AdamW, one-cycle LR (max {LR}), {STEPS} steps of {BATCH} random
windows from the training stores, seed {SEED}, one CPU thread. The ONNX graph is built by hand
(opset 17, IR 8): Transpose -> ONNX `GRU` (linear_before_reset = 1, torch semantics; its zero
initial_h is computed from the input, Slice -> ReduceSum -> Mul by 0, so that tract can keep
the batch symbolic) ->
MatMul+Add -> Relu -> MatMul+Add -> Reshape -> Softplus -> CumSum; batch dimension `N`.

## Metrics (held-out stores)

MASE here is a **relative MAE**: sum over all windows and horizon days of |sales - p50| divided by
the same sum for the seasonal naive forecast (each day forecast by the sales of the same weekday
one week earlier, i.e. the last 7 history days repeated), in units. < 1 = better than seasonal
naive. "sales" metrics skip target days that are stock-outs (sales there are censored);
"true demand" scores every day against the simulator's uncensored demand. Pinball is the mean
over quantiles and days, in scaled units. Coverage is the share of target days with
p10 <= sales <= p90 (ideal 80 %, 10 % below, 10 % above). Sales are whole units and often 0,
while the Softplus p10 is never exactly 0, so the strict "below p10" counts every zero-sales day
of a slow mover; the "rounded" rows compare against the quantiles rounded to whole units, which
is the meaningful reading for counts (for discrete data both tails cannot hit 10 % exactly).

| metric | fp32 | int8 |
|---|---|---|
{row("MASE p50 vs seasonal naive (sales, non-stock-out days)", "mase_sales")}
{row("MASE p50 vs seasonal naive (true demand, all days)", "mase_demand")}
{row("  intermittent SKUs", "mase_sales_intermittent")}
{row("  regular SKUs", "mase_sales_regular")}
{row("  target days on promotion", "mase_sales_promo_days")}
{row("  target days not on promotion", "mase_sales_non_promo_days")}
{row("MAE p50 (units)", "mae_sales")}
{row("pinball loss (scaled)", "pinball_scaled", "{:.4f}")}
{row("coverage p10-p90", "coverage_p10_p90", pct)}
{row("sales below p10", "below_p10", pct)}
{row("sales above p90", "above_p90", pct)}
{row("coverage p10-p90, quantiles rounded to units", "coverage_p10_p90_rounded", pct)}
{row("sales below rounded p10", "below_p10_rounded", pct)}
{row("sales above rounded p90", "above_p90_rounded", pct)}
{row("fast movers (28-day mean >= 5/day): coverage p10-p90", "coverage_p10_p90_fast", pct)}
{row("fast movers: sales below p10", "below_p10_fast", pct)}
{row("fast movers: sales above p90", "above_p90_fast", pct)}

Baselines on the same days: seasonal naive MASE = 1 by definition (MAE {f["mae_sales_snaive"]:.3f} units);
28-day mean MASE = {f["mase_sales_mean28_baseline"]:.3f}. fp32 vs int8 outputs: max |diff| {res["fp32_vs_int8_max_abs"]:.4f},
mean {res["fp32_vs_int8_mean_abs"]:.2e} (scaled units). torch vs ONNX fp32: max {res["torch_vs_onnx_fp32_max_abs"]:.1e}.

## int8 file

`onnx/forecaster.int8.onnx` = onnxruntime `quantize_dynamic`, `op_types_to_quantize=["MatMul"]`,
per tensor, QInt8 weights (DynamicQuantizeLinear + MatMulInteger for the two head layers).
**The GRU op is not quantized: it stays float** (onnxruntime never quantizes GRU), so this is a
float GRU with an int8 head. `graph.value_info` deleted, unused opset imports dropped, no
`com.microsoft` op, `onnx.checker` passes. Ops: {ops}.
Size: fp32 {res["size_bytes"]["fp32"]} B, int8 {res["size_bytes"]["int8"]} B. onnxruntime 1 thread, batch 1:
fp32 {res["ort_us_batch1_fp32"]:.0f} us, int8 {res["ort_us_batch1_int8"]:.0f} us (noisy: measured while other jobs shared the 2 cores).
Expect little or no speed gain from int8 in tract (the float GRU dominates; see
shared notes/tract-int8.md).

DynamicQuantizeLinear picks its scale from the min/max of the whole input tensor, i.e. of the
whole batch: a window's int8 output can differ slightly with its batch companions (max
{res["int8_single_vs_batched_max_abs"]:.4f}, mean {res["int8_single_vs_batched_mean_abs"]:.1e} scaled units between batch 1 and batch 4096 on 256 windows). Run the test
vector as one batch of 4.

## Test vector

`vectors/forecaster.json`: 4 real held-out windows (store seed {v["store_seed"]}, origin day {v["origin_day"]},
SKUs {", ".join(v["skus"])}: a fast mover, one with a promotion in its history, one with a
stock-out in its history, one intermittent slow mover), expected = onnxruntime (1 thread) on the
int8 file. Tolerance {TOLERANCE:g} (scaled units, outputs ~0.1-5): the float parts (GRU, Softplus) may differ
between tract and onnxruntime by float rounding (~1e-6); the batch was chosen so that every
int8-quantized activation is at least {v["quant_margin_steps"]:.3f} quantisation steps from a rounding boundary,
so such drift cannot flip an int8 value. Checked with tract-onnx 0.23.9 (x86_64, one thread) for
release 1.0.0: max |tract - expected| = 2.4e-7, both with the input fixed at [4, 28, 6] and with
the batch left symbolic.

Release 1.0.1 is 1.0.0 with one node renamed (`h0_zeros` to `h0_times_zero`: tract keeps node
and constant names in one namespace, and a debug build of tract refused the duplicate); same
weights, same outputs.

## Limits

- Simulated data only: the accuracy above is on the simulator's own world; expect worse on a real
  shop until retrained or at least checked on real sales.
- No future covariates: a promotion or price change planned inside the next 7 days is not an
  input, so promo days are under-forecast (see the promo row) and the post-promo dip is only
  partly anticipated. New SKUs need 28 days of history (or a padded window: untested).
- Only the scaled history is seen: the absolute level comes from `scale`; for slow movers
  (mean < 1/day) the inputs are raw counts.
- Quantiles are calibrated on simulated noise (negative binomial / intermittent); treat p10/p90
  as approximate on real data.

## Reproduce

`python models/train/forecaster.py` (deterministic, one CPU thread; wall time {res["wall_seconds"] / 60:.1f} min
on the 2-core build machine shared with other training jobs, of which simulation and training
{res["train_seconds"] / 60:.1f} min). Intermediates (checkpoint, metrics JSON) go to `models/train/out/`.
"""
    CARD.write_text(card)


if __name__ == "__main__":
    main()
