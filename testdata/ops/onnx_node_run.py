#!/usr/bin/env python3
"""Runs ONNX 1.12's single-node conformance cases of the nn/math operators through mithril-run.

Usage: onnx_node_cases.py MITHRIL_RUN BACKEND [NODE_DATA_DIR]

For every case in NODE_DATA_DIR (default /usr/share/libonnx-testdata/data/node) whose one node is
an operator listed in lower() below, the node is written by hand as our operator (a structure
JSON with one node; ONNX's inputs become the model's inputs), run on BACKEND with the case's
first data set, and compared with ONNX's expected output by ONNX's rule (rtol 1e-3, atol 1e-7).
This checks the operators' semantics against ONNX independently of the importer: cases that need
the importer's work (auto_pad, output_shape, training mode, float16) are counted as skipped.
Prints "pass N fail N skip N" and one line per failure; exits 1 on any failure.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper


def window(at, rank):
    pads = at.get("pads", [0] * 2 * rank)
    padding = []
    for i in range(rank):
        padding += [pads[i], pads[i + rank]]
    return {"stride": list(at.get("strides", [1] * rank)), "padding": padding,
            "dilation": list(at.get("dilations", [1] * rank))}


UNARY = {"Erf": "erf", "Sign": "sign", "Reciprocal": "reciprocal", "Floor": "floor", "Ceil": "ceil", "Round": "round",
         "Tan": "tan", "Asin": "asin", "Acos": "acos", "Atan": "atan", "Sinh": "sinh", "Cosh": "cosh", "Asinh": "asinh",
         "Acosh": "acosh", "Atanh": "atanh", "IsNaN": "isnan", "Not": "logical_not", "Softsign": "softsign",
         "Mish": "mish", "HardSwish": "hard_swish", "PRelu": "prelu", "Equal": "equal", "Less": "less",
         "LessOrEqual": "less_equal", "Greater": "greater", "GreaterOrEqual": "greater_equal", "And": "logical_and",
         "Or": "logical_or", "Xor": "logical_xor"}


def lower(node, at, ins):
    """(our operator, its attributes, its inputs) for an ONNX node, or None when out of scope."""
    t = node.op_type
    if t in UNARY:
        return UNARY[t], {}, ins
    if t in ("MaxPool", "AveragePool"):
        if at.get("auto_pad", "NOTSET") != "NOTSET" or len(node.output) > 1:
            return None
        k = list(at["kernel_shape"])
        a = window(at, len(k))
        a.update(kernel_size=k, ceil_mode=bool(at.get("ceil_mode", 0)))
        if t == "MaxPool":
            a["pad_with_neg_inf"] = True
        else:
            a["count_include_pad"] = bool(at.get("count_include_pad", 0))
        return ("max_pool%dd" if t == "MaxPool" else "avg_pool%dd") % len(k), a, ins
    if t == "ConvTranspose":
        if "output_shape" in at or at.get("auto_pad", "NOTSET") != "NOTSET" or len(ins) > 2:
            return None
        rank = ins[0].ndim - 2
        a = window(at, rank)
        a.update(output_padding=list(at.get("output_padding", [0] * rank)), groups=at.get("group", 1))
        return "conv_transpose%dd" % rank, a, ins
    if t == "BatchNormalization":
        if at.get("training_mode", 0):
            return None
        return "batch_norm", {"epsilon": at.get("epsilon", 1e-5)}, ins
    if t == "InstanceNormalization":
        return "instance_norm", {"epsilon": at.get("epsilon", 1e-5)}, ins
    if t == "LayerNormalization":
        bias = ins[2] if len(ins) > 2 else np.zeros_like(ins[1])
        return "layer_norm", {"axis": at.get("axis", -1), "epsilon": at.get("epsilon", 1e-5)}, [ins[0], ins[1], bias]
    if t in ("ArgMax", "ArgMin"):
        return t.lower(), {"axis": at.get("axis", 0), "keepdims": bool(at.get("keepdims", 1)),
                           "select_last_index": bool(at.get("select_last_index", 0))}, ins
    if t == "Clip":
        bound = lambda i: float(ins[i]) if len(ins) > i and ins[i] is not None else None
        return "clip", {"min": bound(1), "max": bound(2)}, ins[:1]
    if t == "Mod":
        if ins[0].dtype == np.float16:
            return None
        return "mod", {"fmod": bool(at.get("fmod", 0))}, ins
    if t == "IsInf":
        return "isinf", {"detect_positive": bool(at.get("detect_positive", 1)),
                         "detect_negative": bool(at.get("detect_negative", 1))}, ins
    if t in ("LogSoftmax", "Hardmax"):
        return ("log_softmax" if t == "LogSoftmax" else "hardmax"), {"axis": at.get("axis", -1)}, ins
    defaults = {"HardSigmoid": ("hard_sigmoid", {"alpha": 0.2, "beta": 0.5}), "Celu": ("celu", {"alpha": 1.0}),
                "Selu": ("selu", {"alpha": 1.67326319217681884765625, "gamma": 1.05070102214813232421875}),
                "Elu": ("elu", {"alpha": 1.0}), "Shrink": ("shrink", {"bias": 0.0, "lambd": 0.5}),
                "ThresholdedRelu": ("thresholded_relu", {"alpha": 1.0})}
    if t in defaults:
        op, a = defaults[t]
        return op, {k: float(at.get(k, v)) for k, v in a.items()}, ins
    return None


def read_tensor(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def run(mithril_run, backend, op, attrs, inputs, folder):
    names = ["in%d" % i for i in range(len(inputs))]
    model = {"version": "1.1.0", "name": "case",
             "inputs": {n: {"shape": list(v.shape), "dtype": str(v.dtype)} for n, v in zip(names, inputs)},
             "nodes": [{"name": "out", "op": op, "inputs": names, "attributes": attrs}], "outputs": {"out": "out"}}
    with open(folder + "/m.json", "w") as f:
        json.dump(model, f)
    np.savez(folder + "/x.npz", **{n: np.ascontiguousarray(v) for n, v in zip(names, inputs)})
    r = subprocess.run([mithril_run, folder + "/m.json", "--inputs", folder + "/x.npz", "-o", folder + "/y.npz",
                        "--backend", backend, "-q"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    return np.load(folder + "/y.npz")["out"]


def main():
    mithril_run, backend = sys.argv[1], sys.argv[2]
    root = sys.argv[3] if len(sys.argv) > 3 else "/usr/share/libonnx-testdata/data/node"
    passed, failed, skipped = [], [], []
    with tempfile.TemporaryDirectory() as work:
        for folder in sorted(glob.glob(root + "/test_*")):
            if folder.endswith("_expanded") or not os.path.exists(folder + "/test_data_set_0"):
                continue
            model = onnx.load(folder + "/model.onnx")
            if len(model.graph.node) != 1:
                continue
            node = model.graph.node[0]
            at = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            data = folder + "/test_data_set_0"
            ins, n = [], 0
            try:
                for name in node.input:  # data files number the inputs that are present
                    if name == "":
                        ins.append(None)
                        continue
                    ins.append(read_tensor(data + "/input_%d.pb" % n))
                    n += 1
                want = read_tensor(data + "/output_0.pb")
            except (ValueError, TypeError):  # sequences and optionals: not single tensors
                continue
            name = os.path.basename(folder)
            lowered = lower(node, at, ins)
            if lowered is None:
                if node.op_type in ("MaxPool", "AveragePool", "ConvTranspose", "BatchNormalization", "Mod"):
                    skipped.append(name)  # auto_pad, output_shape, a bias input, training mode, float16
                continue
            op, attrs, inputs = lowered
            try:
                got = run(mithril_run, backend, op, attrs, inputs, work)
            except RuntimeError as e:
                failed.append("%s: %s" % (name, e))
                continue
            ok = got.shape == want.shape and got.dtype == want.dtype and np.allclose(
                got, want, rtol=1e-3, atol=1e-7, equal_nan=True)
            if ok:
                passed.append(name)
            else:
                failed.append("%s: got %s %s, expected %s %s" % (name, got.dtype, got.shape, want.dtype, want.shape))
    print("pass %d fail %d skip %d" % (len(passed), len(failed), len(skipped)))
    for f in failed:
        print("FAIL " + f)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
