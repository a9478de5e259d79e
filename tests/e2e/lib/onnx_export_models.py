"""Small models exercising every ONNX export lowering (tests/e2e/onnx_export.sh).

Usage: onnx_export_models.py [OPS_FILE] (names of the registered operators: cases of operators this
build lacks are left out). Writes, into the current folder, for each case NAME: NAME.json (a structure JSON with constants,
no parameters), NAME.in.npz and NAME.in.json (the same inputs, for mithril-run and for
onnxruntime-node), and cases.txt: "NAME RTOL ATOL ROUNDTRIP MIN_OPSET" per line (ROUNDTRIP 0: our importer refuses the file by
design; below MIN_OPSET the export must be refused: an operator ONNX added later, such as GridSample in 16).
"""
import json
import sys

import numpy as np

rng = np.random.default_rng(0)
CASES = []


def const(dtype, values):
    a = np.asarray(values, dtype=dtype)
    data = [("nan" if np.isnan(v) else float(v)) if a.dtype.kind == "f" else (bool(v) if a.dtype == bool else int(v))
            for v in a.reshape(-1)]
    return {"dtype": str(a.dtype), "shape": list(a.shape), "data": data}


def case(name, inputs, nodes, outputs, constants=None, functions=None, rtol=1e-4, atol=1e-5, roundtrip=True, min_opset=13):
    """inputs: {name: (declared shape, array)}; nodes: [(name, op, inputs, attributes)]."""
    model = {"version": "1.1.0", "name": name,
             "inputs": {k: {"shape": shape, "dtype": str(a.dtype)} for k, (shape, a) in inputs.items()},
             "nodes": [{"name": n, "op": op, "inputs": ins, **({"attributes": at} if at else {})} for n, op, ins, at in nodes],
             "outputs": {o: o for o in outputs} if isinstance(outputs, list) else outputs}
    if constants:
        model["constants"] = {k: const(*v) for k, v in constants.items()}
    if functions:
        model["functions"] = functions
    json.dump(model, open(name + ".json", "w"))
    arrays = {k: a for k, (shape, a) in inputs.items()}
    np.savez(name + ".in.npz", **arrays)
    js = {}
    for k, a in arrays.items():
        data = a.reshape(-1).tolist()
        if a.dtype.kind == "f":
            data = ["nan" if np.isnan(v) else v for v in data]
        js[k] = {"dtype": "bool" if a.dtype == bool else str(a.dtype), "shape": list(a.shape),
                 "data": [int(v) for v in data] if a.dtype == bool else data}
    json.dump(js, open(name + ".in.json", "w"))
    CASES.append((name, rtol, atol, roundtrip, min_opset))


def f32(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


x = f32(3, 4)
y = f32(4)
case("elementwise",
     {"x": ([3, 4], x), "y": ([4], y), "pos": ([3, 4], f32(3, 4, low=0.5, high=3)), "c": ([3, 4], x > 0)},
     [("add", "add", ["x", "y"], None), ("sub", "subtract", ["x", "y"], None), ("mul", "multiply", ["x", "y"], None),
      ("div", "divide", ["x", "y"], None), ("pow", "power", ["pos", "y"], None), ("max", "maximum", ["x", "y"], None),
      ("min", "minimum", ["x", "y"], None), ("fdiv", "floor_divide", ["x", "fd"], None), ("neg", "negate", ["x"], None),
      ("abs", "abs", ["x"], None), ("exp", "exp", ["x"], None), ("log", "log", ["pos"], None),
      ("sqrt", "sqrt", ["pos"], None), ("sin", "sin", ["x"], None), ("cos", "cos", ["x"], None),
      ("where", "where", ["c", "x", "pos"], None), ("to_i32", "cast", ["x"], {"dtype": "int32"}),
      ("to_f64", "cast", ["x"], {"dtype": "float64"}), ("to_bool", "cast", ["to_i32"], {"dtype": "bool"})],
     ["add", "sub", "mul", "div", "pow", "max", "min", "fdiv", "neg", "abs", "exp", "log", "sqrt", "sin", "cos", "where",
      "to_i32", "to_f64", "to_bool"],
     constants={"fd": ("float32", [0.3, -0.7, 1.5, 0.0])})

ints = rng.integers(-40, 40, size=(3, 5)).astype(np.int32)
ints[0, 0] = -7
divisors = np.array([3, -3, 0, 7, -1], np.int32)
counts = np.array([0, 1, 31, 32, -1], np.int32)
for dt in ("int32", "int64"):
    case("integers_" + dt,
         {"a": ([3, 5], ints.astype(dt)), "d": ([5], divisors.astype(dt)), "s": ([5], counts.astype(dt))},
         [("fdiv", "floor_divide", ["a", "d"], None), ("shl", "shift_left", ["a", "s"], None),
          ("shr", "shift_right", ["a", "s"], None), ("add", "add", ["a", "d"], None), ("mul", "multiply", ["a", "d"], None),
          ("max", "maximum", ["a", "d"], None), ("abs", "abs", ["a"], None), ("neg", "negate", ["a"], None),
          ("to_f", "cast", ["a"], {"dtype": "float32"}), ("sum", "sum", ["a"], {"axes": [1]})],
         ["fdiv", "shl", "shr", "add", "mul", "max", "abs", "neg", "to_f", "sum"], rtol=0, atol=0)

case("activations", {"x": (["n", 6], f32(4, 6, low=-6, high=6))},
     [("relu", "relu", ["x"], None), ("sigmoid", "sigmoid", ["x"], None), ("tanh", "tanh", ["x"], None),
      ("gelu", "gelu", ["x"], None), ("gelu_tanh", "gelu", ["x"], {"approximate": True}),
      ("softplus", "softplus", ["x"], None), ("leaky", "leaky_relu", ["x"], {"slope": 0.2}),
      ("softmax", "softmax", ["x"], None), ("softmax0", "softmax", ["x"], {"axis": 0})],
     ["relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "softplus", "leaky", "softmax", "softmax0"])

case("matmul", {"a": ([2, 3, 4], f32(2, 3, 4)), "b": ([4, 5], f32(4, 5)), "v": ([4], f32(4)), "w": ([1, 4, 2], f32(1, 4, 2))},
     [("mm", "matmul", ["a", "b"], None), ("vm", "matmul", ["v", "b"], None), ("mv", "matmul", ["a", "v"], None),
      ("bmm", "matmul", ["a", "w"], None)], ["mm", "vm", "mv", "bmm"])

case("reductions", {"x": (["n", 3, 4], f32(2, 3, 4, low=0.5, high=1.5))},
     [("sum_all", "sum", ["x"], None), ("sum1", "sum", ["x"], {"axes": [1]}),
      ("sum_keep", "sum", ["x"], {"axes": [0, 2], "keepdims": True}), ("sum_none", "sum", ["x"], {"axes": []}),
      ("mean", "mean", ["x"], {"axes": -1}), ("max", "max", ["x"], {"axes": [1, 2]}),
      ("min", "min", ["x"], {"axes": [0], "keepdims": True}), ("prod", "prod", ["x"], {"axes": [2]}),
      ("var", "variance", ["x"], {"axes": [2]}), ("var1", "variance", ["x"], {"axes": [0, 1], "correction": 1.0, "keepdims": True}),
      ("var_all", "variance", ["x"], None)],
     ["sum_all", "sum1", "sum_keep", "sum_none", "mean", "max", "min", "prod", "var", "var1", "var_all"],
     roundtrip=False)  # a variance over the symbolic axis counts its elements with Size(x), which import needs static

case("shapes", {"x": (["n", 3, 4, 5], f32(2, 3, 4, 5)), "y": ([2, 3, 4, 5], f32(2, 3, 4, 5))},
     [("r", "reshape", ["y"], {"shape": [6, -1]}), ("t", "transpose", ["x"], None),
      ("t2", "transpose", ["x"], {"axes": [0, 2, -1, 1]}), ("cat", "concat", ["x", "x"], {"axis": -1}),
      ("f", "flatten", ["x"], {"start_dim": 1, "end_dim": 2}), ("f_all", "flatten", ["y"], None),
      ("f_tail", "flatten", ["x"], {"start_dim": 1})],
     ["r", "t", "t2", "cat", "f", "f_all", "f_tail"])

case("nn", {"x": ([2, 4, 9], f32(2, 4, 9)), "img": (["b", 2, 7, 8], f32(3, 2, 7, 8)), "idx": ([2, 2], np.array([[0, -1], [1, 2]], np.int64)),
            "p": ([5, 3], f32(5, 3)), "q": ([4, 3], f32(4, 3)), "t": ([3, 4], f32(3, 4, low=-0.2, high=0.2))},
     [("id", "identity", ["x"], None), ("g", "gather", ["p", "idx"], None),
      ("c1", "conv1d", ["x", "w1"], {"stride": [2], "padding": [1, 2], "dilation": [2], "groups": 2}),
      ("c2", "conv2d", ["img", "w2"], {"padding": [1, 1, 0, 2], "stride": [1, 2]}),
      ("mp1", "max_pool1d", ["x"], {"kernel_size": [3], "stride": [2], "padding": [1, 1]}),
      ("mp2", "max_pool2d", ["img"], {"kernel_size": [2, 3], "stride": [2, 2], "padding": [1, 0, 1, 1], "dilation": [1, 2]}),
      ("mp2r", "max_pool2d", ["x"], {"kernel_size": [2, 2], "stride": [1, 2]}),
      ("rsqrt", "robust_sqrt", ["t", "th"], None), ("rlog", "robust_log", ["t", "th"], None),
      ("rpow", "robust_power", ["t", "e", "th"], None), ("srec", "stable_reciprocal", ["t", "th"], None),
      ("poly2", "polynomial_features", ["p"], None), ("poly3", "polynomial_features", ["q"], {"degree": 3}),
      ("cdiff", "cartesian_difference", ["p", "q"], None)],
     ["id", "g", "c1", "c2", "mp1", "mp2", "mp2r", "rsqrt", "rlog", "rpow", "srec", "poly2", "poly3", "cdiff"],
     constants={"w1": ("float32", f32(6, 2, 3)), "w2": ("float32", f32(4, 2, 3, 3)), "th": ("float32", 0.1),
                "e": ("float32", [0.5, 1.5, 2.0, 3.0])})

logits = f32(4, 3, 2, low=-3, high=3)
probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
cls = np.array([[0, 2], [1, 1], [2, 0], [1, 2]], np.int64)
soft = rng.uniform(0, 1, size=(4, 3, 2)).astype(np.float32)
bin_t = rng.integers(0, 2, size=(4, 3, 2)).astype(np.float32)
sig = (1 / (1 + np.exp(-logits))).astype(np.float32)
case("losses", {"x": ([4, 3, 2], logits), "p": ([4, 3, 2], probs.astype(np.float32)), "lp": ([4, 3, 2], np.log(probs).astype(np.float32)),
                "t": ([4, 2], cls), "s": ([4, 3, 2], soft), "b": ([4, 3, 2], bin_t), "sig": ([4, 3, 2], sig)},
     [("ce", "cross_entropy", ["x", "t"], None),
      ("ce_w", "cross_entropy", ["x", "t"], {"weights": [0.5, 1.0, 2.0]}),
      ("ce_p", "cross_entropy", ["p", "t"], {"input_type": "probs", "robust": True, "threshold": 1e-3}),
      ("ce_lp", "cross_entropy", ["lp", "t"], {"input_type": "log_probs", "auto_weights": True}),
      ("ce_soft", "cross_entropy", ["x", "s"], {"categorical": False, "weights": [1.0, 2.0, 3.0]}),
      ("ce_soft_p", "cross_entropy", ["p", "s"], {"categorical": False, "input_type": "probs", "auto_weights": True}),
      ("bce", "binary_cross_entropy", ["x", "b"], None),
      ("bce_w", "binary_cross_entropy", ["x", "s"], {"pos_weight": 2.0, "robust": True, "threshold": 1e-4}),
      ("bce_auto", "binary_cross_entropy", ["x", "b"], {"auto_pos_weight": True}),
      ("bce_p", "binary_cross_entropy", ["sig", "b"], {"input_type": "probs", "auto_pos_weight": True})],
     ["ce", "ce_w", "ce_p", "ce_lp", "ce_soft", "ce_soft_p", "bce", "bce_w", "bce_auto", "bce_p"])

# A model file's function operator, used twice, and expanded on export.
# Sizes read from shapes (Python Mithril's Size, Length and RNN cells): known ones become constants,
# the symbolic batch "n" a Shape at run time, which our importer refuses by design (a shape read
# at run time: it asks for fixed input shapes or --freeze).
case("shape_readers", {"x": (["n", 1, 3], f32(2, 1, 3)), "state": ([4, 1, 3], f32(4, 1, 3)), "m": ([3, 5], f32(3, 5)),
                       "i": (["n", 2], np.array([[1, -2], [3, 4]], np.int64))},
     [("head", "slice_at_dim", ["state", "x"], {"keep": "before"}), ("tail", "slice_at_dim", ["state", "x"], {"keep": "after"}),
      ("cols", "slice_at_dim", ["m", "state"], {"keep": "after", "axis": -1, "like_axis": -1}),
      ("count", "dim_size", ["x"], {"axis": None, "dtype": "float32"}), ("rows", "dim_size", ["i"], {"axis": 0}),
      ("width", "dim_size", ["m"], {"axis": 1, "dtype": "int32"}),
      ("eye", "eye_of_dim", ["x"], {"axis": 0, "dtype": "float32"}), ("eye_all", "eye_of_dim", ["m"], {"axis": None, "dtype": "int64"}),
      ("third", "split_section", ["m"], {"sections": 2, "index": 1, "axis": -1}), ("half", "split_section", ["i"], {"sections": 2, "index": 1})],
     ["head", "tail", "cols", "count", "rows", "width", "eye", "eye_all", "third", "half"], roundtrip=False)

case("functions", {"x": (["n", 4], f32(3, 4))},
     [("a", "t.scaled_tanh", ["x"], {"k": 3.0}), ("b", "t.scaled_tanh", ["a"], None), ("s", "sum", ["b"], {"axes": [1], "keepdims": True})],
     {"y": "s", "a": "a"},
     functions={"t.scaled_tanh": {"inputs": ["x"], "attributes": {"k": 1.0},
                                  "nodes": [{"name": "m", "op": "multiply", "inputs": ["x", "@k"]},
                                            {"name": "t", "op": "tanh", "inputs": ["m"]}], "output": "t"}})

# --- operators added for ONNX (issue 14): written only where this build registers them ---
registered = set(open(sys.argv[1]).read().split()) if len(sys.argv) > 1 else None


def ops_case(name, inputs, nodes, outputs, **kw):
    ops = {n[1] for n in nodes}
    if registered is not None and not ops <= registered:
        return
    case(name, inputs, nodes, outputs, **kw)


u = f32(3, 4, low=-0.9, high=0.9)
v = f32(3, 4, low=-0.9, high=0.9)
v[0, 0] = u[0, 0]
ops_case("nn_math", {"x": ([3, 4], u), "y": ([3, 4], v), "big": ([3, 4], f32(3, 4, low=1.1, high=3))},
         [("lsm", "log_softmax", ["x"], {"axis": 0}), ("prelu", "prelu", ["x", "slope"], None),
          ("elu", "elu", ["x"], {"alpha": 0.7}), ("selu", "selu", ["x"], None), ("celu", "celu", ["x"], {"alpha": 2.0}),
          ("hsig", "hard_sigmoid", ["x"], {"alpha": 0.3, "beta": 0.4}), ("hswish", "hard_swish", ["big"], None),
          ("softsign", "softsign", ["x"], None), ("trelu", "thresholded_relu", ["x"], {"alpha": 0.2}),
          ("shrink", "shrink", ["x"], {"bias": 0.1, "lambd": 0.3}), ("mish", "mish", ["x"], None),
          ("erf", "erf", ["x"], None), ("floor", "floor", ["big"], None), ("ceil", "ceil", ["big"], None),
          ("round", "round", ["halves"], None), ("sign", "sign", ["x"], None), ("recip", "reciprocal", ["big"], None),
          ("tan", "tan", ["x"], None), ("asin", "asin", ["x"], None), ("acos", "acos", ["x"], None), ("atan", "atan", ["x"], None),
          ("sinh", "sinh", ["x"], None), ("cosh", "cosh", ["x"], None), ("asinh", "asinh", ["x"], None),
          ("acosh", "acosh", ["big"], None), ("atanh", "atanh", ["x"], None),
          ("ratio", "divide", ["x", "zs"], None), ("nan", "isnan", ["ratio"], None), ("inf", "isinf", ["ratio"], None),
          ("pinf", "isinf", ["ratio"], {"detect_negative": False}),
          ("eq", "equal", ["x", "y"], None), ("lt", "less", ["x", "y"], None), ("le", "less_equal", ["x", "y"], None),
          ("gt", "greater", ["x", "y"], None), ("ge", "greater_equal", ["x", "y"], None),
          ("and", "logical_and", ["lt", "ge"], None), ("or", "logical_or", ["lt", "eq"], None),
          ("xor", "logical_xor", ["le", "ge"], None), ("not", "logical_not", ["lt"], None),
          ("clip", "clip", ["x"], {"min": -0.5, "max": 0.5}), ("clip_lo", "clip", ["x"], {"min": -0.1}),
          ("mod", "mod", ["big", "x"], None), ("fmod", "mod", ["big", "x"], {"fmod": True}),
          ("amax", "argmax", ["x"], {"axis": 1, "keepdims": False}), ("amin", "argmin", ["x"], {"axis": 0, "select_last_index": True}),
          ("hmax", "hardmax", ["x"], {"axis": 0}), ("ein", "einsum", ["x", "y"], {"equation": "ij, kj -> ik"})],
         ["lsm", "prelu", "elu", "selu", "celu", "hsig", "hswish", "softsign", "trelu", "shrink", "mish", "erf", "floor", "ceil",
          "round", "sign", "recip", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "nan", "inf", "pinf",
          "eq", "lt", "le", "gt", "ge", "and", "or", "xor", "not", "clip", "clip_lo", "mod", "fmod", "amax", "amin", "hmax", "ein"],
         constants={"slope": ("float32", [0.1, 0.2, 0.3, 0.4]), "zs": ("float32", [0.0, 1.0, 2.0, 0.0]),
                    "halves": ("float32", [[0.5, 1.5, 2.5, -0.5], [-1.5, 0.4, 0.6, 3.0], [2.0, -2.5, 7.5, -7.5]])})

ops_case("nn_math_f64", {"x": ([3, 4], u.astype(np.float64)), "i": ([5], np.array([7, -7, 7, -7, 5], np.int32))},
         [("celu", "celu", ["x"], {"alpha": 2.0}), ("imod", "mod", ["i", "d"], None), ("ifmod", "mod", ["i", "d"], {"fmod": True})],
         ["celu", "imod", "ifmod"], constants={"d": ("int32", [3, 3, -3, -3, 0])})

ops_case("pools_norms",
         {"x": (["n", 3, 8, 8], f32(2, 3, 8, 8)), "s": ([2, 3, 9], f32(2, 3, 9)), "v": ([1, 2, 4, 4, 4], f32(1, 2, 4, 4, 4))},
         [("ap2", "avg_pool2d", ["x"], {"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1, 1, 1]}),
          ("ap2i", "avg_pool2d", ["x"], {"kernel_size": [3, 2], "stride": [2, 2], "padding": [1, 0, 1, 1], "count_include_pad": True,
                                         "ceil_mode": True}),
          ("ap1", "avg_pool1d", ["s"], {"kernel_size": [2], "stride": [2]}),
          ("ap3", "avg_pool3d", ["v"], {"kernel_size": [2, 2, 2], "stride": [2, 1, 2]}),
          ("mp3", "max_pool3d", ["v"], {"kernel_size": [2, 2, 2], "stride": [1, 2, 2], "padding": [1, 0, 0, 0, 1, 1]}),
          ("mp2n", "max_pool2d", ["x"], {"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1, 1, 1], "pad_with_neg_inf": True,
                                         "ceil_mode": True}),
          ("c3", "conv3d", ["v", "w3"], {"padding": [1, 1, 0, 0, 1, 0]}),
          ("ct1", "conv_transpose1d", ["s", "wt1"], {"stride": [2], "padding": [1, 0], "output_padding": [1]}),
          ("ct2", "conv_transpose2d", ["x", "wt2"], {"stride": [2, 1], "padding": [0, 1, 1, 0], "groups": 3}),
          ("ct3", "conv_transpose3d", ["v", "wt3"], {"dilation": [1, 2, 1]}),
          ("bn", "batch_norm", ["x", "sc", "bi", "mu", "var"], {"epsilon": 1e-3}),
          ("inn", "instance_norm", ["x", "sc", "bi"], None),
          ("ln", "layer_norm", ["s", "lsc", "lbi"], None), ("ln2", "layer_norm", ["x", "sc2", "bi2"], {"axis": 2})],
         ["ap2", "ap2i", "ap1", "ap3", "mp3", "mp2n", "c3", "ct1", "ct2", "ct3", "bn", "inn", "ln", "ln2"],
         constants={"w3": ("float32", f32(3, 2, 2, 3, 2)), "wt1": ("float32", f32(3, 2, 3)), "wt2": ("float32", f32(3, 1, 2, 2)),
                    "wt3": ("float32", f32(2, 2, 2, 2, 2)), "sc": ("float32", f32(3)), "bi": ("float32", f32(3)),
                    "mu": ("float32", f32(3)), "var": ("float32", f32(3, low=0.5, high=2)), "lsc": ("float32", f32(9)),
                    "lbi": ("float32", f32(9)), "sc2": ("float32", f32(8, 8)), "bi2": ("float32", f32(8, 8))},
         atol=1e-4)

img = f32(1, 8, 2, 3)
ops_case("indexing",
         {"x": ([3, 4, 5], f32(3, 4, 5)), "c": ([3, 1], f32(3, 1)), "ie": ([3, 2, 5], rng.integers(-4, 4, size=(3, 2, 5)).astype(np.int64)),
          "upd": ([3, 2, 5], f32(3, 2, 5)), "ind": ([2, 2], np.array([[0, 1], [2, -1]], np.int64)), "img": ([1, 8, 2, 3], img),
          "cls": ([4], np.array([0, 3, -1, 2], np.int64)), "sq": ([1, 2, 4, 6], f32(1, 2, 4, 6))},
         [("sl", "slice", ["x"], {"starts": [0, 1], "ends": [2, -1], "axes": [0, 2]}),
          ("slr", "slice", ["x"], {"starts": [-1, 3], "ends": [-9223372036854775807, 0], "axes": [1, 2], "steps": [-1, -2]}),
          ("sla", "slice", ["x"], {"starts": [1], "ends": [3]}),
          ("ex", "expand", ["c"], {"shape": [2, 3, 4]}), ("ti", "tile", ["c"], {"repeats": [2, 3]}),
          ("pc", "pad", ["x"], {"pads": [1, 0, 2, 0, 1, -1], "value": 1.5}), ("pr", "pad", ["x"], {"pads": [0, 1, 2, 0, 2, 1], "mode": "reflect"}),
          ("pe", "pad", ["x"], {"pads": [1, 1, 1, 1, 1, 1], "mode": "edge"}),
          ("ga", "gather", ["x", "ind"], {"axis": 1}), ("ge", "gather_elements", ["x", "ie"], {"axis": 1}),
          ("se", "scatter_elements", ["x", "ie2", "upd"], {"axis": 1}),
          ("gn", "gather_nd", ["x", "ind"], None), ("sn", "scatter_nd", ["x", "ind2", "upd2"], None),
          ("oh", "one_hot", ["cls", "ohv"], {"depth": 4}), ("oh0", "one_hot", ["cls", "ohv"], {"depth": 5, "axis": 0}),
          ("tu", "trilu", ["x"], {"k": 1}), ("tl", "trilu", ["x"], {"upper": False, "k": -1}),
          ("cs", "cumsum", ["x"], {"axis": 1}), ("cse", "cumsum", ["x"], {"axis": -1, "exclusive": True, "reverse": True}),
          ("rn", "resize", ["img"], {"sizes": [1, 8, 4, 7], "mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}),
          ("rl", "resize", ["img"], {"sizes": [1, 8, 5, 7], "scales": [1.0, 1.0, 2.5, 2.5], "mode": "linear"}),
          ("rc", "resize", ["img"], {"sizes": [1, 8, 4, 6], "mode": "cubic", "coordinate_transformation_mode": "align_corners"}),
          ("tkv", "top_k_values", ["x"], {"k": 2, "axis": 1}), ("tki", "top_k_indices", ["x"], {"k": 3, "largest": False}),
          ("d2s", "depth_to_space", ["img"], {"blocksize": 2}), ("d2sc", "depth_to_space", ["img"], {"blocksize": 2, "mode": "CRD"}),
          ("s2d", "space_to_depth", ["sq"], {"blocksize": 2}), ("s2dc", "space_to_depth", ["sq"], {"blocksize": 2, "mode": "CRD"})],
         ["sl", "slr", "sla", "ex", "ti", "pc", "pr", "pe", "ga", "ge", "se", "gn", "sn", "oh", "oh0", "tu", "tl", "cs", "cse", "rn", "rl",
          "rc", "tkv", "tki", "d2s", "d2sc", "s2d", "s2dc"],
         constants={"ie2": ("int64", [[[k % 4 for k in range(5)], [(k + 1 + i) % 4 for k in range(5)]] for i in range(3)]),
                    "ind2": ("int64", [[0, 1], [2, 3]]), "upd2": ("float32", f32(2, 5)), "ohv": ("float32", [-1.0, 2.0])})

ops_case("grid_sample",
         {"img": ([2, 3, 4, 5], f32(2, 3, 4, 5)), "grid": ([2, 3, 2, 2], f32(2, 3, 2, 2, low=-1.3, high=1.3))},
         [("gsb", "grid_sample", ["img", "grid"], None),
          ("gsn", "grid_sample", ["img", "grid"], {"mode": "nearest", "padding_mode": "border", "align_corners": True}),
          ("gsc", "grid_sample", ["img", "grid"], {"mode": "bicubic", "padding_mode": "reflection"})],
         ["gsb", "gsn", "gsc"], min_opset=16)
ops_case("conformance_ops",
         {"m": ([2, 3, 3], f32(2, 3, 3)), "seq": ([4, 3, 2], f32(4, 3, 2)), "tok": ([2, 6], rng.integers(0, 5, size=(2, 6)).astype(np.int64))},
         [("det", "det", ["m"], None),
          ("mu", "max_unpool", ["pooled", "where"], {"kernel_size": [2, 2], "stride": [2, 2]}),
          ("rs", "reverse_sequence", ["seq", "lens"], None),
          ("tf", "tf_idf_vectorizer", ["tok"], {"mode": "TFIDF", "min_gram_length": 1, "max_gram_length": 2, "max_skip_count": 1,
                                                "ngram_counts": [0, 3], "ngram_indexes": [2, 0, 1, 4, 3], "pool_int64s": [1, 2, 3, 1, 2, 4, 0],
                                                "weights": [0.5, 1.0, 2.0, 1.5, 3.0]})],
         # (no max_unpool with output_size: onnxruntime reads the indices as positions in output_shape, where
         # ONNX's own test data, which we follow, pads the unpooled result at the ends)
         ["det", "mu", "rs", "tf"],
         constants={"lens": ("int64", [3, 1, 4]), "pooled": ("float32", f32(1, 2, 2, 2)), "where": ("int64", [[[[0, 3], [9, 14]], [[16, 19], [26, 31]]]])})

with open("cases.txt", "w") as f:
    for name, rtol, atol, roundtrip, min_opset in CASES:
        f.write(f"{name} {rtol} {atol} {int(roundtrip)} {min_opset}\n")
print(len(CASES), "cases", file=sys.stderr)
