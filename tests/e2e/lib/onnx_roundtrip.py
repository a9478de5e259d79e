"""ONNX -> ours -> ONNX on ONNX's backend test data (tests/e2e/onnx_export.sh).

Usage: onnx_roundtrip.py CONVERT ORT_RUN_JS NODE_PATH CASE_DIR...
Each case folder holds model.onnx and test_data_set_*/{input,output}_*.pb. The model is imported
and exported again by `mithril-convert model.onnx -o rt.onnx`; the new file must pass ONNX's full
check (opsets up to 17) and, run by onnxruntime-node on every data set, give the expected outputs
(ONNX's rule: rtol 1e-3, atol 1e-7, or the folder's data.json; atol raised to 1e-6 for float32).
Cases the importer refuses are counted, not failed. Prints one line per case that fails and a
summary; exits 1 when any converted case fails.
"""
import glob
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

convert, ort_js, node_path = sys.argv[1:4]
cases = sys.argv[4:]
refused, passed, failed, no_kernel, not_here = [], [], [], [], []


def load_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t.name, numpy_helper.to_array(t)


for case in cases:
    name = os.path.basename(case.rstrip("/"))
    model = onnx.load(os.path.join(case, "model.onnx"))
    r = subprocess.run([convert, os.path.join(case, "model.onnx"), "-o", "rt.onnx", "--force"], capture_output=True, text=True)
    if r.returncode != 0:
        refused.append((name, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "?"))
        continue
    try:
        rt = onnx.load("rt.onnx")
        if rt.opset_import[0].version <= onnx.defs.onnx_opset_version():
            onnx.checker.check_model(rt, full_check=True)
    except Exception as e:  # the exporter wrote a file ONNX rejects
        failed.append((name, "checker: %s" % str(e).splitlines()[0]))
        continue
    rtol, atol = 1e-3, 1e-7
    if os.path.exists(os.path.join(case, "data.json")):
        d = json.load(open(os.path.join(case, "data.json")))
        rtol, atol = d.get("rtol", rtol), d.get("atol", atol)
    inputs = [i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    outputs = [o.name for o in model.graph.output]
    rt_inputs = [i.name for i in rt.graph.input]
    rt_outputs = [o.name for o in rt.graph.output]
    problem = None
    for ds in sorted(glob.glob(os.path.join(case, "test_data_set_*"))):
        feeds = {}
        ins = sorted(glob.glob(os.path.join(ds, "input_*.pb")), key=lambda p: int(p.rsplit("_", 1)[1][:-3]))
        # by position: the importer may rename inputs ("0" -> "_0"); frozen ones are gone
        for k, p in enumerate(ins):
            _, a = load_pb(p)
            if k < len(rt_inputs) and len(rt_inputs) == len(inputs):
                feeds[rt_inputs[k]] = a
        half = {onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16}
        if any(a.dtype == np.float16 for a in feeds.values()) or any(i.type.tensor_type.elem_type in half for i in rt.graph.input):
            problem = "skip: float16/bfloat16 inputs (this harness passes data as JSON numbers to onnxruntime-node)"
            break
        js = {k: {"dtype": "bool" if a.dtype == bool else str(a.dtype), "shape": list(a.shape),
                  "data": [("nan" if np.isnan(v) else float(v)) if a.dtype.kind == "f" else int(v) for v in a.reshape(-1)]}
              for k, a in feeds.items()}
        json.dump(js, open("rt_in.json", "w"))
        r = subprocess.run(["node", ort_js, "rt.onnx", "rt_in.json", "rt_out.json"], capture_output=True, text=True,
                           env=dict(os.environ, NODE_PATH=node_path))
        if r.returncode != 0:
            problem = "onnxruntime: " + r.stderr.strip()[:200]
            break
        got = json.load(open("rt_out.json"))
        outs = sorted(glob.glob(os.path.join(ds, "output_*.pb")), key=lambda p: int(p.rsplit("_", 1)[1][:-3]))
        for k, p in enumerate(outs):
            _, want = load_pb(p)
            key = rt_outputs[k] if k < len(rt_outputs) else None
            if key not in got:
                problem = "output %d missing" % k
                break
            g = got[key]
            have = np.array([float(v) for v in g["data"]], dtype=np.float64).reshape(g["shape"])
            a_tol = max(atol, 1e-6) if want.dtype == np.float32 else atol
            if have.shape != want.shape or not np.allclose(have, want.astype(np.float64), rtol=rtol, atol=a_tol, equal_nan=True):
                err = np.max(np.abs(have - want)) if have.shape == want.shape else "shape %s vs %s" % (have.shape, want.shape)
                problem = "output %d differs (%s)" % (k, err)
                break
        if problem:
            break
    if problem and problem.startswith("skip:"):
        not_here.append((name, problem))
    elif problem and "Could not find an implementation" in problem:
        no_kernel.append((name, problem))  # valid ONNX whose types this onnxruntime build has no kernel for
    else:
        (failed if problem else passed).append((name, problem))

for name, why in failed:
    print("FAIL %s: %s" % (name, why))
for name, why in no_kernel:
    print("no onnxruntime kernel %s: %s" % (name, why))
print("onnx round trip: %d cases, %d refused by import or export, %d exported again and match, %d do not, "
      "%d valid files onnxruntime has no kernel for, %d with float16/bfloat16 inputs not run" %
      (len(cases), len(refused), len(passed), len(failed), len(no_kernel), len(not_here)))
if os.environ.get("ROUNDTRIP_VERBOSE"):
    for name, why in refused:
        print("refused %s: %s" % (name, why))
sys.exit(1 if failed else 0)
