#!/usr/bin/env bash
# Errors that say what to do (issue 10, items 7 and up): each mistake a new user makes gets one
# line naming the file, the exact place and what to do.
source "$(dirname "$0")/lib/common.bash"
MIGRATE="$MITHRIL_BIN/mithril-migrate"

# 7. A wrong field inside an inline model body names its exact path, as under "definitions".
"$PYTHON" - <<'PY'
import copy, json
base = {"version": "1.1.0", "name": "m", "inputs": {"x": {"shape": [None, 10], "dtype": "float32"}},
        "nodes": [{"name": "d", "inputs": {"input": "x"}, "model": {
            "name": "dense", "inputs": {"input": {"shape": [None, 10], "dtype": "float32"}},
            "parameters": {"weight": {"shape": [10, 50], "dtype": "float32", "init": "glorot"}},
            "nodes": [{"name": "mm", "op": "matmul", "inputs": ["input", "weight"]}], "outputs": {"output": "mm"}}}],
        "outputs": {"y": "d.output"}}
def variant(name, edit):
    m = copy.deepcopy(base)
    edit(m["nodes"][0]["model"])
    json.dump(m, open(name, "w"))
variant("ok.json", lambda b: None)
variant("shape.json", lambda b: b["parameters"]["weight"].update(shape=[10, -50]))
variant("dtype.json", lambda b: b["parameters"]["weight"].update(dtype="float33"))
variant("init.json", lambda b: b["parameters"]["weight"].update(init="gloria"))
variant("extra.json", lambda b: b.update(colour="red"))
PY
expect 0 "$LOAD" ok.json
expect_error "shape.json: nodes[0].model.parameters.weight.shape[1]: expected a dimension" "got the number -50" -- "$LOAD" shape.json
expect_error "dtype.json: nodes[0].model.parameters.weight.dtype: expected a dtype name" -- "$LOAD" dtype.json
expect_error "init.json: nodes[0].model.parameters.weight.init: expected an initializer" -- "$LOAD" init.json
expect_error "extra.json: nodes[0].model: unknown key 'colour'" -- "$LOAD" extra.json

# 8. A hand-written model without "version" is told to add one (not only that it is no Python Mithril dict).
"$PYTHON" -c "import json; d = json.load(open('ok.json')); del d['version']; d['name'] = 'my_mlp'; json.dump(d, open('noversion.json', 'w'))"
expect_error 'noversion.json: no "version": add "version": "1.2.0" at the top level' "my_mlp" -- "$LOAD" noversion.json
expect_error 'noversion.json: no "version": add "version"' -- "$RUN" noversion.json --init --random --shape x=1,10
expect 2 "$MIGRATE" -q --check noversion.json
contains err 'noversion.json: no "version": add "version": "1.2.0"'

# 10. Errors name the file (or flag) the problem came from, not the model or the parameters.
expect 0 "$SAVE" mlp --arg dims=10,5,1 -o model.json --params params.npz
expect_error "--shape input=5,11: input 'input': shape [5,11], expected [null,10]" -- \
  "$RUN" model.json --params params.npz --random --shape input=5,11
checks=$((checks + 1)); ! grep -q "params.npz" err || fail "a bad --shape blamed the parameters file"
"$PYTHON" -c "import numpy as np; np.savez('complex.npz', input=np.ones((2, 10), dtype=np.complex64))"
expect_error "complex.npz: input 'input': complex64 values for a float32 input" -- "$RUN" model.json --params params.npz --inputs complex.npz
checks=$((checks + 1)); ! grep -q "model.json" err || fail "a bad input blamed the model file"

# 11. Seeds and tolerances out of range are usage errors, not silently wrapped or clamped.
for seed in -1 18446744073709551616 99999999999999999999999 0x10 1e3; do
  expect_error "--seed: '$seed' is not a seed: expected a whole number 0..18446744073709551615" -- \
    "$RUN" model.json --params params.npz --random --shape input=1,10 --seed "$seed"
done
expect_error "--seed: '-1' is not a seed" -- "$SAVE" linear -o l.json --seed -1
expect 0 "$RUN" model.json --params params.npz --random --shape input=1,10 --seed 18446744073709551615 -o max.npz
expect 0 "$RUN" model.json --params params.npz --random --shape input=1,10 --seed 18446744073709551614 -o below.npz
py "a, b = np.load('max.npz'), np.load('below.npz'); assert not np.array_equal(a['output'], b['output'])"
for tol in nan -1 inf -inf x ""; do
  expect_error "is not a tolerance: expected a finite number >= 0" -- \
    "$RUN" model.json --params params.npz --random --shape input=1,10 --compare model.json --compare-params params.npz --atol "$tol"
done
expect_error "--rtol: 'nan' is not a tolerance" -- \
  "$RUN" model.json --params params.npz --random --shape input=1,10 --compare model.json --compare-params params.npz --rtol nan
expect 0 "$RUN" model.json --params params.npz --random --shape input=1,10 --compare model.json --compare-params params.npz --atol 1e-6 --rtol 0

# 12. Every parameter problem is listed, as --help promises: transposed, wrong dtype, extra, missing.
"$PYTHON" -c "
import numpy as np
p = dict(np.load('params.npz'))
p['layer0.weight'] = p['layer0.weight'].T.copy()
p['layer1.weight'] = p['layer1.weight'].astype(np.float64)
p['extra'] = np.zeros(3, np.float32)
del p['layer0.bias']
np.savez('bad_params.npz', **p)"
expect_error "bad_params.npz: tensor 'layer0.weight': shape [5,10], expected [10,5]" "tensor 'layer1.weight': dtype float64, expected float32" \
  "tensor 'extra' is not a parameter of the model" "parameter 'layer0.bias' is missing" -- "$LOAD" model.json --params bad_params.npz
expect_error "tensor 'layer0.weight': shape [5,10]" "parameter 'layer0.bias' is missing" -- \
  "$RUN" model.json --params bad_params.npz --random --shape input=1,10

# 13. mithril-migrate over a folder that also holds configs and inputs: they are skipped (a JSON
# object with neither "name" nor "version" is no model dict of any version), not failed;
# --exclude leaves files out; a damaged file still fails.
mkdir -p models/inputs
cp "$MITHRIL_TESTDATA/versioning/1.0.0_to_1.1.0/linear.before.json" models/old.json
echo '{"lr": 0.1}' >models/config.json
echo '{"input": [[1, 2]]}' >models/inputs/x.json
expect 1 "$MIGRATE" --check models
contains out "models/old.json: at 1.0.0, not 1.2.0"
checks=$((checks + 1)); [[ ! -s err ]] || fail "--check of a folder with configs printed errors: $(cat err)"
expect 1 "$MIGRATE" --check --json models
py "r = json.load(open('out')); c = r['counts']; assert (c['skipped'], c['failed'], c['needs_migration']) == (2, 0, 1), c
assert all('not a model dict' in f['note'] for f in r['files'] if f['status'] == 'skipped'), r['files']"
echo '[1, 2' >models/broken.json
expect 2 "$MIGRATE" --check models
contains err "models/broken.json"
expect 1 "$MIGRATE" --check --exclude broken.json --exclude 'inputs/*' -v models
contains err "1 not at 1.2.0, 0 already at 1.2.0, 0 failed, 1 skipped (not model dicts)" "skipped models/config.json"
expect 0 "$MIGRATE" --exclude broken.json models
expect 0 "$MIGRATE" --check --exclude broken.json models

# 14. mithril-migrate is like the others: one-line usage errors with the prefix, exit codes and an
# example in --help, and quiet when all went well (summary only on a terminal or with --verbose).
expect_error "mithril-migrate: error: " "--bogus" -- "$MIGRATE" --bogus models
expect_error "--check excludes --dry-run" -- "$MIGRATE" --check --dry-run models
expect_error "--shard 3: expected K/N" -- "$MIGRATE" --shard 3 models
expect 0 "$MIGRATE" --help
contains out "Exit codes: 0" "Examples: mithril-migrate --check models/" "--exclude" "--verbose"
cp "$MITHRIL_TESTDATA/versioning/1.0.0_to_1.1.0/linear.before.json" quiet.json
expect 0 "$MIGRATE" quiet.json
checks=$((checks + 1)); [[ ! -s err && ! -s out ]] || fail "a successful migration printed something: $(cat out err)"
cp "$MITHRIL_TESTDATA/versioning/1.0.0_to_1.1.0/linear.before.json" loud.json
expect 0 "$MIGRATE" --verbose loud.json
contains err "mithril-migrate: 1 migrated to 1.2.0"

# 15. With --json every tool prints a JSON object on stdout on failure too (and the one line on stderr).
json_error() {  # TOOL-NAME KIND CMD...: CMD fails with exit 2 and a JSON error object on stdout
  local name=$1 kind=$2
  shift 2
  expect 2 "$@"
  py "r = json.load(open('out')); assert r['ok'] is False and r['tool'] == '$name' and r['error_kind'] == '$kind' and r['error'], r"
  contains err "$name: error: "
}
json_error mithril-run io "$RUN" nope.json --random --json
json_error mithril-convert io "$CONVERT" nope.json -o x.mbin --json
json_error mithril-save invalid_argument "$SAVE" nosuch -o x.json --json
json_error mithril-migrate io "$MIGRATE" --json no_such_folder
expect 2 "$LOAD" nope.json --json
py "r = json.load(open('out')); assert r['valid'] is False and r['error_kind'] == 'io', r"

# 16. An input too large for the machine is refused before allocating, naming it and its size.
expect_error "--random input 'input': tensor float32[1000000000,10] needs 37.3 GiB, more than the" "GiB of memory of this machine" -- \
  "$RUN" model.json --params params.npz --random --shape input=1000000000,10

# 19. A UTF-8 byte-order mark (as some Windows editors write) before a model or inputs JSON is accepted.
printf '\xef\xbb\xbf' >bom.json && cat model.json >>bom.json
printf '\xef\xbb\xbf{"input": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]}' >bom_inputs.json
expect 0 "$LOAD" bom.json --params params.npz
expect 0 "$RUN" bom.json --params params.npz --inputs bom_inputs.json -o bom_out.npz
expect 0 "$CONVERT" bom.json -o nobom.json
checks=$((checks + 1)); cmp -s nobom.json model.json || fail "a model read with a byte-order mark was not written back as the same model"

# 17. NaN in --compare is counted per output and never passes silently (NaN against NaN only with
# --equal-nan); mithril-load flags NaN and infinite parameter values per tensor.
"$PYTHON" -c "
import numpy as np
p = dict(np.load('params.npz')); w = p['layer0.weight'].copy(); w[0, 0] = np.nan; w[1, 1] = np.inf; w[2, 2] = np.nan
p['layer0.weight'] = w; np.savez('nan_params.npz', **p)"
expect 0 "$LOAD" model.json --params nan_params.npz
contains out "warning: non-finite values in 1 tensor: 'layer0.weight' 2 NaN, 1 inf"
expect 0 "$LOAD" model.json --params nan_params.npz --json
py "r = json.load(open('out')); assert r['non_finite'] == [{'name': 'layer0.weight', 'nan': 2, 'inf': 1}], r['non_finite']"
expect 1 "$RUN" model.json --params nan_params.npz --random --shape input=3,10 --compare model.json --compare-params nan_params.npz
contains out "3 of them NaN against a number or NaN (--equal-nan)" "NaN: 3 here, 3 there" "result: outputs differ"
expect 0 "$RUN" model.json --params nan_params.npz --random --shape input=3,10 --compare model.json --compare-params nan_params.npz --equal-nan
expect 1 "$RUN" model.json --params nan_params.npz --random --shape input=3,10 --compare model.json --compare-params params.npz \
  --equal-nan --atol 1e30 --json
py "c = json.load(open('out'))['compare']['outputs'][0]; assert (c['nan'], c['nan_other'], c['nan_mismatches']) == (3, 0, 3), c
assert c['max_abs_diff'] == 0, c"

# 19. -o /dev/null is allowed where --format tells the kind (the device stays a device); without
# --format the message says to give it. A named pipe is written in place too.
expect_error "/dev/null: cannot tell the output kind from the extension" "or give --format" -- \
  "$CONVERT" model.json --params params.npz -o /dev/null
for kind in mbin mithril json; do
  expect 0 "$CONVERT" model.json --params params.npz -o /dev/null --format $kind
done
expect 0 "$RUN" model.json --params params.npz --random --shape input=2,10 -o /dev/null --format npz
checks=$((checks + 1)); [[ -c /dev/null ]] || fail "/dev/null is no longer a character device"
expect_error "--format" -- "$RUN" model.json --params params.npz --random --shape input=2,10 -o /dev/null --format mbin
mkfifo outputs.fifo
(cat outputs.fifo >from_fifo.npz) &
reader=$!
expect 0 "$RUN" model.json --params params.npz --random --shape input=2,10 -o outputs.fifo --format npz
wait $reader
py "assert np.load('from_fifo.npz')['output'].shape == (2, 1)"
checks=$((checks + 1)); [[ -p outputs.fifo ]] || fail "the named pipe was replaced by a file"

# 20 (part). mithril-load --ops lists every operator for a person writing JSON by hand.
expect 0 "$LOAD" --ops
contains out "add (version 1): inputs left, right; attributes none; backends: reference" "softmax (version 1): inputs input; attributes axis: int = -1"
expect 0 "$LOAD" --ops --json
py "ops = {o['name']: o for o in json.load(open('out'))['operators']}
assert len(ops) > 30 and ops['matmul']['inputs'] == ['left', 'right'] and 'reference' in ops['matmul']['backends'], ops['matmul']
assert any(a.startswith('axis: int') for a in ops['softmax']['attributes']), ops['softmax']"
if [[ -n ${MITHRIL_PLUGIN_DIR:-} && -f $MITHRIL_PLUGIN_DIR/scale_plugin.so ]]; then
  expect 0 "$LOAD" --ops --plugin "$MITHRIL_PLUGIN_DIR/scale_plugin.so"
  contains out "acme.scale (version 1): inputs input; attributes factor: float = 1; backends: reference"
fi
expect_error "artifact is required (or --ops)" -- "$LOAD"

# Formats people bring that the tools do not read are named (issue 10 item 9), not "bad .npz";
# a truncated ONNX file is read as ONNX and refused by ONNX's checker.
printf '\x08\x07\x12\x07pytorch\x1a\x041.13' >model.onnx
cp model.onnx model.bin
printf 'GGUF\x03\x00\x00\x00\x00\x00\x00\x00' >model.gguf
printf '\x89HDF\r\n\x1a\n\x00\x00\x00\x00' >weights.h5
expect_error "model.onnx: ONNX checker: model with IR version >= 3 must specify opset_import" -- "$LOAD" model.onnx
expect_error "model.bin: ONNX checker: model with IR version >= 3 must specify opset_import" -- "$RUN" model.bin --random
expect_error "model.gguf: a GGUF file (llama.cpp's model format)" -- "$CONVERT" model.gguf -o x.mbin
expect_error "weights.h5: an HDF5 file" -- "$LOAD" weights.h5
[[ ! -e x.mbin ]] || fail "a refused conversion wrote its output"

finish
