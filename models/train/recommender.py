"""Recommender: item embeddings learned from simulated baskets (basket_sim.py).

    python models/train/recommender.py          # ~1-3 min on one CPU thread

Model (a bag-of-items two-tower): session multi-hot s [1,V] -> h = s @ E_in (sum of the session's
context embeddings) -> scores = h @ E_out^T + b, i.e. score_j = b_j + sum_i <E_in_i, E_out_j>, a
low-rank log-linear model of "j given the session".  Sum pooling beat mean pooling on the
validation baskets (HR@10 0.52 vs 0.48 for whole baskets): with a mean, one pasta's "no other
pasta" signal is diluted by the rest of a long basket. E_in (context tower) and E_out (target tower) are separate, trained
with a full softmax over the catalog to predict a held-out basket item from the rest of the
basket (the rest's own items masked out of the softmax). Separate towers learn "bought together"
(complements), not "look alike" (substitutes): a shopper holding one pasta gets sauce, not pasta.

Produces models/onnx/recommender.{fp32,int8}.onnx, models/vectors/recommender.json,
models/vectors/recommender.skus.txt, models/cards/recommender.md and the recommender block of
models/manifest.toml. Intermediates go to models/train/out/.
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

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import basket_sim  # noqa: E402
from manifest import sha256, update_manifest  # noqa: E402

MODELS = HERE.parent
OUT = HERE / "out"
FP32 = MODELS / "onnx" / "recommender.fp32.onnx"
INT8 = MODELS / "onnx" / "recommender.int8.onnx"
VECTOR = MODELS / "vectors" / "recommender.json"
SKUS = MODELS / "vectors" / "recommender.skus.txt"
CARD = MODELS / "cards" / "recommender.md"

DIM = 32
TRAIN_BASKETS, TRAIN_SEED = 60000, 1
VAL_BASKETS, VAL_SEED = 3000, 3  # monitoring only
TEST_BASKETS, TEST_SEED = 8000, 2  # held-out evaluation
EPOCHS, BATCH, LR, WD = 25, 512, 1e-2, 1e-5
SEED = 11
K = 10
TOLERANCE = 1e-4
VERSION = "1.1.0"  # 1.1.0: static int8 of the product W (same training and float file as 1.0.0)


# ----------------------------------------------------------------------------- data

def training_examples(baskets, rng):
    """One example per basket with >= 2 items: a random target and a random non-empty subset of
    the other items as the session (runtime sessions are often partial baskets)."""
    ctx, tgt = [], []
    for _, items in baskets:
        if len(items) < 2:
            continue
        items = list(items)
        j = int(rng.integers(len(items)))
        target = items.pop(j)
        size = int(rng.integers(1, len(items) + 1))
        ctx.append(list(rng.choice(items, size=size, replace=False)))
        tgt.append(target)
    return ctx, np.array(tgt)


def loo_cases(baskets, seed, session_size=None):
    """Leave-one-out cases: a random item of each basket (>= 2 items) is the target, the rest (or
    `session_size` random items of the rest) the session."""
    rng = np.random.default_rng(seed)
    sessions, targets = [], []
    for _, items in baskets:
        if len(items) < 2:
            continue
        items = list(items)
        target = items.pop(int(rng.integers(len(items))))
        if session_size is not None:
            items = list(rng.choice(items, size=min(session_size, len(items)), replace=False))
        sessions.append(items)
        targets.append(target)
    return sessions, np.array(targets)


def multi_hot(sessions, V):
    x = np.zeros((len(sessions), V), np.float32)
    for r, items in enumerate(sessions):
        x[r, items] = 1.0
    return x


# ----------------------------------------------------------------------------- model

class Recommender(torch.nn.Module):
    def __init__(self, V, prior):
        super().__init__()
        g = torch.Generator().manual_seed(SEED)
        self.E_in = torch.nn.Parameter(torch.randn(V, DIM, generator=g) * 0.1)
        self.E_out = torch.nn.Parameter(torch.randn(V, DIM, generator=g) * 0.1)
        self.bias = torch.nn.Parameter(torch.log(torch.as_tensor(prior, dtype=torch.float32)))

    def forward(self, s):
        h = s @ self.E_in  # sum pooling
        return h @ self.E_out.T + self.bias


def train(V, train_baskets, val_baskets, prior, log):
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    model = Recommender(V, prior)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WD)
    n_per_epoch = sum(1 for _, b in train_baskets if len(b) >= 2)
    steps = EPOCHS * ((n_per_epoch + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps, pct_start=0.1)
    vs, vt = loo_cases(val_baskets, VAL_SEED)
    vx = torch.from_numpy(multi_hot(vs, V))
    t0 = time.time()
    for epoch in range(1, EPOCHS + 1):
        ctx, tgt = training_examples(train_baskets, rng)
        order = rng.permutation(len(tgt))
        total = 0.0
        for k in range(0, len(order), BATCH):
            ix = order[k:k + BATCH]
            x = torch.from_numpy(multi_hot([ctx[i] for i in ix], V))
            logits = model(x).masked_fill(x > 0, -1e9)  # the session's own items are never recommended
            loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(tgt[ix]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(ix)
        if epoch % 5 == 0 or epoch == EPOCHS:
            with torch.no_grad():
                hr, ndcg, _ = rank_metrics(model(vx).numpy(), vs, vt)
            log(f"epoch {epoch:3d}  train CE {total / len(order):.4f}  val HR@{K} {hr:.4f}  NDCG@{K} {ndcg:.4f}  "
                f"{time.time() - t0:.0f}s")
    return model.eval()


# ----------------------------------------------------------------------------- metrics

def rank_metrics(scores, sessions, targets):
    """HR@K and NDCG@K with one relevant item (the left-out one); the session's items are removed
    from the ranking (as the runtime does). Returns (hr, ndcg, top-K indices)."""
    s = scores.astype(np.float64).copy()
    for r, items in enumerate(sessions):
        s[r, items] = -np.inf
    t = s[np.arange(len(targets)), targets]
    # 0-based rank; ties (possible with int8 scores and the popularity baseline) split evenly
    rank = (s > t[:, None]).sum(axis=1) + ((s == t[:, None]).sum(axis=1) - 1) / 2.0
    hit = rank < K
    ndcg = np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0)
    top = np.argsort(-s, axis=1, kind="stable")[:, :K]
    return float(hit.mean()), float(ndcg.mean()), top


def same_category_share(top, sessions, item_cat):
    """Share of the top-K recommendations whose category is already in the session."""
    shares = [np.isin(item_cat[row], item_cat[items]).mean() for row, items in zip(top, sessions)]
    return float(np.mean(shares))


def evaluate(name_scores, sessions, targets, item_cat):
    out = {}
    for name, scores in name_scores.items():
        hr, ndcg, top = rank_metrics(scores, sessions, targets)
        out[name] = {"hr@10": hr, "ndcg@10": ndcg, "same_category_share": same_category_share(top, sessions, item_cat)}
    out["truth_same_category_share"] = float(np.mean([item_cat[t] in set(item_cat[s]) for s, t in zip(sessions, targets)]))
    return out


# ----------------------------------------------------------------------------- ONNX

def export_onnx(model: Recommender, path: pathlib.Path, V: int):
    """session [1,V] -> MatMul(E_in) -> MatMul(E_out^T) -> Add(bias) -> scores [1,V].
    Hand-built, opset 17, IR 8."""
    E_in = model.E_in.detach().numpy().astype(np.float32)
    E_out_T = model.E_out.detach().numpy().T.astype(np.float32).copy()
    bias = model.bias.detach().numpy().astype(np.float32)
    inits = [
        numpy_helper.from_array(E_in, "E_in"),
        numpy_helper.from_array(E_out_T, "E_out_T"),
        numpy_helper.from_array(bias, "bias"),
    ]
    nodes = [
        helper.make_node("MatMul", ["session", "E_in"], ["h"], name="session_matmul"),
        helper.make_node("MatMul", ["h", "E_out_T"], ["affinity"], name="item_matmul"),
        helper.make_node("Add", ["affinity", "bias"], ["scores"], name="popularity_bias"),
    ]
    save_graph(nodes, inits, "recommender", path, V)


def save_graph(nodes, inits, graph_name, path, V):
    """session f32 [1, V] -> scores f32 [1, V]; opset 17, IR 8, checked."""
    graph = helper.make_graph(
        nodes, graph_name,
        [helper.make_tensor_value_info("session", TensorProto.FLOAT, [1, V])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, V])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                          producer_name="edge-runtime models/train/recommender.py")
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)


def quantize(model: Recommender, int8: pathlib.Path, V: int):
    """The int8 file holds the product W = E_in @ E_out^T ([V, V], the same function as the two
    towers), quantized per output column (symmetric int8, scale max|W[:, j]| / 127), and runs
    it as one integer product: the 0/1 session is cast to uint8 (exact), MatMulInteger sums the
    session's int8 rows in int32 (exact), then DequantizeLinear (int32 per column, zero point 0)
    and Add of the float bias. No activation is quantized, so no value can round differently in
    another runtime. Four ops instead of the dynamic recipe's eleven (two DynamicQuantizeLinear,
    four Mul, two MatMulInteger, two Cast, Add), which tract ran 1.8x-2.6x slower than onnxruntime.
    DequantizeLinear gives the same floats as Cast + Mul by the scales; tract runs it in 8-9 us
    against 10-13 us, onnxruntime in 11 us against 8 us (models/README.md).
    The size grows with the square of the catalog (V * V bytes: 57600 B at 240 SKUs, 25 MB at
    5000); past a few thousand SKUs the factorised form would be the smaller file."""
    E_in = model.E_in.detach().numpy().astype(np.float64)
    E_out = model.E_out.detach().numpy().astype(np.float64)
    W = E_in @ E_out.T
    scale = np.maximum(np.abs(W).max(axis=0), 1e-12) / 127.0
    W_q = np.clip(np.round(W / scale), -127, 127).astype(np.int8)
    bias = model.bias.detach().numpy().astype(np.float32)
    inits = [
        numpy_helper.from_array(W_q, "W_quantized"),
        numpy_helper.from_array(scale.astype(np.float32), "W_column_scale"),
        numpy_helper.from_array(bias, "bias"),
    ]
    nodes = [
        helper.make_node("Cast", ["session"], ["session_u8"], name="session_to_u8", to=TensorProto.UINT8),
        helper.make_node("MatMulInteger", ["session_u8", "W_quantized"], ["affinity_i32"], name="affinity_matmul"),
        helper.make_node("DequantizeLinear", ["affinity_i32", "W_column_scale"], ["affinity"], name="column_scale",
                         axis=1),
        helper.make_node("Add", ["affinity", "bias"], ["scores"], name="popularity_bias"),
    ]
    save_graph(nodes, inits, "recommender_int8", int8, V)
    return float(np.abs(W_q.astype(np.float64) * scale - W).max())


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def run_each(sess, x):
    return np.concatenate([sess.run(None, {"session": x[r:r + 1]})[0] for r in range(len(x))])


def op_list(path):
    ops = {}
    for n in onnx.load(path).graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    return ops


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

    sim = basket_sim.BasketSim()
    V = len(sim.skus)
    train_b = sim.baskets(TRAIN_BASKETS, TRAIN_SEED)
    val_b = sim.baskets(VAL_BASKETS, VAL_SEED)
    test_b = sim.baskets(TEST_BASKETS, TEST_SEED)
    sizes = np.array([len(b) for _, b in train_b])
    log(f"baskets: train {len(train_b)}, val {len(val_b)}, test {len(test_b)}; mean size {sizes.mean():.2f} "
        f"({time.time() - t_start:.0f}s)")

    counts = np.bincount([i for _, b in train_b for i in b], minlength=V).astype(np.float64)
    prior = (counts + 1) / (counts + 1).sum()
    model = train(V, train_b, val_b, prior, log)
    torch.save(model.state_dict(), OUT / "recommender.pt")
    t_train = time.time() - t_start

    export_onnx(model, FP32, V)
    w_error = quantize(model, INT8, V)
    SKUS.write_text("".join(s + "\n" for s in sim.skus))
    fp_sess, q_sess = session(FP32), session(INT8)

    # co-occurrence baseline: sum over session items of P(j | i) from the training baskets
    co = np.zeros((V, V))
    for _, b in train_b:
        u = np.array(sorted(set(b)))
        co[np.ix_(u, u)] += 1
    np.fill_diagonal(co, 0)
    cond = co / np.maximum(counts[:, None], 1)
    E_in = model.E_in.detach().numpy()
    E_n = E_in / np.linalg.norm(E_in, axis=1, keepdims=True)

    res = {"V": V, "dim": DIM}
    for label, size in (("full", None), ("one_item", 1)):
        sessions, targets = loo_cases(test_b, TEST_SEED + 100, session_size=size)
        x = multi_hot(sessions, V)
        with torch.no_grad():
            s_torch = model(torch.from_numpy(x)).numpy()
        s_fp, s_q = run_each(fp_sess, x), run_each(q_sess, x)
        if label == "full":
            res["torch_vs_onnx_fp32_max_abs"] = float(np.abs(s_torch - s_fp).max())
            res["fp32_vs_int8_max_abs"] = float(np.abs(s_fp - s_q).max())
            res["top10_overlap_fp32_int8"] = float(np.mean([len(set(a) & set(b)) / K for a, b in zip(
                rank_metrics(s_fp, sessions, targets)[2], rank_metrics(s_q, sessions, targets)[2])]))
            assert res["torch_vs_onnx_fp32_max_abs"] < 1e-4
        res[label] = {"cases": len(targets), **evaluate({
            "float": s_fp, "int8": s_q,
            "popularity": np.tile(np.log(prior), (len(x), 1)),
            "cooccurrence": x @ cond + 1e-6 * np.log(prior),
            "embedding_similarity": (x @ E_n) @ E_n.T,
        }, sessions, targets, sim.item_cat)}
    log(json.dumps(res, indent=1))

    # examples for the card: one SKU of a category -> top 5 (int8)
    examples = []
    name = {i: sim.catalog[i]["name"] for i in range(V)}
    for cat in ["dry pasta", "cereal", "hair care", "chips pretzels", "coffee"]:
        i = int(sim.cat_items[sim.categories.index(cat)][np.argmax(counts[sim.cat_items[sim.categories.index(cat)]])])
        x = multi_hot([[i]], V)
        sc = q_sess.run(None, {"session": x})[0][0]
        sc[i] = -np.inf
        top = np.argsort(-sc, kind="stable")[:5]
        examples.append((f"{name[i]} ({cat})", [f"{name[j]} ({sim.category[j]})" for j in top]))
    res["examples"] = examples

    # test vector: the first held-out session of 3 items (no activation is quantized, so any
    # session is exact up to float rounding in the rescaling)
    sessions, _ = loo_cases(test_b, TEST_SEED + 200)
    items = next(s for s in sessions if len(s) == 3)
    x = multi_hot([items], V)
    y = q_sess.run(None, {"session": x})[0]
    VECTOR.write_text(json.dumps({
        "inputs": [{"name": "session", "dtype": "f32", "shape": [1, V], "data": [float(v) for v in x.ravel()]}],
        "outputs": [{"name": "scores", "dtype": "f32", "shape": [1, V], "data": [float(v) for v in y.ravel()]}],
    }) + "\n")
    res["vector"] = {"skus": [sim.skus[i] for i in items], "names": [name[i] for i in items],
                     "fp32_vs_int8_max_abs": float(np.abs(fp_sess.run(None, {"session": x})[0] - y).max())}
    log(f"test vector: {res['vector']}")

    for label, sess in (("fp32", fp_sess), ("int8", q_sess)):
        for _ in range(100):
            sess.run(None, {"session": x})
        t0 = time.perf_counter()
        for _ in range(2000):
            sess.run(None, {"session": x})
        res[f"ort_us_{label}"] = (time.perf_counter() - t0) / 2000 * 1e6
    res["ops_fp32"], res["ops_int8"] = op_list(FP32), op_list(INT8)
    res["size_bytes"] = {"fp32": FP32.stat().st_size, "int8": INT8.stat().st_size}
    res["w_quantization_max_abs"] = w_error
    res["basket_mean_size"] = float(sizes.mean())
    res["train_seconds"] = t_train
    res["wall_seconds"] = time.time() - t_start
    (OUT / "recommender.metrics.json").write_text(json.dumps(res, indent=1))

    update_manifest({
        "name": "recommender",
        "version": VERSION,
        "file": "onnx/recommender.int8.onnx",
        "sha256": sha256(INT8),
        "float_file": "onnx/recommender.fp32.onnx",
        "float_sha256": sha256(FP32),
        "card": "cards/recommender.md",
        "test_vector": "vectors/recommender.json",
        "tolerance": TOLERANCE,
        "inputs": [{"name": "session", "dtype": "f32", "shape": [1, V]}],
        "outputs": [{"name": "scores", "dtype": "f32", "shape": [1, V]}],
        "preprocess": {"skus": "vectors/recommender.skus.txt"},
    })
    write_card(res)
    log(f"wall time {res['wall_seconds']:.0f}s")


def write_card(res):
    full, one = res["full"], res["one_item"]

    def table(r):
        rows = ["| model | HR@10 | NDCG@10 | same-category share of top 10 |", "|---|---|---|---|"]
        for key, label in (("float", "this model, fp32"), ("int8", "this model, int8"),
                           ("popularity", "popularity baseline"),
                           ("cooccurrence", "co-occurrence baseline (sum over session of P(j given i))"),
                           ("embedding_similarity", "embedding similarity (cosine of E_in)")):
            m = r[key]
            rows.append(f"| {label} | {m['hr@10']:.3f} | {m['ndcg@10']:.3f} | {m['same_category_share']:.1%} |")
        return "\n".join(rows)

    ex = "\n".join(f"- {a} -> " + "; ".join(b) for a, b in res["examples"])
    ops = ", ".join(f"{k} x{v}" for k, v in res["ops_int8"].items())
    v = res["vector"]
    card = f"""# recommender {VERSION}

"Shoppers who hold these also take ...": scores every catalog SKU for a session (the SKUs viewed
or held). **Trained and evaluated on simulated baskets only** (`models/train/basket_sim.py`);
no real basket history was available.

## Interface (models/CONTRACT.md)

- input `session` f32 `[1, {res["V"]}]`: multi-hot, 1.0 for each SKU viewed or held, index order of
  `vectors/recommender.skus.txt` (one SKU id a line, the order of `data/demo-catalog.json`).
- output `scores` f32 `[1, {res["V"]}]`: higher = better; unnormalised log-scores (softmax over the
  catalog gives P(next item)). The runtime removes the session's own SKUs, then takes the top k.
- An empty session (all zeros) gives the learned popularity prior (the bias alone).
- Scores of different sessions are not comparable (sum pooling: larger sessions give larger
  spreads); rank within one call only.

## Data (simulated)

`basket_sim.py`, seeded: 5 shopper segments (family, health, student, home, gourmet) with their
own mix of 12 shopping missions, price sensitivity and per-SKU taste; a mission is a set of
complementary slots (pasta + sauce + cheese + oil; cereal + milk + juice; snacks + drinks;
shampoo + soap + paper goods; cleaning products + dish detergent + laundry; baking; coffee/tea +
cream + cookies; ...), plus about one impulse item per basket by category popularity. SKUs of one
category are substitutes: a basket holds one of them (the choice driven by catalog popularity,
segment price sensitivity and taste), except in 10 "variety" categories (yogurt, tea, candy, ...)
where a second SKU is taken 15 % of the time. Mean basket size {res["basket_mean_size"]:.1f} items.
Training: {TRAIN_BASKETS} baskets (seed {TRAIN_SEED}); monitoring: {VAL_BASKETS} (seed {VAL_SEED}); **evaluation: {TEST_BASKETS} held-out
baskets (seed {TEST_SEED})**, same simulated store (shopper tastes fixed by the world seed).

## Model and training

Two towers of {DIM}-d item embeddings over the {res["V"]} SKUs: E_in (the session side) and E_out (the
recommended side), plus a per-SKU bias initialised at log popularity. `scores = (session @ E_in)
@ E_out^T + bias` (sum pooling), i.e. score_j = b_j + sum over session items i of <E_in_i, E_out_j>.
Trained with a full softmax over the catalog: each basket gives a random target item and a random
non-empty subset of the rest as the session (sessions at run time are partial baskets); the
session's own items are masked out of the softmax. AdamW (lr {LR}, one-cycle, wd {WD}), {EPOCHS} epochs, batch
{BATCH}, seed {SEED}, one CPU thread. Separate towers learn "bought together", not "looks alike": items
of one category rarely co-occur, so their cross scores are pushed down.

## Metrics (held-out baskets, leave-one-out)

Each held-out basket with >= 2 items: one random item is the target, the session is the rest
("whole basket", {full["cases"]} cases) or one random other item ("one item", {one["cases"]} cases). Session
items are removed from the ranking; HR@10 = share of cases with the target in the top 10;
NDCG@10 = mean 1/log2(rank + 1) for hits (one relevant item). "Same-category share" = share of
the top-10 recommendations whose category is already in the session (substitutes of something
held); the same share among the true left-out items is {full["truth_same_category_share"]:.1%} (whole basket) and
{one["truth_same_category_share"]:.1%} (one item).

Whole basket as session:

{table(full)}

One item as session:

{table(one)}

fp32 vs int8: max |score diff| {res["fp32_vs_int8_max_abs"]:.4f}, top-10 overlap {res["top10_overlap_fp32_int8"]:.1%} (whole-basket cases);
torch vs ONNX fp32 max {res["torch_vs_onnx_fp32_max_abs"]:.1e}. The embedding-similarity row is what a "similar items"
recommender on the same embeddings would do: it mostly proposes substitutes.

Examples (int8 file, one SKU as session, top 5):

{ex}

## int8 file

`onnx/recommender.int8.onnx` holds the product W = E_in @ E_out^T ({res["V"]} x {res["V"]}: the same
function as the two towers), quantized per output SKU (symmetric int8, scale max |W[:, j]| / 127;
largest weight error {res["w_quantization_max_abs"]:.4f}), and runs it as one integer product: the 0/1 session is
cast to uint8 (exact), MatMulInteger sums the session's int8 rows in int32 (exact), then
DequantizeLinear (int32, per column, zero point 0) and Add of the float bias. No activation is
quantized, so no value can round differently in another runtime. Ops: {ops}. Hand-built, opset 17, no `com.microsoft` op,
`onnx.checker` passes. Release 1.0.0 used onnxruntime's `quantize_dynamic` on the two MatMuls
(11 ops: two DynamicQuantizeLinear, four Mul, two MatMulInteger, two Cast, Add), which tract ran
2.6x slower than onnxruntime; see `models/README.md`.
Size: fp32 {res["size_bytes"]["fp32"]} B, int8 {res["size_bytes"]["int8"]} B (the product grows with the square of the
catalog: 25 MB at 5000 SKUs, where the factorised float file would be the smaller one).
onnxruntime 1 thread: fp32 {res["ort_us_fp32"]:.0f} us, int8 {res["ort_us_int8"]:.0f} us per call (both mostly call
overhead at this size; noisy: measured while other jobs shared the 2 cores).

## Test vector

`vectors/recommender.json`: the first held-out session of 3 SKUs ({", ".join(v["skus"])}: {"; ".join(v["names"])}),
expected = onnxruntime (1 thread) on the int8 file (the contract fixes the batch at 1, so one
session). Tolerance {TOLERANCE:g} on scores of magnitude ~1-10: the integer product is exact; only the
float rescaling and bias add can differ by rounding (~1e-6). fp32 vs int8 on this session: max
{v["fp32_vs_int8_max_abs"]:.4f}.

## Limits

- Simulated baskets only: the complement structure (missions) is hand-written; real baskets
  will differ. Retrain on real receipts before trusting the rankings.
- Fixed catalog: {res["V"]} SKUs in the order of `recommender.skus.txt`; a new SKU needs retraining
  (its column would have no embedding). The int8 file is V x V bytes (see "int8 file").
- No context (time of day, price, stock): the runtime should drop out-of-stock SKUs itself.
- Sessions are sets (no order, no quantities); viewed and held count the same.

## Reproduce

`python models/train/recommender.py` (deterministic, one CPU thread; wall time {res["wall_seconds"] / 60:.1f} min
on the 2-core build machine shared with other training jobs, of which basket simulation and
training {res["train_seconds"] / 60:.1f} min). Intermediates (checkpoint, metrics JSON) go to `models/train/out/`.
"""
    CARD.write_text(card)


if __name__ == "__main__":
    main()
