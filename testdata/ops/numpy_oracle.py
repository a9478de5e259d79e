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


def pad_axis(x, axis, before, after, value=0):
    widths = [(0, 0)] * x.ndim
    widths[axis] = (before, after)
    return np.pad(x, widths, constant_values=value)


def conv(x, w, a, rank):
    # Direct definition: out[n, o, i...] = sum_{c, p...} x_pad[n, g*cg + c, i*s + p*d] * w[o, c, p...].
    stride, dilation, groups = a["stride"], a["dilation"], a["groups"]
    for k in range(rank):
        x = pad_axis(x, 2 + k, a["padding"][2 * k], a["padding"][2 * k + 1])
    n, o, cg = x.shape[0], w.shape[0], w.shape[1]
    og = o // groups
    sizes = [(x.shape[2 + k] - dilation[k] * (w.shape[2 + k] - 1) - 1) // stride[k] + 1 for k in range(rank)]
    out = np.zeros([n, o] + sizes, dtype=x.dtype)
    for idx in np.ndindex(*sizes):
        window = [slice(None), None]
        for k in range(rank):
            start = idx[k] * stride[k]
            window.append(slice(start, start + dilation[k] * (w.shape[2 + k] - 1) + 1, dilation[k]))
        for oc in range(o):
            g = oc // og
            window[1] = slice(g * cg, (g + 1) * cg)
            patch = x[tuple(window)]
            out[(slice(None), oc) + tuple(idx)] = (patch * w[oc]).reshape(n, -1).sum(axis=1)
    return out


def max_pool(x, a, rank):
    # Python Mithril pads with zeros before taking window maxima (nanmax keeps NaN only if all are NaN,
    # so the reference keeps numpy's max here: NaN propagates).
    k, s, d = a["kernel_size"], a["stride"], a["dilation"]
    for i in range(rank):
        x = pad_axis(x, x.ndim - rank + i, a["padding"][2 * i], a["padding"][2 * i + 1])
    sizes = [(x.shape[x.ndim - rank + i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(rank)]
    out = np.zeros(x.shape[:x.ndim - rank] + tuple(sizes), dtype=x.dtype)
    for idx in np.ndindex(*sizes):
        window = [Ellipsis] + [slice(idx[i] * s[i], idx[i] * s[i] + d[i] * (k[i] - 1) + 1, d[i]) for i in range(rank)]
        patch = x[tuple(window)]
        out[(Ellipsis,) + tuple(idx)] = patch.reshape(patch.shape[:patch.ndim - rank] + (-1,)).max(axis=-1)
    return out


def robust_log(x, t):
    x = np.abs(x)
    return np.where(x < t, np.log(t) + x / t - 1, np.log(np.where(x < t, 1, x)))


def robust_sqrt(x, t):
    x = np.abs(x)
    return np.where(x < t, x / np.sqrt(t), np.sqrt(x))


def robust_power(b, e, t):
    b = np.abs(b)
    with np.errstate(all="ignore"):
        cond = (b < t) & (e < 1 - np.log(t) / np.log(b))
    return np.where(cond, b / t, b ** e)


def stable_reciprocal(x, t):
    # Python Mithril's numpy stable_reciprocal, elementwise with broadcasting.
    x, t = np.broadcast_arrays(x, t)
    with np.errstate(all="ignore"):
        near = (np.sign(x) + (1 - np.sign(np.abs(x)))) * 2 * np.reciprocal(t) + (-x / np.square(t))
        return np.where(np.abs(x) < t, near, np.reciprocal(x))


def cross_entropy(x, t, a):
    log = (lambda v: robust_log(v, x.dtype.type(a["threshold"]))) if a["robust"] else np.log
    classes = x.shape[1]
    w = np.array(a["weights"], dtype=x.dtype) if a["weights"] else np.ones(classes, dtype=x.dtype)
    if a["categorical"]:
        if a["auto_weights"]:
            counts = np.bincount(t.ravel(), minlength=classes)
            w = (t.size / (classes * counts)).astype(x.dtype)
        picked = np.take_along_axis(x, np.expand_dims(t, 1), axis=1).squeeze(1)
        if a["input_type"] == "logits":
            m = x.max(axis=1, keepdims=True)
            loss = log(np.exp(x - m).sum(axis=1)) - (picked - m.squeeze(1))
        elif a["input_type"] == "probs":
            loss = -log(picked)
        else:
            loss = -picked
        return loss * w[t]
    if a["auto_weights"]:
        w = (t.sum() / (classes * np.moveaxis(t, 1, -1).reshape(-1, classes).sum(axis=0))).astype(x.dtype)
    wb = w.reshape((1, classes) + (1,) * (x.ndim - 2))
    if a["input_type"] == "logits":
        term = x - log(np.exp(x).sum(axis=1, keepdims=True))
    elif a["input_type"] == "probs":
        term = log(x)
    else:
        term = x
    return -(t * term * wb).sum(axis=1)


def binary_cross_entropy(x, t, a):
    log = (lambda v: robust_log(v, x.dtype.type(a["threshold"]))) if a["robust"] else np.log
    pw = a["pos_weight"]
    if a["auto_pos_weight"]:
        # Python Mithril weighs logits by the mean of sigmoid(target), probabilities by the mean of target.
        m = stable_sigmoid(t).mean() if a["input_type"] == "logits" else t.mean()
        pw = (1 - m) / m
    if a["input_type"] == "logits":
        lw = (pw - 1) * t + 1
        soft = log(1 + np.exp(-np.abs(x))) if a["robust"] else np.log1p(np.exp(-np.abs(x)))
        return (1 - t) * x - lw * (np.minimum(x, 0) - soft)
    return -(pw * t * log(x)) - (1 - t) * log(1 - x)


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
    if op == "identity":
        return x[0].copy()
    if op == "gather":
        return x[0][x[1]]
    if op in ("conv1d", "conv2d"):
        return conv(x[0], x[1], a, int(op[4]))
    if op in ("max_pool1d", "max_pool2d"):
        return max_pool(x[0], a, int(op[8]))
    if op == "robust_sqrt":
        return robust_sqrt(x[0], x[1])
    if op == "robust_log":
        return robust_log(x[0], x[1])
    if op == "robust_power":
        return robust_power(x[0], x[1], x[2])
    if op == "polynomial_features":
        from itertools import combinations_with_replacement
        samples, dims = x[0].shape
        data = np.hstack((np.ones((samples, 1), dtype=x[0].dtype), x[0]))
        powers = list(map(sum, combinations_with_replacement(np.eye(dims + 1, dtype=int), a["degree"])))[1:]
        return np.hstack([(data ** p).prod(1)[:, np.newaxis] for p in powers]).astype(x[0].dtype)
    if op == "cartesian_difference":
        return x[0][:, None, :] - x[1][None, :, :]
    if op == "stable_reciprocal":
        return stable_reciprocal(x[0], x[1])
    if op in ("floor_divide", "left_shift", "right_shift"):
        with np.errstate(all="ignore"):
            return getattr(np, op)(x[0], x[1])
    if op in ("shift_left", "shift_right"):
        return getattr(np, op.split("_")[1] + "_shift")(x[0], x[1])
    if op == "cross_entropy":
        return cross_entropy(x[0], x[1], a)
    if op == "binary_cross_entropy":
        return binary_cross_entropy(x[0], x[1], a)
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
