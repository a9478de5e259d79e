#!/usr/bin/env python3
"""Checks dicts written by `mithril-migrate --to python-mithril` with the real Python Mithril (run
it inside the oracle root, see ../shared/python-mithril/oracle/README.md; scripts/python-mithril-
roundtrip calls it):

    ../shared/python-mithril/oracle/run.sh scripts/python-mithril-export-check.py DIR

For every DIR/NAME.dict.json it loads the dict with Python Mithril's own dict_to_model, compiles it
with the NumpyBackend in float64 (shapes from NAME.params.npz and NAME.inputs.npz, found next to it
or, for a case exported from a Python-made one, in DIR/../from_python/), evaluates it on those values and writes Python's outputs to DIR/NAME.python.npz. A dict Python refuses, or whose
parameters Python names differently from the .npz, fails the case. Prints one line per case and
exits 1 if any failed.
"""
import glob
import json
import os
import sys

import numpy as np

import mithril as ml
from mithril.utils.dict_conversions import dict_to_model

import python_mithril_repairs  # noqa: F401 (its numpy cholesky cannot run a Cholesky model without it)


def check(base):
    with open(base + ".dict.json") as f:
        d = json.load(f)
    values = base if os.path.exists(base + ".params.npz") else os.path.join(
        os.path.dirname(base), "..", "from_python", os.path.basename(base))
    params = dict(np.load(values + ".params.npz"))
    inputs = dict(np.load(values + ".inputs.npz"))
    be = ml.NumpyBackend(dtype=ml.float64)
    shapes = {k: list(v.shape) for k, v in {**params, **inputs}.items()}
    # A list input of the source (format 1.2.0) is saved as KEY_0, KEY_1, ...: Python takes a list.
    lists = []
    if os.path.exists(base + ".source.json"):
        with open(base + ".source.json") as f:
            lists = [k for k, v in json.load(f).get("inputs", {}).items() if v.get("list")]
    for key in lists:
        count = 0
        while f"{key}_{count}" in inputs:
            count += 1
        inputs[key] = [inputs.pop(f"{key}_{i}") for i in range(count)]
        for i in range(count):
            shapes.pop(f"{key}_{i}", None)
    pm = ml.compile(dict_to_model(d), be, shapes=shapes, jit=False, inference=True)
    trainable = set(pm.randomize_params())
    if trainable != set(params):
        raise AssertionError(f"Python's parameters {sorted(trainable)} are not the .npz's {sorted(params)}")
    data = {k: [be.array(x) for x in v] if k in lists else be.array(v) for k, v in inputs.items()}
    out = pm.evaluate({k: be.array(v) for k, v in params.items()}, data)
    np.savez(base + ".python.npz", **{k: np.asarray(v) for k, v in out.items()})


def main():
    folder = sys.argv[1]
    failed = 0
    names = sorted(glob.glob(os.path.join(folder, "*.dict.json")))
    for path in names:
        base = path[: -len(".dict.json")]
        try:
            check(base)
            print(f"ok   {os.path.basename(base)}")
        except Exception as e:  # noqa: BLE001 (each failure is reported, then the exit code says so)
            failed += 1
            print(f"FAIL {os.path.basename(base)}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    print(f"{len(names) - failed} of {len(names)} exported dicts load and run in Python Mithril")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
