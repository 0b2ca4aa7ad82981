"""tract vs onnxruntime on the same model files, one thread each, in the same run.

    python models/bench/compare.py [--rounds 5] [--runs 200] [--seq 8,16,64] [--tract-kernels]

Needs numpy and onnxruntime (pip install numpy==2.4.6 onnxruntime==1.32.0) and cargo. Builds
and runs `cargo run --release -p edge-models --example tract_bench`, times onnxruntime on the
same inputs (the manifest's test vectors, tiled to the batch), alternating the two runtimes
round by round so that machine noise hits both, and prints the medians and the ratio
tract / onnxruntime per model, precision and batch. Models with a sequence dimension (the text
encoder: [1, S] tokens) run at their vector's length and at each `--seq` length (the vector's
tokens repeated or cut; only the time is of interest). `--tract-kernels` also times tract with
its own scalar quantize kernels instead of the crate's (`models/src/kernels.rs`), in the same
rounds, as one more column.
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import time
import tomllib

import numpy as np
import onnxruntime as ort

MODELS = pathlib.Path(__file__).resolve().parent.parent
ROOT = MODELS.parent


def sequenced(m):
    return any("S" in t["shape"] for t in m["inputs"])


def vector_seq(m, vector):
    for t, spec in zip(vector["inputs"], m["inputs"]):
        if "S" in spec["shape"]:
            return t["shape"][spec["shape"].index("S")]
    return None


def ort_round(manifest, runs, seqs):
    rows = []
    for m in manifest["model"]:
        vector = json.loads((MODELS / m["test_vector"]).read_text())
        batched = "N" in m["inputs"][0]["shape"]
        lengths = [None]
        if sequenced(m):
            lengths = sorted({vector_seq(m, vector), *seqs})
        files = [("int8", m["file"])] + ([("fp32", m["float_file"])] if "float_file" in m else [])
        for precision, file in files:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            sess = ort.InferenceSession(str(MODELS / file), opts, providers=["CPUExecutionProvider"])
            for batch, seq in [(b, L) for b in ([1, 24] if batched else [1]) for L in lengths]:
                feeds = {}
                for t, spec in zip(vector["inputs"], m["inputs"]):
                    data = np.array(t["data"], dtype=np.float32 if t["dtype"] == "f32" else np.int64)
                    shape = [batch if d == "N" else seq if d == "S" else d for d in spec["shape"]]
                    feeds[t["name"]] = np.resize(data, int(np.prod(shape))).reshape(shape)
                for _ in range(min(runs, 20)):
                    sess.run(None, feeds)
                times = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    sess.run(None, feeds)
                    times.append((time.perf_counter() - t0) * 1e6)
                rows.append({"runtime": "onnxruntime", "model": m["name"], "precision": precision,
                             "batch": batch, "seq": seq, "median_us": statistics.median(times)})
    return rows


def tract_round(runs, binary, manifest, seqs, stock):
    calls = [[]] + [["--model", m["name"], "--seq", str(L)] for m in manifest["model"] if sequenced(m) for L in seqs]
    rows = []
    for kernels in [[]] + ([["--tract-kernels"]] if stock else []):
        for extra in calls:
            out = subprocess.run([binary, "--runs", str(runs), "--manifest", str(MODELS / "manifest.toml"), *extra,
                                  *kernels], cwd=ROOT, check=True, capture_output=True, text=True).stdout
            for line in out.splitlines():
                if line.startswith("{"):
                    row = json.loads(line)
                    if kernels:
                        row["runtime"] = "tract-stock"
                    rows.append(row)
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--tract-bench", help="a built tract_bench binary (default: build it with cargo)")
    parser.add_argument("--seq", default="", help="more token counts for the text encoder, e.g. 8,16,64")
    parser.add_argument("--tract-kernels", action="store_true",
                        help="also time tract with its own quantize kernels (one more column)")
    args = parser.parse_args()
    manifest = tomllib.loads((MODELS / "manifest.toml").read_text())
    seqs = [int(x) for x in args.seq.split(",") if x]
    binary = args.tract_bench
    if not binary:
        subprocess.run(["cargo", "build", "-q", "--release", "-p", "edge-models", "--example", "tract_bench"],
                       cwd=ROOT, check=True)
        binary = str(ROOT / "target" / "release" / "examples" / "tract_bench")
    samples = {}
    for r in range(args.rounds):
        for row in tract_round(args.runs, binary, manifest, seqs, args.tract_kernels) + ort_round(manifest, args.runs, seqs):
            key = (row["model"], row["precision"], row["batch"], row.get("seq") or 0, row["runtime"])
            samples.setdefault(key, []).append(row["median_us"])
        print(f"round {r + 1}/{args.rounds} done", flush=True)
    print(f"\nonnxruntime {ort.__version__}, one thread each; medians of {args.rounds} rounds x {args.runs} runs (µs)\n")
    stock = " tract's kernels µs | ratio with tract's kernels |" if args.tract_kernels else ""
    print(f"| model | file | batch | tract µs | onnxruntime µs | tract / onnxruntime |{stock}")
    print("|---|---|---|---|---|---|" + ("---|---|" if stock else ""))
    cases = sorted({k[:4] for k in samples})
    for model, precision, batch, seq in cases:
        t = samples.get((model, precision, batch, seq, "tract"))
        o = samples.get((model, precision, batch, seq, "onnxruntime"))
        if not t or not o:
            continue
        tm, om = statistics.median(t), statistics.median(o)
        size = f"{batch} x {seq} tokens" if seq else f"{batch}"
        extra = ""
        if args.tract_kernels:
            s = samples.get((model, precision, batch, seq, "tract-stock"))
            extra = f" {statistics.median(s):.0f} | {statistics.median(s) / om:.2f}x |" if s else " - | - |"
        print(f"| {model} | {precision} | {size} | {tm:.0f} | {om:.0f} | {tm / om:.2f}x |{extra}")


if __name__ == "__main__":
    main()
