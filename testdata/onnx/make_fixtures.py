#!/usr/bin/python3
"""Writes the small ONNX models the importer's unit tests read (tests/onnx). Run from this folder
with /usr/bin/python3 (python3-onnx 1.12); the outputs are committed, so tests need no Python."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 13)]


def save(model, name):
    onnx.checker.check_model(model)
    onnx.save(model, name)


def linear():
    # y = relu(x @ W + b) with ONNX-style names (dots, '::') and a named batch dim.
    w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3) / 10, "fc.weight")
    b = numpy_helper.from_array(np.array([0.5, -1, 2], dtype=np.float32), "onnx::Add_2")
    nodes = [helper.make_node("MatMul", ["input.1", "fc.weight"], ["mm"]),
             helper.make_node("Add", ["mm", "onnx::Add_2"], ["pre"]),
             helper.make_node("Relu", ["pre"], ["out"])]
    g = helper.make_graph(nodes, "linear", [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["batch", 4])],
                          [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 3])], [w, b])
    m = helper.make_model(g, opset_imports=OPSET, producer_name="make_fixtures")
    m.doc_string = "a linear layer"
    helper.set_model_props(m, {"author": "tests"})
    save(m, "linear.onnx")


def shape_subgraph():
    # torch.onnx.export's pattern: Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Constant", [], ["zero"], value=numpy_helper.from_array(np.array(0, dtype=np.int64))),
             helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Constant", [], ["axes"], value=numpy_helper.from_array(np.array([0], dtype=np.int64))),
             helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
             helper.make_node("Constant", [], ["minus1"], value=numpy_helper.from_array(np.array([-1], dtype=np.int64))),
             helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
             helper.make_node("Reshape", ["x", "shape"], ["y"])]
    g = helper.make_graph(nodes, "shapes", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 12])])
    save(helper.make_model(g, opset_imports=OPSET), "shape_subgraph.onnx")


def dynamic_reshape():
    # The target shape is a graph input: it must be frozen (--freeze) to import.
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["y"])]
    g = helper.make_graph(nodes, "dynamic", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 6]),
                                             helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 4])])
    save(helper.make_model(g, opset_imports=OPSET), "dynamic_reshape.onnx")


def unsupported():
    nodes = [helper.make_node("NonZero", ["x"], ["a"]), helper.make_node("NonZero", ["x"], ["b"]),
             helper.make_node("Relu", ["x"], ["c"]),
             helper.make_node("Unique", ["x"], ["d"])]
    g = helper.make_graph(nodes, "unsupported", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, [4]) for n in "abcd"])
    save(helper.make_model(g, opset_imports=OPSET), "unsupported.onnx")


def bad_initializer():
    # raw_data of 8 bytes for a float32[3] (12 bytes): checked before use.
    t = helper.make_tensor("w", TensorProto.FLOAT, [3], b"\0" * 12, raw=True)
    t.raw_data = b"\0" * 8
    nodes = [helper.make_node("Add", ["x", "w"], ["y"])]
    g = helper.make_graph(nodes, "bad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])], [t])
    onnx.save(helper.make_model(g, opset_imports=OPSET), "bad_initializer.onnx")  # the checker would refuse it


def external(name, location, offset, length, write_data):
    t = numpy_helper.from_array(np.array([1, 2, 3], dtype=np.float32), "w")
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", str(offset)), ("length", str(length))):
        e = t.external_data.add()
        e.key, e.value = k, v
    nodes = [helper.make_node("Add", ["x", "w"], ["y"])]
    g = helper.make_graph(nodes, "ext", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])], [t])
    onnx.save(helper.make_model(g, opset_imports=OPSET), name)
    if write_data:
        with open(location, "wb") as f:
            f.write(b"\xff" * 4 + np.array([1, 2, 3], dtype=np.float32).tobytes())


def old_opset():
    # Opset 6 BatchNormalization and Add: imported through ONNX's version converter.
    c = 2
    inits = [numpy_helper.from_array(np.array(v, dtype=np.float32), n) for n, v in
             (("scale", [1, 2]), ("bias", [0, 1]), ("mean", [0.5, -0.5]), ("var", [1, 4]))]
    nodes = [helper.make_node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["bn"], epsilon=1e-5),
             helper.make_node("Add", ["bn", "bias"], ["y"], broadcast=1)]
    g = helper.make_graph(nodes, "old", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, 2, 2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, 2, 2])], inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 6)]), "old_opset6.onnx")


def function_op():
    # MeanVarianceNormalization has no converter: it is imported through its ONNX function body.
    # The Constant node feeding Mul (a data operand) becomes a constant of the model.
    nodes = [helper.make_node("MeanVarianceNormalization", ["x"], ["n"], axes=[0, 2, 3]),
             helper.make_node("Constant", [], ["two"], value=numpy_helper.from_array(np.array([2], dtype=np.float32))),
             helper.make_node("Mul", ["n", "two"], ["y"])]
    g = helper.make_graph(nodes, "mvn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 2, 2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 2, 2])])
    save(helper.make_model(g, opset_imports=OPSET), "function_op.onnx")


def hostile():
    # Attribute and operand values a hostile file may hold, each of which once reached an
    # unchecked index or a division in the importer: each must be refused naming the node.
    # Written to ../fuzz/onnx/, so the fuzz replay runs them too (tests/onnx checks the errors).
    f32 = TensorProto.FLOAT

    def write(name, nodes, inputs, outputs, inits=(), opset=13):
        g = helper.make_graph(nodes, name, [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
                              [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs], list(inits))
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]), f"../fuzz/onnx/hostile-{name}.onnx")

    def ints(name, values):
        return numpy_helper.from_array(np.array(values, dtype=np.int64), name)

    def floats(name, values):
        return numpy_helper.from_array(np.array(values, dtype=np.float32), name)

    write("max-pool-zero-stride", [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[0, 0], auto_pad="SAME_UPPER")],
          [("x", f32, [1, 1, 4, 4])], [("y", f32, None)])
    write("average-pool-rank-mismatch", [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], auto_pad="SAME_UPPER")],
          [("x", f32, [1, 4])], [("y", f32, None)])
    write("max-pool-ceil-rank-mismatch", [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2], pads=[1, 1], ceil_mode=1)],
          [("x", f32, [4])], [("y", f32, None)])
    write("conv-weight-rank-2", [helper.make_node("Conv", ["x", "w"], ["y"])],
          [("x", f32, [1, 3, 3])], [("y", f32, None)], [floats("w", np.ones((3, 3)))])
    write("range-empty-start", [helper.make_node("Range", ["start", "limit", "delta"], ["y"])],
          [], [("y", TensorProto.INT64, None)], [ints("start", []), ints("limit", [5]), ints("delta", [1])])
    write("range-huge", [helper.make_node("Range", ["start", "limit", "delta"], ["y"])],
          [], [("y", TensorProto.INT64, None)],
          [ints("start", -(2**63)), ints("limit", 2**63 - 1), ints("delta", 1)])
    write("range-infinite", [helper.make_node("Range", ["start", "limit", "delta"], ["y"])],
          [], [("y", f32, None)], [floats("start", 0), floats("limit", np.inf), floats("delta", 1)])
    write("split-without-outputs", [helper.make_node("Split", ["x"], [], axis=0)], [("x", f32, [4])], [])
    write("cumsum-empty-axis", [helper.make_node("CumSum", ["x", "axis"], ["y"])],
          [("x", f32, [4])], [("y", f32, None)], [ints("axis", [])])
    write("one-hot-nan-depth", [helper.make_node("OneHot", ["i", "depth", "values"], ["y"])],
          [("i", TensorProto.INT64, [3])], [("y", f32, None)], [floats("depth", np.nan), floats("values", [0, 1])])
    write("resize-infinite-scale", [helper.make_node("Resize", ["x", "", "scales"], ["y"])],
          [("x", f32, [1, 1, 2, 2])], [("y", f32, None)], [floats("scales", [1, 1, np.inf, 1])])
    write("rnn-billion-steps", [helper.make_node("RNN", ["x", "w", "r"], ["y"], hidden_size=1)],
          [("x", f32, [10**9, 1, 1])], [("y", f32, None)], [floats("w", np.ones((1, 1, 1))), floats("r", np.ones((1, 1, 1)))])


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    linear()
    shape_subgraph()
    dynamic_reshape()
    unsupported()
    bad_initializer()
    external("external.onnx", "external.bin", 4, 12, True)
    external("external_missing.onnx", "missing.bin", 0, 12, False)
    external("external_out_of_bounds.onnx", "external.bin", 8, 12, False)
    external("external_escape.onnx", "../external.bin", 0, 12, False)
    old_opset()
    function_op()
    hostile()
    with open("linear.onnx", "rb") as f:
        data = f.read()
    with open("truncated.onnx", "wb") as f:
        f.write(data[: len(data) // 2])
