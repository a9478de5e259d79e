#!/usr/bin/env bash
# Python Mithril's example dicts migrated with the CLI: every case migrates, its model names all in
# the python-mithril step's list (Concat over a run-time list becomes a list input, format 1.2.0,
# fed as input_0, input_1, ...); then each migrated model is evaluated in float64 on the case's
# inputs and compared with Python's results. Every count is pinned.
set -euo pipefail
BIN="${MITHRIL_BIN:?}"
PY="${PYTHON:-/usr/bin/python3}"
EXAMPLES="${MITHRIL_SHARED:-$MITHRIL_TESTDATA/../../shared}/python-mithril/models_directed_examples.json"
if [ ! -f "$EXAMPLES" ]; then
  # CI has them (.ci/run sets MITHRIL_REQUIRE_PYTHON_EXAMPLES): there, missing is a failure.
  [ -z "${MITHRIL_REQUIRE_PYTHON_EXAMPLES:-}" ] || { echo "FAIL: $EXAMPLES not found, and MITHRIL_REQUIRE_PYTHON_EXAMPLES is set"; exit 1; }
  echo "SKIPPED: $EXAMPLES not found (set MITHRIL_SHARED)"
  exit 77  # SKIP_RETURN_CODE (tests/CMakeLists.txt): CTest reports the test as skipped
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$PY" - "$EXAMPLES" "$work" <<'PY'
import json, os, sys
cases = json.load(open(sys.argv[1]))
for name, case in cases.items():
    os.makedirs(os.path.join(sys.argv[2], "models"), exist_ok=True)
    json.dump(case["model"], open(os.path.join(sys.argv[2], "models", name + ".json"), "w"))
    values = {k: v for k, v in case["inputs"].items() if k != "is_list"}
    values.update(case.get("static_keys", {}))
    json.dump(values, open(os.path.join(sys.argv[2], name + ".inputs.json"), "w"))
    json.dump(case["results"]["eval"], open(os.path.join(sys.argv[2], name + ".expected.json"), "w"))
    # Outputs Python's test leaves out of its evaluation.
    json.dump(case.get("discard_keys", []), open(os.path.join(sys.argv[2], name + ".discard.json"), "w"))
PY
set +e
"$BIN/mithril-migrate" --jobs 2 --json "$work/models" > "$work/report.json"
rc=$?
set -e
[ "$rc" = 0 ] || { echo "expected exit 0 (every case migrates), got $rc"; exit 1; }
"$PY" - "$work/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
failed = [f for f in r["files"] if f["status"] == "failed"]
unknown = [f for f in failed if "unknown Python Mithril model name" in f["error"]]
other = [f for f in failed if f not in unknown]
print("migrated %d, outside the list %d, other failures %d" % (r["counts"]["migrated"], len(unknown), len(other)))
for f in other:
    print("  unexpected:", f["error"])
assert not other and not unknown and r["counts"]["migrated"] == 99
PY
# A second run changes nothing.
set +e
"$BIN/mithril-migrate" --check "$work/models" > "$work/check.txt" 2>/dev/null
rc=$?
set -e
[ "$rc" = 0 ] || { echo "--check: expected exit 0 (every case is at the current version), got $rc"; exit 1; }
[ ! -s "$work/check.txt" ] || { echo "--check after migrating still lists files"; exit 1; }

passed=0; failed=0; refused=0
for model in "$work"/models/*.json; do
  name=$(basename "$model" .json)
  grep -q '"version"' "$model" || continue
  # The case's values split as the migrated model declares them: parameters and inputs.
  "$PY" - "$model" "$work/$name.inputs.json" "$work/$name" <<'PY'
import json, sys
import numpy as np
model, values, out = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
params = set(model.get("parameters", {}))
inputs = set(model.get("inputs", {}))
# A list input (format 1.2.0) is fed as its elements: input_0, input_1, ...
lists = {k for k, d in model.get("inputs", {}).items() if d.get("list")}
feed = {}
for k, v in values.items():
    if k in lists:
        feed.update({"%s_%d" % (k, i): np.array(x) for i, x in enumerate(v)})
    elif k in inputs:
        feed[k] = np.array(v)
np.savez(out + ".params.npz", **{k: np.array(v) for k, v in values.items() if k in params})
np.savez(out + ".inputs.npz", **feed)
PY
  if "$BIN/mithril-run" "$model" --params "$work/$name.params.npz" --inputs "$work/$name.inputs.npz" --dtype float64 \
       -o "$work/$name.out.npz" 2>"$work/$name.err" &&
     "$PY" - "$work/$name.expected.json" "$work/$name.out.npz" "$work/$name.discard.json" <<'PY'
import json, sys
import numpy as np
exp, got = json.load(open(sys.argv[1])), np.load(sys.argv[2])
discarded = set(json.load(open(sys.argv[3])))
assert set(exp) == set(got.files) - discarded, (sorted(exp), sorted(got.files))
for k, v in exp.items():
    e, g = np.array(v.get("numpy", v) if isinstance(v, dict) else v, dtype=float), np.array(got[k], dtype=float)
    assert e.shape == g.shape, (k, e.shape, g.shape)
    d = np.abs(e - g)
    # Python Mithril's rule: all within 1e-14 absolute, or all within 1e-14 relative.
    assert np.all(d < 1e-14) or np.all(d < np.abs(e) * 1e-14) or np.array_equal(e, g, equal_nan=True), (k, d.max())
PY
  then passed=$((passed + 1))
  elif [ "$name" = test_polynomial_2D_Degree_2_multilabel ] && grep -qE "shape \[2(,5)?\], expected \[1" "$work/$name.err"; then
    # Its args say dimension 1 but its weight is [2, 5]: the real Python Mithril refuses it too
    # ("Possible values mismatch!"); the stale case is refused here with the shapes named.
    refused=$((refused + 1))
  elif { [ "$name" = test_tsne_core_1 ] || [ "$name" = test_tsne_1 ]; } && grep -q "p_joint" "$work/$name.err"; then
    # They feed p_joint under an older Mithril's internal name (TsnePJoint_0_output), which this
    # snapshot's TSNECore does not have either: its p_joint input is missing.
    refused=$((refused + 1))
  else failed=$((failed + 1)); echo "FAIL $name: $(head -c 300 "$work/$name.err")"; fi
done
echo "mithril-run on migrated examples (float64, Python Mithril's tolerance): $passed passed, $refused refused as Python refuses them, $failed failed"
[ "$passed" = 96 ] && [ "$refused" = 3 ] && [ "$failed" = 0 ]
