"""Which slotnet-shaped graphs does tract run close to onnxruntime? Latency only.

    python models/bench/arch_probe.py [--tract PATH] [--rounds 3] [NAME ...]

Builds candidate graphs with random weights (nothing is trained: only the time is measured), on
slotnet's input size (5 x 64 x 64, the RGB crop and two colour maps) and its dense head, as
float files and as int8 files quantized with slotnet's recipe (onnxruntime `quantize_static`,
QOperator, per tensor, QInt8 weights, QUInt8 activations, Relu folded into the ranges), then
times each with tract's own `bench` command and with onnxruntime, one thread each, batch 1 and
24, alternating the two runtimes round by round. Prints the medians and tract / onnxruntime.

Needs numpy, onnx, onnxruntime and the tract command line tool of the crate's version
(`cargo install tract-cli --version 0.23.9 --no-default-features --features onnx`); not in CI.
Files go to a temporary directory.
"""

import argparse
import pathlib
import re
import statistics
import subprocess
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

# convolution stacks: (kernel, stride, output channels); "same" padding for odd kernels
CONV = {
    "current": [(3, 2, 16), (3, 2, 32), (3, 1, 32), (3, 2, 64), (3, 1, 64), (3, 2, 96)],  # slotnet 3.0.0
    "stride2": [(3, 2, 16), (3, 2, 32), (3, 2, 64), (3, 2, 96)],  # no stride-1 layer: less im2col
    "patch": [(4, 4, 32), (1, 1, 32), (2, 2, 64), (1, 1, 64), (2, 2, 96)],  # stride = kernel: im2col copies each pixel once
    "patch2": [(2, 2, 16), (2, 2, 32), (1, 1, 32), (2, 2, 64), (1, 1, 64), (2, 2, 96)],
    "mixed": [(4, 4, 32), (3, 1, 32), (2, 2, 64), (3, 1, 64), (2, 2, 96)],
}
# "patch_matmul": the "patch" stack written without Conv: Reshape/Transpose into patches and
# MatMul over the channels (channel-last), the same arithmetic
NAMES = list(CONV) + ["patch_matmul"]


class Graph:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []

    def const(self, name, value):
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def node(self, op, inputs, name, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def weight(self, name, shape, fan_in):
        return self.const(name, (self.rng.standard_normal(shape) * np.sqrt(2 / fan_in)).astype(np.float32))

    def conv(self, x, cin, cout, k, s, name):
        w = self.weight(name + ".w", (cout, cin, k, k), cin * k * k)
        b = self.const(name + ".b", np.zeros(cout, np.float32))
        pad = (k - 1) // 2 if k % 2 else 0
        y = self.node("Conv", [x, w, b], name, kernel_shape=[k, k], strides=[s, s], pads=[pad] * 4)
        return self.node("Relu", [y], name + ".relu")

    def dense(self, x, i, o, name, relu=True):
        y = self.node("MatMul", [x, self.weight(name + ".w", (i, o), i)], name + ".mm")
        y = self.node("Add", [y, self.const(name + ".b", np.zeros(o, np.float32))], name)
        return self.node("Relu", [y], name + ".relu") if relu else y

    def reshape(self, x, shape, name):
        return self.node("Reshape", [x, self.const(name + ".shape", np.array(shape, np.int64))], name)

    def head(self, x, width):
        """slotnet's dense part: Linear 128, Linear 96, 4 outputs."""
        h = self.dense(x, width, 128, "d1")
        h = self.dense(h, 128, 96, "d2")
        return self.dense(h, 96, 4, "d3", relu=False)

    def save(self, y, path):
        g = helper.make_graph(self.nodes, "probe",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 5, 64, 64])],
                              [helper.make_tensor_value_info(y, TensorProto.FLOAT, ["N", 4])], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        onnx.checker.check_model(m)
        onnx.save(m, path)


def conv_stack(name, path):
    g = Graph(0)
    x, c, hw = "x", 5, 64
    for i, (k, s, co) in enumerate(CONV[name]):
        x, c, hw = g.conv(x, c, co, k, s, f"c{i}"), co, hw // s
    g.save(g.head(g.node("Flatten", [x], "flat"), c * hw * hw), path)


def patch_matmul(path):
    g = Graph(0)
    # NCHW [N,5,64,64] -> 4x4 patches, channel-last [N, 256, 80]
    x = g.reshape("x", [-1, 5, 16, 4, 16, 4], "p0.split")
    x = g.node("Transpose", [x], "p0.t", perm=[0, 2, 4, 3, 5, 1])
    x = g.reshape(x, [-1, 256, 80], "p0")
    x = g.dense(x, 80, 32, "l0")
    x = g.dense(x, 32, 32, "l1")
    for i, (hw, c, cout) in enumerate([(16, 32, 64), (8, 64, 96)]):
        o = hw // 2  # 2x2 patches of the channel-last grid
        x = g.reshape(x, [-1, o, 2, o, 2, c], f"p{i + 1}.split")
        x = g.node("Transpose", [x], f"p{i + 1}.t", perm=[0, 1, 3, 2, 4, 5])
        x = g.reshape(x, [-1, o * o, 4 * c], f"p{i + 1}")
        x = g.dense(x, 4 * c, cout, f"l{2 * i + 2}")
        if i == 0:
            x = g.dense(x, 64, 64, "l3")
    g.save(g.head(g.reshape(x, [-1, 16 * 96], "flat"), 16 * 96), path)


class Calibration(CalibrationDataReader):
    def __init__(self):
        rng = np.random.default_rng(1)
        self.batches = iter([{"x": rng.random((8, 5, 64, 64), dtype=np.float32)} for _ in range(8)])

    def get_next(self):
        return next(self.batches, None)


def quantize(src, dst):
    quantize_static(str(src), str(dst), Calibration(), quant_format=QuantFormat.QOperator,
                    op_types_to_quantize=["Conv", "MatMul", "Relu"], per_channel=False,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    m = onnx.load(dst)
    del m.graph.value_info[:]
    onnx.save(m, dst)


def ort_us(path, batch, runs):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    feed = {"x": np.random.default_rng(2).random((batch, 5, 64, 64), dtype=np.float32)}
    for _ in range(20):
        sess.run(None, feed)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def tract_us(tract, path, batch):
    out = subprocess.run([tract, str(path), "--onnx-ignore-output-shapes", "--onnx-ignore-value-info",
                          "-i", f"{batch},5,64,64,f32", "-O", "bench", "--allow-random-input"],
                         capture_output=True, text=True, check=True)
    found = re.search(r"([0-9.]+) ms/i", re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr))
    if not found:
        raise SystemExit(f"no timing in tract's output for {path}:\n{out.stdout}{out.stderr}")
    return float(found.group(1)) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*", help=f"graphs to probe (default all): {', '.join(NAMES)}")
    parser.add_argument("--tract", default="tract")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in NAMES]
    if unknown:
        parser.error(f"unknown graph {', '.join(unknown)}; known: {', '.join(NAMES)}")
    print(f"onnxruntime {ort.__version__}, one thread each; medians of {args.rounds} rounds (µs)\n")
    print("| graph | file | batch | tract µs | onnxruntime µs | tract / onnxruntime |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.names or NAMES:
            fp32, int8 = pathlib.Path(tmp, f"{name}.fp32.onnx"), pathlib.Path(tmp, f"{name}.int8.onnx")
            patch_matmul(fp32) if name == "patch_matmul" else conv_stack(name, fp32)
            quantize(fp32, int8)
            for precision, path in (("fp32", fp32), ("int8", int8)):
                for batch in (1, 24):
                    t, o = [], []
                    for _ in range(args.rounds):
                        t.append(tract_us(args.tract, path, batch))
                        o.append(ort_us(path, batch, args.runs))
                    tm, om = statistics.median(t), statistics.median(o)
                    print(f"| {name} | {precision} | {batch} | {tm:.0f} | {om:.0f} | {tm / om:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
