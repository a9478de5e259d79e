#!/usr/bin/env python3
"""numpy oracle for tests/ops: computes what every operator case should produce.

Usage: numpy_oracle.py DIR

DIR/cases.jsonl has one case per line:
  {"id": 3, "op": "add", "attrs": {...}, "inputs": [{"file": "in_3_0.bin", "dtype": "float32", "shape": [2, 3]}]}
Input files hold raw C-order native-endian elements (bool as one byte 0/1). For each case this
writes DIR/out_<id>.bin the same way and a line "<id> <dtype> <rank> <dims...>" to
DIR/results.txt, or "<id> error <message>" when numpy refuses the case.

Each operator is written the way its schema documents it, in plain numpy (float32 inputs are
computed in float32, as numpy does); only the exact gelu needs erfc, taken from math in float64.
"""
import json
import math
import sys

import numpy as np


def axis_arg(attrs):
    axes = attrs.get("axes")
    return tuple(axes) if isinstance(axes, list) else axes


def stable_sigmoid(x):
    # exp(x) / (1 + exp(x)) for negative x, which keeps tiny results exact (1 - p loses them).
    with np.errstate(over="ignore"):
        e = np.exp(np.minimum(x, 0))
        return np.where(x >= 0, 1 / (1 + np.exp(-np.maximum(x, 0))), e / (1 + e)).astype(x.dtype)


def gelu(x, approximate):
    if approximate:
        inner = np.sqrt(2 / np.pi).astype(x.dtype) * (x + x.dtype.type(0.044715) * x * x * x)
        return (x.dtype.type(0.5) * x * (1 + np.tanh(inner))).astype(x.dtype)
    # 1 + erf(z) == erfc(-z); erfc keeps full precision where 1 + erf cancels (negative x).
    erfc = np.vectorize(math.erfc, otypes=[np.float64])
    wide = x.astype(np.float64)
    return (0.5 * wide * erfc(-wide / math.sqrt(2))).astype(x.dtype)


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def flatten(x, start, end):
    shape = x.shape if x.ndim else (1,)
    rank = len(shape)
    start, end = start % rank, end % rank
    merged = int(np.prod(shape[start:end + 1], dtype=np.int64))
    return x.reshape(shape[:start] + (merged,) + shape[end + 1:])


def compute(op, a, x):
    if op in ("add", "subtract", "multiply", "divide", "power", "maximum", "minimum"):
        return getattr(np, op)(x[0], x[1])
    unary = {"negate": np.negative, "abs": np.abs, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
             "sin": np.sin, "cos": np.cos, "tanh": np.tanh}
    if op in unary:
        return unary[op](x[0])
    if op == "relu":
        return np.maximum(x[0], x[0].dtype.type(0))
    if op == "sigmoid":
        return stable_sigmoid(x[0])
    if op == "gelu":
        return gelu(x[0], a["approximate"])
    if op == "softplus":
        return np.logaddexp(x[0].dtype.type(0), x[0])
    if op == "leaky_relu":
        return np.where(x[0] >= 0, x[0], x[0] * x[0].dtype.type(a["slope"]))
    if op == "softmax":
        return softmax(x[0], a["axis"])
    if op == "matmul":
        return np.matmul(x[0], x[1])
    if op == "reshape":
        return x[0].reshape(a["shape"])
    if op == "transpose":
        return np.transpose(x[0], a["axes"])
    if op == "concat":
        return np.concatenate(x, axis=a["axis"])
    if op == "flatten":
        return flatten(x[0], a["start_dim"], a["end_dim"])
    if op in ("sum", "prod"):
        return getattr(np, op)(x[0], axis=axis_arg(a), keepdims=a["keepdims"], dtype=x[0].dtype)
    if op in ("mean", "max", "min"):
        return getattr(np, op)(x[0], axis=axis_arg(a), keepdims=a["keepdims"])
    if op == "variance":
        return np.var(x[0], axis=axis_arg(a), keepdims=a["keepdims"], ddof=a["correction"])
    if op == "where":
        return np.where(x[0], x[1], x[2])
    if op == "cast":
        return x[0].astype(np.dtype(a["dtype"]))
    raise ValueError("the oracle does not know operator " + op)


def main():
    folder = sys.argv[1]
    lines = []
    with open(folder + "/cases.jsonl") as f:
        for line in f:
            case = json.loads(line)
            inputs = [np.fromfile(folder + "/" + i["file"], dtype=np.dtype(i["dtype"])).reshape(i["shape"])
                      for i in case["inputs"]]
            try:
                with np.errstate(all="ignore"):
                    out = np.asarray(compute(case["op"], case["attrs"], inputs))
            except Exception as e:  # reported to the C++ side, which fails the case
                lines.append(f'{case["id"]} error {type(e).__name__}: {e}'.replace("\n", " "))
                continue
            np.ascontiguousarray(out).tofile(f'{folder}/out_{case["id"]}.bin')
            lines.append(" ".join([str(case["id"]), out.dtype.name, str(out.ndim)] + [str(d) for d in out.shape]))
    with open(folder + "/results.txt", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
