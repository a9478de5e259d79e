#!/usr/bin/env bash
# Replays the cases made with the real Python Mithril (scripts/python-mithril-cases.py, checked in
# under testdata/python-mithril/), without the oracle:
#  - from_python/: each dict Python's model_to_dict wrote is migrated with mithril-migrate, run
#    with mithril-run in float64 on the case's parameters (Python's names) and inputs, and must
#    match Python's outputs within 1e-10; the few refused on purpose must fail with their reason.
#  - to_python/: each dict our `mithril-migrate --to python-mithril` wrote (scripts/python-mithril-
#    roundtrip) must still be written byte for byte the same (so the oracle's verdict, recorded
#    next to it, still holds), and Python's recorded outputs for it must match ours within 1e-10,
#    and those of the exported dict read back here as a Python Mithril dict; each recorded
#    refusal must still be refused with the same message.
source "$(dirname "$0")/lib/common.bash"
MIGRATE="$MITHRIL_BIN/mithril-migrate"
CASES="$MITHRIL_TESTDATA/python-mithril"

# Cases refused on purpose, with a fragment of the error each must give.
declare -A REFUSED=(
)

# run_with VALUES MODEL OUT: mithril-run MODEL in float64 on VALUES.params.npz and VALUES.inputs.npz
# (a model with no runtime inputs runs without --inputs: numpy.savez of nothing is an empty zip,
# its 22-byte end record alone); true when OUT was written.
run_with() {
  local values=$1 model=$2 out=$3
  local inputs=(--inputs "$values.inputs.npz")
  [[ $(stat -c %s "$values.inputs.npz") -gt 22 ]] || inputs=()
  expect 0 "$RUN" "$model" --params "$values.params.npz" "${inputs[@]}" --dtype float64 -o "$out"
  [[ -f $out ]]
}

# compare_later LIST EXPECTED.npz GOT.npz NAME, then compare_all LIST WHAT: one Python process
# compares every queued pair (same names, shapes and values within 1e-10, NaN matching NaN; a
# process per pair took most of this test's time on a loaded machine); each pair is one check,
# a pair that differs fails naming NAME and WHAT; $compared is how many matched.
compare_later() {
  printf '%s\t%s\t%s\n' "$2" "$3" "$4" >>"$1"
}

compare_all() {
  local list=$1 what=$2 verdict name reason
  compared=0
  [[ -s $list ]] || return 0
  while IFS=$'\t' read -r verdict name reason; do
    checks=$((checks + 1))
    if [[ $verdict == ok ]]; then compared=$((compared + 1)); else fail "$name: $what ($reason)"; fi
  done < <("$PYTHON" - "$list" <<'PY'
import sys
import numpy as np

def differs(expected, got):
    exp, got = np.load(expected), np.load(got)
    if sorted(exp.files) != sorted(got.files):
        return f"outputs {sorted(exp.files)} against {sorted(got.files)}"
    for k in exp.files:
        e, g = exp[k], got[k]
        if e.shape != g.shape:
            return f"{k}: shape {e.shape} against {g.shape}"
        if e.dtype == bool or g.dtype == bool:
            if not np.array_equal(e, g):
                return f"{k}: values differ"
            continue
        e, g = e.astype(np.float64), g.astype(np.float64)
        if not np.allclose(e, g, rtol=1e-10, atol=1e-10, equal_nan=True):
            return f"{k}: max abs error {np.nanmax(np.abs(e - g))}"
    return None

for line in open(sys.argv[1]):
    expected, got, name = line.rstrip("\n").split("\t")
    why = differs(expected, got)
    print(f"ok\t{name}\t" if why is None else f"differ\t{name}\t{why}")
PY
)
}

passed=0
refused=0
total=0
for dict in "$CASES"/from_python/*.json; do
  name=$(basename "$dict" .json)
  [[ $name != MANIFEST ]] || continue
  total=$((total + 1))
  base="$CASES/from_python/$name"
  cp "$dict" "$WORK/$name.json"
  if [[ -n ${REFUSED[$name]+x} ]]; then
    expect_error "${REFUSED[$name]}" -- "$MIGRATE" --no-backup -q "$WORK/$name.json"
    refused=$((refused + 1))
    continue
  fi
  expect 0 "$MIGRATE" --no-backup -q "$WORK/$name.json"
  grep -q '"version"' "$WORK/$name.json" || continue
  run_with "$base" "$WORK/$name.json" "$WORK/$name.out.npz" || continue
  compare_later "$WORK/from_python.pairs" "$base.expected.npz" "$WORK/$name.out.npz" "$name"
done
compare_all "$WORK/from_python.pairs" "outputs differ from Python's"
passed=$compared
echo "from Python: $total dicts, $passed migrated and matched Python's outputs, $refused refused on purpose"
checks=$((checks + 1))
[[ $total -ge 156 ]] || fail "expected at least 156 cases in $CASES/from_python, found $total"

# To Python: each recorded export is written again byte for byte, our outputs on the model it came
# from match what Python computed for the exported dict, and each recorded refusal is repeated.
exported=0
matched=0
refusals=0
for source in "$CASES"/to_python/*.source.json; do
  name=$(basename "$source" .source.json)
  base="$CASES/to_python/$name"
  cp "$source" "$WORK/$name.export.json"
  if [[ -f $base.refused.txt ]]; then
    expect_error "$(cat "$base.refused.txt")" -- "$MIGRATE" --to python-mithril --no-backup -q "$WORK/$name.export.json"
    refusals=$((refusals + 1))
    continue
  fi
  expect 0 "$MIGRATE" --to python-mithril --no-backup -q "$WORK/$name.export.json"
  checks=$((checks + 1))
  cmp -s "$WORK/$name.export.json" "$base.dict.json" || fail "$name: the export differs from the one Python Mithril checked ($base.dict.json)"
  exported=$((exported + 1))
  values=$base
  [[ -f $values.params.npz ]] || values="$CASES/from_python/$name"
  run_with "$values" "$source" "$WORK/$name.ours.npz" || continue
  compare_later "$WORK/to_python.pairs" "$base.python.npz" "$WORK/$name.ours.npz" "$name"
  # And back: the exported dict, read here as a Python Mithril dict, computes Python's outputs.
  run_with "$values" "$base.dict.json" "$WORK/$name.back.npz" || continue
  compare_later "$WORK/back.pairs" "$base.python.npz" "$WORK/$name.back.npz" "$name"
done
compare_all "$WORK/to_python.pairs" "Python's outputs for our export differ from ours"
matched=$compared
compare_all "$WORK/back.pairs" "the export read back here differs from Python's outputs"
read_back=$compared
echo "to Python: $exported exports written as recorded, $matched computed by Python Mithril as we do," \
  "$read_back read back here with the same outputs, $refusals refused as recorded"
checks=$((checks + 1))
[[ $exported -ge 130 && $matched -eq $exported && $read_back -eq $exported ]] ||
  fail "expected at least 130 exports, all matching, all read back"

# Layer widths survive migration: a Linear(dimension=8) on an input of width 3 initializes and
# runs from the input shape alone, its weight [8, 3] inferred as Python's compile infers it.
expect 0 "$RUN" "$CASES/from_python/two_linears_shared_names.json" --init --random --shape x=4,3 -o "$WORK/widths.npz"
py "assert np.load('$WORK/widths.npz')['y'].shape == (4, 2)"
cp "$CASES/from_python/mlp_three_layers.json" "$WORK/mlp_widths.json"
expect 0 "$MIGRATE" --no-backup -q "$WORK/mlp_widths.json"
contains "$WORK/mlp_widths.json" '"shape": [6, "weight0_in"]' '"shape": [5, 6]' '"shape": [2, 5]' '"shape": [2]'

# An LSTMCell's output width is open until given, as Python's compile needs it in its shapes:
# --shape names the parameter for --init; with a parameters file it is refused.
expect 0 "$RUN" "$CASES/from_python/lstm_cell_alone.json" --init --random --shape input=3,1,2 --shape prev_hidden=4,1,3 \
  --shape prev_cell=4,1,3 --shape w_out=2,3 -o "$WORK/lstm_init.npz"
py "r = np.load('$WORK/lstm_init.npz'); assert r['output'].shape == (3, 1, 2) and r['hidden_compl'].shape == (1, 1, 3), {k: r[k].shape for k in r}"
expect_error "parameter 'w_out': shape float64[w_out_d_out,w_out_d_hid] is not fully known" -- \
  "$RUN" "$CASES/from_python/lstm_cell_alone.json" --init --random --shape input=3,1,2 --shape prev_hidden=4,1,3 --shape prev_cell=4,1,3
expect_error "--shape w_out: a parameter's shape is for --init" -- "$RUN" "$CASES/from_python/lstm_cell_alone.json" \
  --params "$CASES/from_python/lstm_cell_alone.params.npz" --random --shape w_out=2,3

# To ONNX: a Python Mithril dict declares no input shapes; --shape declares them for the export.
# ONNX's checker accepts the file, and it runs (read back here) with Python's numbers.
lstm=$CASES/from_python/lstm_cell_alone
expect_error "input 'prev_cell' has no declared rank" -- "$CONVERT" "$lstm.json" --params "$lstm.params.npz" -o "$WORK/lstm.onnx"
expect 0 "$CONVERT" "$lstm.json" --params "$lstm.params.npz" --shape input=3,1,4 --shape prev_hidden=3,1,5 \
  --shape prev_cell=3,1,5 -o "$WORK/lstm.onnx"
py "import onnx; onnx.checker.check_model(onnx.load('$WORK/lstm.onnx'), full_check=True)"
expect 0 "$RUN" "$WORK/lstm.onnx" --inputs "$lstm.inputs.npz" --dtype float64 -o "$WORK/lstm_onnx.npz"
compare_later "$WORK/onnx.pairs" "$lstm.expected.npz" "$WORK/lstm_onnx.npz" lstm_cell_alone.onnx
compare_all "$WORK/onnx.pairs" "the ONNX export of a migrated dict differs from Python's outputs"
expect 0 "$SAVE" linear -o "$WORK/zoo_linear.json"
expect_error "--shape: input 'input': shape [3,2,1] does not fit its declared [null,10]" -- "$CONVERT" "$WORK/zoo_linear.json" \
  --shape input=3,2,1 -o "$WORK/bad.json"
expect_error "--shape: model 'Linear' has no input 'nope'" -- "$CONVERT" "$CASES/from_python/linear_alone.json" \
  --params "$CASES/from_python/linear_alone.params.npz" --shape nope=3,2 -o "$WORK/bad.onnx"

# A bare model name is a model dict (Python's dict_to_model("Relu")): migrated, loaded and run.
echo '"Relu"' > "$WORK/bare.json"
echo '{"input": [[-1.5, 2.0]]}' > "$WORK/bare_inputs.json"
expect 0 "$RUN" "$WORK/bare.json" --inputs "$WORK/bare_inputs.json" -o "$WORK/bare_out.npz"
py "r = np.load('$WORK/bare_out.npz')['output']; assert r.tolist() == [[0.0, 2.0]], r"
cp "$WORK/bare.json" "$WORK/bare_migrated.json"
expect 0 "$MIGRATE" --no-backup -q "$WORK/bare_migrated.json"
contains "$WORK/bare_migrated.json" '"op": "relu"' '"migrated_from": "python-mithril"'
echo '"NoSuchModel"' > "$WORK/bare_unknown.json"
expect_error "unknown Python Mithril model name: 'NoSuchModel' at (top level)" -- "$RUN" "$WORK/bare_unknown.json" --random

# Size, Length and Shape()[i] give a Python int: it sizes an Eye (the generated cases), is a number
# in arithmetic (numpy's: len(x) + x), and bounds a slice that cuts a tensor (an RNN cell's
# state[:len(input)]); a tuple or a slice used as a tensor, or exposed, is refused naming the key.
cat >"$WORK/size_as_number.json" <<'EOF'
{"name": "Model", "submodels": {"m_0": {"name": "Length"}, "m_1": {"name": "Add"}},
 "connections": {"m_0": {"input": {"key": {"name": "x"}}},
                 "m_1": {"left": {"key": {"connect": [["m_0", "output"]]}}, "right": {"key": {"name": "x"}},
                         "output": {"key": {"name": "y"}}}},
 "exposed_keys": ["y"]}
EOF
echo '{"x": [[1.5, -2.0], [0.25, 4.0], [0.0, 1.0]]}' > "$WORK/size_inputs.json"
expect 0 "$RUN" "$WORK/size_as_number.json" --inputs "$WORK/size_inputs.json" -o "$WORK/size_out.npz"
py "r = np.load('$WORK/size_out.npz')['y']; assert r.tolist() == [[4.5, 1.0], [3.25, 7.0], [3.0, 4.0]], r"
cat >"$WORK/shape_cut.json" <<'EOF'
{"name": "Model", "submodels": {"m_0": {"name": "Shape"}, "m_1": {"name": "Indexer"}, "m_2": {"name": "Slice", "args": {"start": null, "step": null}},
                                "m_3": {"name": "Indexer"}},
 "connections": {"m_0": {"input": "x"}, "m_1": {"input": {"key": {"connect": [["m_0", "output"]]}}, "index": 0},
                 "m_2": {"stop": {"key": {"connect": [["m_1", "output"]]}}},
                 "m_3": {"input": "state", "index": {"key": {"connect": [["m_2", "output"]]}}, "output": {"key": {"name": "y"}}}},
 "exposed_keys": ["y"]}
EOF
echo '{"x": [[1.0], [2.0]], "state": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]}' > "$WORK/shape_cut_inputs.json"
expect 0 "$RUN" "$WORK/shape_cut.json" --inputs "$WORK/shape_cut_inputs.json" -o "$WORK/shape_cut_out.npz"
py "r = np.load('$WORK/shape_cut_out.npz')['y']; assert r.tolist() == [[1.0, 2.0], [3.0, 4.0]], r"
sed 's/"args": {"start": null, "step": null}/"args": {"start": null, "step": 2}/' "$WORK/shape_cut.json" > "$WORK/shape_step.json"
expect_error "submodels.m_2 (Slice): only slice(None, n) or slice(n, None) with n one axis's size" -- "$MIGRATE" --no-backup -q "$WORK/shape_step.json"
cat >"$WORK/shape_as_tensor.json" <<'EOF'
{"name": "Model", "submodels": {"m_0": {"name": "Shape"}, "m_1": {"name": "Relu"}},
 "connections": {"m_0": {"input": "x"}, "m_1": {"input": {"key": {"connect": [["m_0", "output"]]}}, "output": {"key": {"name": "y"}}}},
 "exposed_keys": ["y"]}
EOF
expect_error "submodels.m_1 (Relu): key 'input' is connected to the output of Shape, a Python tuple: a tensor is expected there" -- "$MIGRATE" --no-backup -q "$WORK/shape_as_tensor.json"
cat >"$WORK/size_as_output.json" <<'EOF'
{"name": "Model", "submodels": {"m_0": {"name": "Size"}},
 "connections": {"m_0": {"input": {"key": {"name": "x"}}, "output": {"key": {"name": "n"}}}}, "exposed_keys": ["n"]}
EOF
expect_error "output 'n' is the output of Size, a Python int" -- "$MIGRATE" --no-backup -q "$WORK/size_as_output.json"

# Only a model that has inputs needs --inputs.
expect_error "no inputs: give --inputs" -- "$RUN" "$CASES/from_python/linear_alone.json" --params "$CASES/from_python/linear_alone.params.npz"
expect 0 "$RUN" --help
contains "$WORK/out" "a model with no inputs (all parameters) runs without --inputs"

finish
