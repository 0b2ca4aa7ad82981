"""Tiny ONNX files for the crate's bad-input tests (models/tests/fixtures/).

    python models/train/fixtures.py

- unsupported_op.onnx: a valid graph x[1,4] -> y[1,4] whose one node is a Microsoft contrib
  op (com.microsoft QGemm-like `QLinearAdd`) that tract does not implement.
- tiny_ok.onnx: the same I/O with a supported op (Relu), to show the fixture manifest works.
"""

import pathlib

import onnx
from onnx import TensorProto, helper

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def graph(node, name):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    return helper.make_graph([node], name, [x], [y])


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    ok = helper.make_model(graph(helper.make_node("Relu", ["x"], ["y"]), "tiny_ok"),
                           opset_imports=[helper.make_opsetid("", 17)], producer_name="fixtures.py")
    onnx.checker.check_model(ok)
    onnx.save(ok, OUT / "tiny_ok.onnx")
    bad = helper.make_model(
        graph(helper.make_node("QLinearAdd", ["x", "x"], ["y"], domain="com.microsoft"), "unsupported"),
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
        producer_name="fixtures.py")
    onnx.save(bad, OUT / "unsupported_op.onnx")
    print("wrote", sorted(p.name for p in OUT.glob("*.onnx")))


if __name__ == "__main__":
    main()
