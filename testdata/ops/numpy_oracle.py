#!/usr/bin/env python3
"""numpy oracle for tests/ops: computes what every operator case should produce.

Usage: numpy_oracle.py DIR

DIR/cases.jsonl has one case per line:
  {"id": 3, "op": "add", "attrs": {...}, "inputs": [{"file": "in_3_0.bin", "dtype": "float32", "shape": [2, 3]}]}
Input files hold raw C-order native-endian elements (bool as one byte 0/1). For each case this
writes DIR/out_<id>.bin the same way and a line "<id> <dtype> <rank> <dims...>" to
DIR/results.txt, or "<id> error <message>" when numpy refuses the case. Where an integer result
was rounded from a value halfway between two integers, DIR/ties_<id>.bin marks those elements
(one byte each): either neighbor is right.

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


# --- ONNX nn/math ops (issue 14)

def log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def arg_reduction(x, a, fn):
    axis = a["axis"]
    if a["select_last_index"]:
        flipped = np.flip(x, axis)
        result = x.shape[axis] - 1 - fn(flipped, axis=axis)
    else:
        result = fn(x, axis=axis)
    if a["keepdims"]:
        result = np.expand_dims(result, axis)
    return result.astype(np.int64)


def clip(x, a):
    # ONNX Clip: bounds in the input's type (integer bounds saturate to its range), numpy's min(max()).
    def bound(v):
        if v is None:
            return None
        if np.issubdtype(x.dtype, np.integer):
            info = np.iinfo(x.dtype)
            v = min(max(v, info.min), info.max)
        return x.dtype.type(v)
    lo, hi = bound(a["min"]), bound(a["max"])
    if lo is not None:
        x = np.where(x < lo, lo, x)
    if hi is not None:
        x = np.where(x > hi, hi, x)
    return x


def erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64)).astype(x.dtype)


def activation(op, x, a):
    t = x.dtype.type
    if op == "elu":
        return np.where(x > 0, x, t(a["alpha"]) * np.expm1(x))
    if op == "selu":
        return np.where(x > 0, t(a["gamma"]) * x, t(a["gamma"]) * t(a["alpha"]) * np.expm1(x))
    if op == "celu":
        alpha = t(a["alpha"])
        return np.maximum(t(0), x) + np.minimum(t(0), alpha * np.expm1(x / alpha))
    if op == "hard_sigmoid":
        return np.maximum(t(0), np.minimum(t(1), t(a["alpha"]) * x + t(a["beta"])))
    if op == "hard_swish":
        return x * np.maximum(t(0), np.minimum(t(1), x / t(6) + t(0.5)))
    if op == "softsign":
        return x / (t(1) + np.abs(x))
    if op == "thresholded_relu":
        return np.where(x > t(a["alpha"]), x, t(0))
    if op == "shrink":
        lambd, bias = t(a["lambd"]), t(a["bias"])
        return np.where(x < -lambd, x + bias, np.where(x > lambd, x - bias, t(0)))
    if op == "mish":
        return x * np.tanh(np.logaddexp(t(0), x))
    return None


def pool(x, a, rank, average):
    # Windows over a padded copy: explicit padding holds 0 (Python Mithril's max pool, and the sum
    # of an average pool) or is ignored (pad_with_neg_inf); ceil_mode's extra positions are ignored.
    k, s, d, p = a["kernel_size"], a["stride"], a["dilation"], a["padding"]
    ignore = -np.inf if np.issubdtype(x.dtype, np.floating) else np.iinfo(x.dtype).min
    zero_pad = average or not a.get("pad_with_neg_inf", False)
    # count: 1 where an average counts the position (a product of one mask per axis).
    count = np.ones(x.shape[:x.ndim - rank] + (1,) * rank, dtype=np.float64)
    sizes = []
    for i in range(rank):
        axis = x.ndim - rank + i
        length = x.shape[axis]
        span = length + p[2 * i] + p[2 * i + 1] - d[i] * (k[i] - 1) - 1
        out = (-(-span // s[i]) if a["ceil_mode"] else span // s[i]) + 1
        if a["ceil_mode"] and (out - 1) * s[i] >= length + p[2 * i]:
            out -= 1
        sizes.append(out)
        extra = max(0, (out - 1) * s[i] + d[i] * (k[i] - 1) + 1 - (length + p[2 * i] + p[2 * i + 1]))
        x = pad_axis(x, axis, p[2 * i], p[2 * i + 1], 0 if zero_pad else ignore)
        x = pad_axis(x, axis, 0, extra, ignore)
        mask = np.concatenate([np.full(p[2 * i], 1.0 if a.get("count_include_pad", False) else 0.0), np.ones(length),
                               np.full(p[2 * i + 1], 1.0 if a.get("count_include_pad", False) else 0.0), np.zeros(extra)])
        count = count * mask.reshape((-1,) + (1,) * (rank - 1 - i))
    out = np.zeros(x.shape[:x.ndim - rank] + tuple(sizes), dtype=x.dtype)
    for idx in np.ndindex(*sizes):
        window = (Ellipsis,) + tuple(slice(idx[i] * s[i], idx[i] * s[i] + d[i] * (k[i] - 1) + 1, d[i]) for i in range(rank))
        patch = x[window]
        flat = patch.reshape(patch.shape[:patch.ndim - rank] + (-1,))
        if average:
            c = count[window].reshape(flat.shape)
            total = np.where(c > 0, flat, 0).sum(axis=-1, dtype=np.float64)
            out[(Ellipsis,) + idx] = total / c.sum(axis=-1)
        else:
            out[(Ellipsis,) + idx] = flat.max(axis=-1)
    return out


def conv_transpose(x, w, a, rank):
    # Scatter form: full[n, g*og + o, i*s + k*d] += x[n, g*cg + c, i] * w[g*cg + c, o, k], then crop the padding.
    s, d, p, op, groups = a["stride"], a["dilation"], a["padding"], a["output_padding"], a["groups"]
    n, c = x.shape[:2]
    cg, og = c // groups, w.shape[1]
    full_sizes = [(x.shape[2 + i] - 1) * s[i] + d[i] * (w.shape[2 + i] - 1) + 1 + op[i] for i in range(rank)]
    full = np.zeros([n, og * groups] + full_sizes, dtype=x.dtype)
    for g in range(groups):
        xg = x[:, g * cg:(g + 1) * cg]
        for tap in np.ndindex(*w.shape[2:]):
            contribution = np.einsum("nc...,co->no...", xg, w[(slice(g * cg, (g + 1) * cg), slice(None)) + tap])
            target = (slice(None), slice(g * og, (g + 1) * og)) + tuple(
                slice(tap[i] * d[i], tap[i] * d[i] + (x.shape[2 + i] - 1) * s[i] + 1, s[i]) for i in range(rank))
            full[target] += contribution
    crop = (slice(None), slice(None)) + tuple(slice(p[2 * i], full_sizes[i] - p[2 * i + 1]) for i in range(rank))
    return full[crop]


def normalize(x, axes, epsilon):
    mean = x.mean(axis=axes, keepdims=True)
    deviation = x - mean
    variance = (deviation * deviation).mean(axis=axes, keepdims=True)
    return deviation * (1 / np.sqrt(variance + x.dtype.type(epsilon)))


def tsne_row(d, i, sigma):
    """One row of t-SNE's conditional probabilities (Python Mithril's numpy backend); sigma is the
    row's own, or every row's (Python then divides entry j by 2 sigma_j^2)."""
    two_sigma_sq = 2.0 * np.square(sigma)
    assert np.all(two_sigma_sq != 0)
    w = -d / two_sigma_sq
    e = np.exp(w - np.max(w))
    e[i] = 0.0
    return e / np.sum(e)


def tsne_sigma(perplexity, target, max_it=1000):
    """The bisection of Python Mithril's binary_search (lower 0, upper 1001), widened on an exact hit."""
    it, lower, upper, guess, hit = 0, 0.0, 1001.0, None, False
    while it <= max_it and lower != upper:
        guess = (lower + upper) / 2
        val = perplexity(guess)
        if val == target:
            hit = True
            break
        it += 1
        if val > target:
            upper = guess
        elif val < target:
            lower = guess

    def widen(start, boundary):
        nonlocal it
        reference = perplexity(start)
        if perplexity(boundary) == reference:
            return boundary
        g = (start + boundary) / 2
        while start != g != boundary and it <= max_it:
            if perplexity(g) == reference:
                start = g
            else:
                boundary = g
            g = (start + boundary) / 2
            it += 1
        return start

    if hit and it <= max_it and lower != upper:
        upper = widen(guess, upper)
        lower = widen(guess, lower)
    return (lower + upper) / 2


def tsne_p_joint(d, target, threshold):
    n = d.shape[0]

    def perplexity(i):
        def f(sigma):
            p = np.clip(tsne_row(d[i], i, sigma), threshold, 1 - threshold)
            return 2 ** -np.sum(p * np.log2(p))
        return f

    sigmas = np.array([tsne_sigma(perplexity(i), target) for i in range(n)])
    p = np.stack([tsne_row(d[i], i, sigmas) for i in range(n)])
    return (p + p.T) / (2.0 * n)


def compute_nn(op, a, x):
    per_channel = (1, -1) + (1,) * (x[0].ndim - 2)
    if op == "batch_norm":
        mean, var, scale, bias = (v.reshape(per_channel) for v in (x[3], x[4], x[1], x[2]))
        return (x[0] - mean) / np.sqrt(var + x[0].dtype.type(a["epsilon"])) * scale + bias
    if op == "instance_norm":
        axes = tuple(range(2, x[0].ndim))
        return normalize(x[0], axes, a["epsilon"]) * x[1].reshape(per_channel) + x[2].reshape(per_channel)
    if op == "scaled_dot_product_attention":  # Python Mithril's numpy backend
        q, k, v = x
        length, keys = q.shape[-2], k.shape[-2]
        scale = 1 / np.sqrt(q.shape[-1]) if a["scale"] is None else a["scale"]
        bias = np.zeros((length, keys), dtype=q.dtype)
        if a["is_causal"]:
            bias = np.where(np.tril(np.ones((length, keys), dtype=bool)), bias, -np.inf).astype(q.dtype)
        w = q @ np.swapaxes(k, -2, -1) * q.dtype.type(scale) + bias
        e = np.exp(w - np.max(w, axis=-1, keepdims=True))
        return (e / np.sum(e, axis=-1, keepdims=True)) @ v
    if op == "tsne_p_joint":
        return tsne_p_joint(x[0], x[1][()], x[2][()])
    if op == "group_norm":  # Python Mithril's GroupNorm: (B, groups, -1) runs
        runs = x[0].reshape(x[0].shape[0], a["num_groups"], -1)
        mean = runs.mean(axis=-1, keepdims=True)
        variance = runs.var(axis=-1, keepdims=True)
        return ((runs - mean) / np.sqrt(variance + x[0].dtype.type(a["epsilon"]))).reshape(x[0].shape)
    if op == "layer_norm":
        axes = tuple(range(a["axis"] % x[0].ndim, x[0].ndim))
        return normalize(x[0], axes, a["epsilon"]) * x[1] + x[2]
    return None
# --- ONNX shape/indexing ops (issue 14)

def onnx_pad(x, a):
    # Negative pads crop first; the rest is numpy.pad in the mode (ONNX's reference uses numpy.pad).
    rank = x.ndim
    pads = a["pads"]
    crop = tuple(slice(max(0, -pads[i]), x.shape[i] - max(0, -pads[i + rank])) for i in range(rank))
    x = x[crop]
    widths = [(max(0, pads[i]), max(0, pads[i + rank])) for i in range(rank)]
    if a["mode"] == "constant":
        return np.pad(x, widths, mode="constant", constant_values=np.array(a["value"]).astype(x.dtype))
    if a["mode"] == "wrap":
        # Periodic, as onnxruntime wraps: numpy.pad's "wrap" stops being periodic once a pad on
        # both sides exceeds the axis (it wraps the already padded array).
        for axis, (before, after) in enumerate(widths):
            x = np.take(x, np.arange(-before, x.shape[axis] + after) % max(x.shape[axis], 1), axis=axis)
        return x
    return np.pad(x, widths, mode=a["mode"])


def depth_to_space(x, b, mode):
    n, c, h, w = x.shape
    if mode == "DCR":
        y = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    else:
        y = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return y.reshape(n, c // (b * b), h * b, w * b)


def space_to_depth(x, b, mode):
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // b, b, w // b, b)
    y = y.transpose(0, 3, 5, 1, 2, 4) if mode == "DCR" else y.transpose(0, 1, 3, 5, 2, 4)
    return y.reshape(n, c * b * b, h // b, w // b)


def gather_elements(x, idx, axis):
    axis %= x.ndim
    window = tuple(slice(None) if i == axis else slice(0, idx.shape[i]) for i in range(x.ndim))
    return np.take_along_axis(x[window], np.where(idx < 0, idx + x.shape[axis], idx), axis=axis)


def reduce_into(y, t, u, reduction):
    if reduction == "none":
        y[t] = u
    elif reduction == "add":
        y[t] = y[t] + u
    elif reduction == "mul":
        y[t] = y[t] * u
    elif reduction == "max":
        y[t] = np.maximum(y[t], u)
    else:
        y[t] = np.minimum(y[t], u)


def scatter_elements(x, idx, upd, a):
    y = x.copy()
    axis = a["axis"] % x.ndim
    for p in np.ndindex(*idx.shape):
        t = list(p)
        t[axis] = int(idx[p])
        reduce_into(y, tuple(t), upd[p], a["reduction"])
    return y


def gather_nd(x, idx, b):
    batch = idx.shape[:b]
    out = np.empty(idx.shape[:-1] + x.shape[b + idx.shape[-1]:], dtype=x.dtype)
    for p in np.ndindex(*idx.shape[:-1]):
        out[p] = x[p[:b] + tuple(int(i) for i in idx[p])]
    assert batch == x.shape[:b]
    return out


def scatter_nd(x, idx, upd, reduction):
    y = x.copy()
    for p in np.ndindex(*idx.shape[:-1]):
        reduce_into(y, tuple(int(i) for i in idx[p]), upd[p], reduction)
    return y


def one_hot(idx, values, a):
    depth = a["depth"]
    i = idx.astype(np.int64)
    i = np.where(i < 0, i + depth, i)
    hot = i[..., None] == np.arange(depth)
    out = np.where(hot, values[1], values[0]).astype(values.dtype)
    return np.moveaxis(out, -1, a["axis"] % (idx.ndim + 1))


def cumsum(x, a):
    axis = a["axis"]
    if a["reverse"]:
        x = np.flip(x, axis)
    y = np.cumsum(x, axis=axis, dtype=x.dtype)
    if a["exclusive"]:
        y = np.concatenate([np.zeros_like(np.take(y, [0], axis=axis)), np.delete(y, -1, axis=axis)], axis=axis)
    return np.flip(y, axis) if a["reverse"] else y


def top_k(x, a, want_indices):
    axis, k = a["axis"] % x.ndim, a["k"]
    moved = np.moveaxis(x, axis, -1)
    values = np.empty(moved.shape[:-1] + (k,), dtype=x.dtype)
    indices = np.empty(moved.shape[:-1] + (k,), dtype=np.int64)
    for p in np.ndindex(*moved.shape[:-1]):
        line = [v.item() for v in moved[p]]
        if a["largest"]:
            key = lambda i: (not math.isnan(line[i]), 0 if math.isnan(line[i]) else -line[i], i)
        else:
            key = lambda i: (math.isnan(line[i]), 0 if math.isnan(line[i]) else line[i], i)
        order = sorted(range(len(line)), key=key)[:k]
        indices[p] = order
        values[p] = [moved[p][i] for i in order]
    return np.moveaxis(indices if want_indices else values, -1, axis)


# Resize as ONNX's reference (onnx/backend/test/case/node/resize.py) computes it: every output
# point interpolated one axis at a time (innermost first) from the n points nearest to its source
# coordinate in the edge-padded axis.
def resize_coeffs(a, ratio):
    mode = a["mode"]
    if mode == "nearest":
        if ratio == 1:
            return np.array([0.0, 1.0])
        nm = a["nearest_mode"]
        if nm == "round_prefer_floor":
            return np.array([ratio <= 0.5, ratio > 0.5], dtype=np.float64)
        if nm == "round_prefer_ceil":
            return np.array([ratio < 0.5, ratio >= 0.5], dtype=np.float64)
        return np.array([1.0, 0.0]) if nm == "floor" else np.array([0.0, 1.0])
    if mode == "linear":
        return np.array([1 - ratio, ratio])
    A = a["cubic_coeff_a"]
    return np.array([((A * (ratio + 1) - 5 * A) * (ratio + 1) + 8 * A) * (ratio + 1) - 4 * A,
                     ((A + 2) * ratio - (A + 3)) * ratio * ratio + 1,
                     ((A + 2) * (1 - ratio) - (A + 3)) * (1 - ratio) * (1 - ratio) + 1,
                     ((A * ((1 - ratio) + 1) - 5 * A) * ((1 - ratio) + 1) + 8 * A) * ((1 - ratio) + 1) - 4 * A])


def resize_1d(data, scale, x, roi, a):
    ctm = a["coordinate_transformation_mode"]
    width = len(data)
    out_width = scale * width
    if ctm == "align_corners":
        x_ori = 0.0 if out_width == 1 else x * (width - 1) / (out_width - 1)
    elif ctm == "asymmetric":
        x_ori = x / scale
    elif ctm == "tf_crop_and_resize":
        if out_width == 1:
            x_ori = (roi[1] - roi[0]) * (width - 1) / 2
        else:
            x_ori = x * (roi[1] - roi[0]) * (width - 1) / (out_width - 1)
        x_ori += roi[0] * (width - 1)
        if x_ori < 0 or x_ori > width - 1:
            return a["extrapolation_value"]
    elif ctm == "tf_half_pixel_for_nn":
        x_ori = (x + 0.5) / scale
    elif ctm == "pytorch_half_pixel":
        x_ori = -0.5 if out_width == 1 else (x + 0.5) / scale - 0.5
    else:
        x_ori = (x + 0.5) / scale - 0.5
    x_ori = float(x_ori)
    ratio = 1 if x_ori.is_integer() else x_ori - math.floor(x_ori)
    coeffs = resize_coeffs(a, ratio)
    n = len(coeffs)
    pad = int(np.ceil(n / 2))
    padded = np.pad(np.asarray(data, dtype=np.float64), pad, mode="edge")
    xp = x_ori + pad
    idxes = sorted(sorted(range(len(padded)), key=lambda i: (abs(xp - i), i))[:n])
    if a["exclude_outside"]:
        for k, i in enumerate(idxes):
            if i - pad < 0 or i - pad >= width:
                coeffs[k] = 0
        coeffs = coeffs / coeffs.sum()
    return float(np.dot(coeffs, padded[idxes]))


def resize_nd(data, scales, x, roi, a):
    n = data.ndim
    if n == 1:
        return resize_1d(data, scales[0], x[0], roi, a)
    inner_roi = None if roi is None else np.concatenate([roi[1:n], roi[n + 1:]])
    rows = [resize_nd(data[i], scales[1:], x[1:], inner_roi, a) for i in range(data.shape[0])]
    return resize_1d(rows, scales[0], x[0], None if roi is None else [roi[0], roi[n]], a)


def resize(x, a):
    sizes = [(int(np.floor(x.shape[i] * a["scales"][i])) if a["scales"] else x.shape[i]) if s == -1 else s
             for i, s in enumerate(a["sizes"])]
    scales = np.array(a["scales"], dtype=np.float64) if a["scales"] else np.array(sizes) / np.array(x.shape)
    roi = np.array(a["roi"], dtype=np.float64) if a["roi"] else None
    out = np.zeros(sizes)
    for p in np.ndindex(*sizes):
        out[p] = resize_nd(x.astype(np.float64), scales, p, roi, a)
    if np.issubdtype(x.dtype, np.integer):
        info = np.iinfo(x.dtype)
        # A value halfway between two integers in exact arithmetic comes out of float64 a bit
        # above or below, by the order of the sums (numpy's differs with the CPU): either
        # neighbor is right there, and the C++ side accepts both where this marks a tie.
        TIES.append(np.abs(out - np.floor(out) - 0.5) < 1e-9)
        return np.clip(np.rint(out), info.min, info.max).astype(x.dtype)
    return out.astype(x.dtype)


def grid_sample(x, grid, a):
    # ONNX's reference algorithm, element by element in float64.
    n_, c_, h, w = x.shape
    _, oh, ow, _ = grid.shape
    align, mode, pad = a["align_corners"], a["mode"], a["padding_mode"]
    xs, gs = x.astype(np.float64), grid.astype(np.float64)
    lo_x, lo_y, hi_x, hi_y = (0, 0, w - 1, h - 1) if align else (-0.5, -0.5, w - 0.5, h - 0.5)

    def denorm(v, size):
        return (v + 1) / 2 * (size - 1) if align else ((v + 1) * size - 1) / 2

    def reflect(v, lo, hi):
        span = hi - lo
        if span <= 0:
            return lo
        if lo <= v <= hi:
            return v
        dx = lo - v if v < lo else v - hi
        k = math.floor(dx / span)
        r = dx - k * span
        if v < lo:
            return lo + r if k % 2 == 0 else hi - r
        return hi - r if k % 2 == 0 else lo + r

    def pixel(img, r, c):
        if pad == "zeros":
            return img[int(r), int(c)] if 0 <= r <= h - 1 and 0 <= c <= w - 1 else 0.0
        if pad == "reflection":
            r, c = reflect(r, lo_y, hi_y), reflect(c, lo_x, hi_x)
        return img[int(min(max(r, 0), h - 1)), int(min(max(c, 0), w - 1))]

    def cubic(t):
        A, t = -0.75, abs(t)
        return [((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A, ((A + 2) * t - (A + 3)) * t * t + 1,
                ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1, ((A * (2 - t) - 5 * A) * (2 - t) + 8 * A) * (2 - t) - 4 * A]

    out = np.zeros((n_, c_, oh, ow))
    for n in range(n_):
        for i in range(oh):
            for j in range(ow):
                px, py = denorm(gs[n, i, j, 0], w), denorm(gs[n, i, j, 1], h)
                if mode == "nearest":
                    px, py = float(np.rint(px)), float(np.rint(py))
                if not (lo_x <= px <= hi_x and lo_y <= py <= hi_y):
                    if pad == "border":
                        px, py = min(max(px, 0), w - 1), min(max(py, 0), h - 1)
                    elif pad == "reflection":
                        px, py = reflect(px, lo_x, hi_x), reflect(py, lo_y, hi_y)
                for c in range(c_):
                    img = xs[n, c]
                    if mode == "nearest":
                        v = pixel(img, math.trunc(py), math.trunc(px))
                    elif mode == "bilinear":
                        x1, y1 = math.floor(px), math.floor(py)
                        dx, dy = px - x1, py - y1
                        v = (1 - dy) * ((1 - dx) * pixel(img, y1, x1) + dx * pixel(img, y1, x1 + 1)) + \
                            dy * ((1 - dx) * pixel(img, y1 + 1, x1) + dx * pixel(img, y1 + 1, x1 + 1))
                    else:
                        x0, y0 = math.floor(px) - 1, math.floor(py) - 1
                        cx, cy = cubic(px - x0 - 1), cubic(py - y0 - 1)
                        v = sum(cy[r] * sum(cx[k] * pixel(img, y0 + r, x0 + k) for k in range(4)) for r in range(4))
                    out[n, c, i, j] = v
    return out.astype(x.dtype)


def reverse_sequence(x, lens, a):
    y = x.copy()
    for b, n in enumerate(lens):
        if a["batch_axis"] == 0:
            y[b, :n] = x[b, :n][::-1]
        else:
            y[:n, b] = x[:n, b][::-1]
    return y


def tf_idf_vectorizer(x, a):
    # The spec's wording: each n-gram of length min..max, its items skip + 1 apart for every skip
    # 0..max_skip_count (a unigram has no gaps: counted once), is looked up in the pool.
    pool, counts, idx = a["pool_int64s"], a["ngram_counts"], a["ngram_indexes"]
    grams, k = {}, 0
    for i, begin in enumerate(counts):
        end = counts[i + 1] if i + 1 < len(counts) else len(pool)
        for at in range(begin, end, i + 1):
            grams.setdefault(tuple(pool[at:at + i + 1]), k)
            k += 1
    rows = x.reshape(1, -1) if x.ndim == 1 else x
    out = np.zeros((len(rows), max(idx) + 1))
    for r, row in enumerate(rows):
        for n in range(a["min_gram_length"], a["max_gram_length"] + 1):
            for skip in range(a["max_skip_count"] + 1 if n > 1 else 1):
                for s in range(len(row) - (n - 1) * (skip + 1)):
                    g = tuple(int(row[s + j * (skip + 1)]) for j in range(n))
                    if g in grams:
                        out[r, idx[grams[g]]] += 1
    weights = np.ones(out.shape[1])
    for g, w in enumerate(a["weights"]):
        weights[idx[g]] = w
    if a["mode"] == "IDF":
        out = np.where(out > 0, weights, 0.0)
    elif a["mode"] == "TFIDF":
        out = out * weights
    return out.reshape(-1) if x.ndim == 1 else out


def gpr(op, x):
    """Python Mithril's numpy backend (cores/python/numpy/ops.py), with its None for a matrix that
    is not positive definite given as a matrix of NaN only, as our cholesky does; scipy's
    solve_triangular written as numpy.linalg.solve of the triangle (no scipy here)."""
    if op == "cholesky":
        try:
            return np.linalg.cholesky(x[0])
        except np.linalg.LinAlgError:
            return np.full_like(x[0], np.nan)
    L = x[1] if op != "gpr_v_outer" else x[2]
    L = None if np.all(np.isnan(L)) else np.tril(L)
    if op == "gpr_alpha":
        b, K_term = x[0], x[2]
        return np.linalg.solve(L.T, np.linalg.solve(L, b)) if L is not None else np.linalg.solve(K_term, b)
    if op == "gpr_eigvalsh":
        return np.diag(L).copy() if L is not None else np.clip(np.linalg.eigvalsh(x[0]), x[2], None)
    K, K_term = x[0], x[1]
    if L is not None:
        v = np.linalg.solve(L, K)
        return v.T @ v
    return K.T @ np.linalg.lstsq(K_term, K, rcond=None)[0]


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
    if op == "squeeze":
        return np.squeeze(x[0], axis=None if a["axes"] is None else tuple(a["axes"]))
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
        return np.take(x[0], x[1], axis=a["axis"])
    if op in ("conv1d", "conv2d"):
        return conv(x[0], x[1], a, int(op[4]))
    if op in ("max_pool1d", "max_pool2d") and not a["ceil_mode"] and not a["pad_with_neg_inf"]:
        return max_pool(x[0], a, int(op[8]))
    if op in ("max_pool1d", "max_pool2d", "max_pool3d"):
        return pool(x[0], a, int(op[8]), False)
    if op in ("avg_pool1d", "avg_pool2d", "avg_pool3d"):
        return pool(x[0], a, int(op[8]), True)
    if op == "conv3d":
        return conv(x[0], x[1], a, 3)
    if op in ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
        return conv_transpose(x[0], x[1], a, int(op[14]))
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
    return compute_onnx_math(op, a, x)


def compute_onnx_math(op, a, x):
    unary = {"floor": np.floor, "ceil": np.ceil, "round": np.round, "sign": np.sign, "reciprocal": np.reciprocal,
             "tan": np.tan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh,
             "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "isnan": np.isnan,
             "logical_not": np.logical_not, "erf": erf}
    if op in unary:
        return unary[op](x[0])
    binary = {"equal": np.equal, "less": np.less, "less_equal": np.less_equal, "greater": np.greater,
              "greater_equal": np.greater_equal, "logical_and": np.logical_and, "logical_or": np.logical_or,
              "logical_xor": np.logical_xor}
    if op in binary:
        return binary[op](x[0], x[1])
    if op == "isinf":
        return (np.isposinf(x[0]) & a["detect_positive"]) | (np.isneginf(x[0]) & a["detect_negative"])
    if op == "log_softmax":
        return log_softmax(x[0], a["axis"])
    if op == "hardmax":
        index = np.expand_dims(np.argmax(x[0], axis=a["axis"]), a["axis"])
        out = np.zeros_like(x[0])
        np.put_along_axis(out, index, 1, axis=a["axis"])
        return out
    if op == "argmax":
        return arg_reduction(x[0], a, np.argmax)
    if op == "argmin":
        return arg_reduction(x[0], a, np.argmin)
    if op == "clip":
        return clip(x[0], a)
    if op == "mod":
        return (np.fmod if a["fmod"] else np.mod)(x[0], x[1])
    if op == "prelu":
        return np.where(x[0] >= 0, x[0], x[1] * x[0])
    result = activation(op, x[0], a)
    if result is None:
        result = compute_nn(op, a, x)
    if result is not None:
        return result
    # --- ONNX shape/indexing ops (issue 14)
    if op == "slice":
        window = [slice(None)] * x[0].ndim
        axes = a["axes"] if a["axes"] is not None else list(range(len(a["starts"])))
        steps = a["steps"] if a["steps"] is not None else [1] * len(a["starts"])
        for axis, start, end, step in zip(axes, a["starts"], a["ends"], steps):
            window[axis] = slice(start, end, step)  # Python's slice clamping is ONNX's
        return x[0][tuple(window)]
    if op == "expand":
        return np.broadcast_to(x[0], np.broadcast_shapes(x[0].shape, tuple(a["shape"]))).copy()
    if op == "tile":
        return np.tile(x[0], a["repeats"]) if a["repeats"] else x[0].copy()
    if op == "pad":
        return onnx_pad(x[0], a)
    if op == "depth_to_space":
        return depth_to_space(x[0], a["blocksize"], a["mode"])
    if op == "space_to_depth":
        return space_to_depth(x[0], a["blocksize"], a["mode"])
    if op == "gather_elements":
        return gather_elements(x[0], x[1], a["axis"])
    if op == "scatter_elements":
        return scatter_elements(x[0], x[1], x[2], a)
    if op == "gather_nd":
        return gather_nd(x[0], x[1], a["batch_dims"])
    if op == "scatter_nd":
        return scatter_nd(x[0], x[1], x[2], a["reduction"])
    if op == "one_hot":
        return one_hot(x[0], x[1], a)
    if op == "trilu":
        return np.triu(x[0], a["k"]) if a["upper"] else np.tril(x[0], a["k"])
    if op == "cumsum":
        return cumsum(x[0], a)
    if op == "resize":
        return resize(x[0], a)
    if op == "einsum":
        return np.einsum(a["equation"].replace(" ", ""), *x)
    if op in ("top_k_values", "top_k_indices"):
        return top_k(x[0], a, op == "top_k_indices")
    if op == "grid_sample":
        return grid_sample(x[0], x[1], a)
    if op == "reverse_sequence":
        return reverse_sequence(x[0], x[1], a)
    if op == "tf_idf_vectorizer":
        return tf_idf_vectorizer(x[0], a).astype(np.float32)
    if op == "max_unpool":
        k, st, pad, sizes = a["kernel_size"], a["stride"] or [1] * len(a["kernel_size"]), a["padding"], a["output_size"]
        pad = pad or [0] * (2 * len(k))
        spatial = [(d - 1) * s + kk - pad[2 * i] - pad[2 * i + 1] for i, (d, s, kk) in enumerate(zip(x[0].shape[2:], st, k))]
        y = np.zeros(int(np.prod(x[0].shape[:2] + tuple(spatial))), x[0].dtype)
        y[x[1].reshape(-1)] = x[0].reshape(-1)
        y = y.reshape(x[0].shape[:2] + tuple(spatial))
        if sizes:  # zeros appended at the end of each spatial axis
            y = np.pad(y, [(0, 0), (0, 0)] + [(0, s - d) for s, d in zip(sizes, spatial)])
        return y
    if op == "det":
        return np.linalg.det(x[0].astype(np.float64)).astype(x[0].dtype)
    if op in ("cholesky", "gpr_alpha", "gpr_eigvalsh", "gpr_v_outer"):
        wide = [v.astype(np.float64) for v in x]
        return gpr(op, wide).astype(x[0].dtype)
    if op == "dim_size":
        return np.array(x[0].size if a["axis"] is None else x[0].shape[a["axis"]], dtype=a["dtype"])
    if op == "eye_of_dim":
        return np.eye(x[0].size if a["axis"] is None else x[0].shape[a["axis"]], dtype=a["dtype"])
    if op == "split_section":
        axis = a["axis"] % x[0].ndim
        n = x[0].shape[axis] // a["sections"]
        window = [slice(None)] * x[0].ndim
        window[axis] = slice(a["index"] * n, (a["index"] + 1) * n)
        return x[0][tuple(window)]
    if op == "slice_at_dim":
        n = x[1].shape[a["like_axis"]]
        window = [slice(None)] * x[0].ndim
        window[a["axis"]] = slice(None, n) if a["keep"] == "before" else slice(n, None)
        return x[0][tuple(window)]
    raise ValueError("the oracle does not know operator " + op)


TIES = []  # set by an integer resize: which of its elements are halfway between two integers


def main():
    folder = sys.argv[1]
    lines = []
    with open(folder + "/cases.jsonl") as f:
        for line in f:
            case = json.loads(line)
            inputs = [np.fromfile(folder + "/" + i["file"], dtype=np.dtype(i["dtype"])).reshape(i["shape"])
                      for i in case["inputs"]]
            TIES.clear()
            try:
                with np.errstate(all="ignore"):
                    out = np.asarray(compute(case["op"], case["attrs"], inputs))
            except Exception as e:  # reported to the C++ side, which fails the case
                lines.append(f'{case["id"]} error {type(e).__name__}: {e}'.replace("\n", " "))
                continue
            np.ascontiguousarray(out).tofile(f'{folder}/out_{case["id"]}.bin')
            if TIES and TIES[0].any():
                np.ascontiguousarray(TIES[0], dtype=np.uint8).tofile(f'{folder}/ties_{case["id"]}.bin')
            lines.append(" ".join([str(case["id"]), out.dtype.name, str(out.ndim)] + [str(d) for d in out.shape]))
    with open(folder + "/results.txt", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
