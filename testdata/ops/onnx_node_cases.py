#!/usr/bin/env python3
"""ONNX's own node test data for our shape/indexing operators, as operator cases.

Usage: onnx_node_cases.py NODE_DATA_DIR OUT_DIR

For every folder of NODE_DATA_DIR (Debian's libonnx-testdata: .../data/node/test_*) whose model is
one of the ONNX operators below, writes OUT_DIR/cases.jsonl, one line per test data set:
  {"name": "test_slice", "op": "slice", "attrs": {...}, "inputs": [...], "outputs": [...]}
with inputs and expected outputs as raw C-order files {"file", "dtype", "shape"} (bool as one byte).
Shape operands (Slice's starts, Pad's pads, Resize's scales, ...) become attributes the way the
operator contract of issue 14 says the importer folds them; a folder this cannot map (another
operator, an input it does not understand) is skipped and listed on stderr with the reason.
Needs python3-onnx (onnx.numpy_helper).
"""
import glob
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def ints(a):
    return [int(v) for v in np.asarray(a).reshape(-1)]


def floats(a):
    return [float(v) for v in np.asarray(a).reshape(-1)]


def map_node(node, values, rank):
    """(our op, attrs, names of data inputs) for one ONNX node; `values` maps input names to arrays."""
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    attrs = {k: v.decode() if isinstance(v, bytes) else v for k, v in attrs.items()}
    ins = list(node.input)
    given = lambda i: i < len(ins) and ins[i] != "" and ins[i] in values  # noqa: E731
    t = node.op_type
    if t == "Slice":
        a = {"starts": ints(values[ins[1]]), "ends": ints(values[ins[2]])}
        if given(3):
            a["axes"] = ints(values[ins[3]])
        if given(4):
            a["steps"] = ints(values[ins[4]])
        return "slice", a, ins[:1]
    if t == "Gather":
        return "gather", {"axis": attrs.get("axis", 0)}, ins[:2]
    if t == "GatherElements":
        return "gather_elements", {"axis": attrs.get("axis", 0)}, ins[:2]
    if t in ("ScatterElements", "Scatter"):
        return "scatter_elements", {"axis": attrs.get("axis", 0), "reduction": attrs.get("reduction", "none")}, ins[:3]
    if t == "GatherND":
        return "gather_nd", {"batch_dims": attrs.get("batch_dims", 0)}, ins[:2]
    if t == "ScatterND":
        return "scatter_nd", {"reduction": attrs.get("reduction", "none")}, ins[:3]
    if t == "Expand":
        return "expand", {"shape": ints(values[ins[1]])}, ins[:1]
    if t == "Tile":
        return "tile", {"repeats": ints(values[ins[1]])}, ins[:1]
    if t == "Pad":
        a = {"pads": ints(values[ins[1]]), "mode": attrs.get("mode", "constant")}
        if given(2):
            a["value"] = floats(values[ins[2]])[0]
        return "pad", a, ins[:1]
    if t == "Trilu":
        a = {"upper": bool(attrs.get("upper", 1))}
        if given(1):
            a["k"] = ints(values[ins[1]])[0]
        return "trilu", a, ins[:1]
    if t == "CumSum":
        return "cumsum", {"axis": ints(values[ins[1]])[0], "exclusive": bool(attrs.get("exclusive", 0)),
                          "reverse": bool(attrs.get("reverse", 0))}, ins[:1]
    if t == "OneHot":
        return "one_hot", {"depth": ints(values[ins[1]])[0], "axis": attrs.get("axis", -1)}, [ins[0], ins[2]]
    if t in ("DepthToSpace", "SpaceToDepth"):
        op = "depth_to_space" if t == "DepthToSpace" else "space_to_depth"
        return op, {"blocksize": attrs["blocksize"], "mode": attrs.get("mode", "DCR")}, ins[:1]
    if t == "Einsum":
        return "einsum", {"equation": attrs["equation"]}, ins
    if t == "TopK":
        return None  # two outputs: mapped per output by the caller
    if t == "Resize":
        a = {k: attrs[k] for k in ("mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a",
                                   "extrapolation_value") if k in attrs}
        if "exclude_outside" in attrs:
            a["exclude_outside"] = bool(attrs["exclude_outside"])
        shape = values[ins[0]].shape
        if given(1) and values[ins[1]].size:
            a["roi"] = floats(values[ins[1]])
        if given(3) and values[ins[3]].size:
            a["sizes"] = ints(values[ins[3]])
        elif given(2) and values[ins[2]].size:
            a["scales"] = floats(values[ins[2]])
            a["sizes"] = [int(np.floor(d * s)) for d, s in zip(shape, a["scales"])]
        else:
            raise ValueError("neither scales nor sizes")
        return "resize", a, ins[:1]
    raise ValueError("operator " + t + " is not one of ours")


def write(out_dir, stem, array):
    array = np.asarray(array)
    np.ascontiguousarray(array).tofile(os.path.join(out_dir, stem + ".bin"))  # 0-d stays 0-d in "shape"
    return {"file": stem + ".bin", "dtype": array.dtype.name, "shape": list(array.shape)}


def main():
    node_dir, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    lines = []
    for folder in sorted(glob.glob(os.path.join(node_dir, "test_*"))):
        name = os.path.basename(folder)
        try:
            model = onnx.load(os.path.join(folder, "model.onnx"))
        except Exception as e:  # noqa: BLE001 - reported and skipped
            print(f"{name}: skipped: {e}", file=sys.stderr)
            continue
        nodes = [n for n in model.graph.node if n.op_type != "Constant"]
        if len(nodes) != 1:
            continue
        node = nodes[0]
        if node.op_type not in ("Slice", "Gather", "GatherElements", "ScatterElements", "Scatter", "GatherND",
                                "ScatterND", "Expand", "Tile", "Pad", "Trilu", "CumSum", "OneHot", "DepthToSpace",
                                "SpaceToDepth", "TopK", "Resize", "Einsum"):
            continue
        try:
            constants = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in model.graph.node
                         if n.op_type == "Constant"}
        except (TypeError, IndexError) as e:
            print(f"{name}: skipped: a Constant node: {e}", file=sys.stderr)
            continue
        graph_inputs = [i.name for i in model.graph.input]
        for k, data_set in enumerate(sorted(glob.glob(os.path.join(folder, "test_data_set_*")))):
            values = dict(constants)
            for i, path in enumerate(sorted(glob.glob(os.path.join(data_set, "input_*.pb")))):
                tensor = onnx.TensorProto()
                with open(path, "rb") as f:
                    tensor.ParseFromString(f.read())
                values[tensor.name or graph_inputs[i]] = numpy_helper.to_array(tensor)
            outputs = []
            for path in sorted(glob.glob(os.path.join(data_set, "output_*.pb"))):
                tensor = onnx.TensorProto()
                with open(path, "rb") as f:
                    tensor.ParseFromString(f.read())
                outputs.append(numpy_helper.to_array(tensor))
            try:
                if node.op_type == "TopK":
                    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
                    a = {"k": ints(values[node.input[1]])[0], "axis": attrs.get("axis", -1),
                         "largest": bool(attrs.get("largest", 1)), "sorted": bool(attrs.get("sorted", 1))}
                    mapped = [("top_k_values", a, node.input[:1], outputs[0]), ("top_k_indices", a, node.input[:1], outputs[1])]
                else:
                    op, a, data_inputs = map_node(node, values, None)
                    mapped = [(op, a, data_inputs, outputs[0])]
            except (KeyError, ValueError, IndexError) as e:
                print(f"{name}: skipped: {e}", file=sys.stderr)
                continue
            for j, (op, a, data_inputs, expected) in enumerate(mapped):
                case_id = f"{name}_{k}_{j}"
                inputs = [write(out_dir, f"{case_id}_in{i}", values[n]) for i, n in enumerate(data_inputs)]
                lines.append(json.dumps({"name": f"{name}/{os.path.basename(data_set)}", "op": op, "attrs": a,
                                         "inputs": inputs, "outputs": [write(out_dir, f"{case_id}_out", expected)]}))
    with open(os.path.join(out_dir, "cases.jsonl"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
