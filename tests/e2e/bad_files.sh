#!/usr/bin/env bash
# Bad files and bad usage: each gives exit code 2 and one line "<tool>: error: ..." on stderr
# naming the file and the problem. --help and --version exit 0.
source "$(dirname "$0")/lib/common.bash"

expect 0 "$SAVE" simple_mlp -o model.json --params params.npz -o model.mithril -o model.mbin --seed 1
"$PYTHON" - <<'PY'
import numpy as np
p = dict(np.load('params.npz'))
def variant(name, **changes):
    q = dict(p)
    for k, v in changes.items():
        if v is None: del q[k.replace('__', '.')]
        else: q[k.replace('__', '.')] = v
    np.savez(name, **q)
variant('wrong_shape.npz', hidden__weight=p['hidden.weight'].T.copy())
variant('missing.npz', output_layer__bias=None)
variant('extra.npz', extra=np.zeros(3, np.float32))
variant('wrong_dtype.npz', hidden__bias=p['hidden.bias'].astype(np.float64))
np.save('longdouble.npy', np.zeros(3, dtype=np.longdouble))
np.savez('longdouble.npz', a=np.zeros(3, dtype=np.longdouble))
np.savez('inputs_wrong_shape.npz', input=np.zeros((5, 7), np.float32))
np.savez('inputs_wrong_name.npz', x=np.zeros((5, 10), np.float32))
PY
head -c 1000 params.npz >truncated.npz
head -c 3000 model.mithril >truncated.mithril
head -c 2000 model.mbin >truncated.mbin
: >empty.npz
echo "hello, not a zip" >not_a_zip.npz
echo '{"version": "1.0.0", "name": ' >bad.json
sed 's/"float32"/"float33"/' model.json >float33.json
sed 's/"op": "relu"/"op": "frobnicate"/' model.json >unknown_op.json
checks=$((checks + 1)); grep -q frobnicate unknown_op.json || fail "fixture unknown_op.json not made"

# Tensor files.
expect_error truncated.npz truncated -- "$LOAD" truncated.npz
expect_error truncated.npz truncated -- "$LOAD" model.json --params truncated.npz
expect_error truncated.npz truncated -- "$CONVERT" truncated.npz -o x.npz
expect_error empty.npz "empty file" -- "$LOAD" empty.npz
expect_error empty.npz "empty file" -- "$RUN" model.mbin --inputs empty.npz
expect_error not_a_zip.npz "not a model or tensor file" -- "$LOAD" not_a_zip.npz
expect_error not_a_zip.npz "not a model or tensor file" -- "$LOAD" model.json --params not_a_zip.npz
expect_error longdouble.npy "'<f16'" "not supported" -- "$LOAD" longdouble.npy
expect_error longdouble.npz "member 'a.npy'" "'<f16'" -- "$CONVERT" longdouble.npz -o x.npz
expect_error nonexistent.npz "No such file" -- "$LOAD" nonexistent.npz
expect_error nonexistent.json "No such file" -- "$RUN" nonexistent.json --random
checks=$((checks + 1)); [[ ! -e x.npz ]] || fail "a failed convert left x.npz behind"

# Parameters that do not fit the structure.
expect_error wrong_shape.npz "'hidden.weight'" "shape [50,10], expected [10,50]" -- "$LOAD" model.json --params wrong_shape.npz
expect_error wrong_shape.npz "'hidden.weight'" "shape [50,10], expected [10,50]" -- "$CONVERT" model.json --params wrong_shape.npz -o y.mithril
expect_error missing.npz "parameter 'output_layer.bias' is missing" -- "$LOAD" model.json --params missing.npz
expect_error missing.npz "parameter 'output_layer.bias' is missing" -- "$RUN" model.json --params missing.npz --random --shape input=2,10
expect_error extra.npz "tensor 'extra' is not a parameter" -- "$LOAD" model.json --params extra.npz
expect 0 "$LOAD" model.json --params extra.npz --allow-extra
contains out "extra tensors ignored: extra"
expect_error wrong_dtype.npz "tensor 'hidden.bias': dtype float64, expected float32" -- "$LOAD" model.json --params wrong_dtype.npz
checks=$((checks + 1)); [[ ! -e y.mithril ]] || fail "a failed convert left y.mithril behind"

# Model files.
expect_error truncated.mithril "truncated zip archive: no end of central directory record" -- "$LOAD" truncated.mithril
expect_error truncated.mbin truncated -- "$LOAD" truncated.mbin
expect_error truncated.mbin truncated -- "$RUN" truncated.mbin --random --shape input=1,10
expect_error bad.json "invalid JSON at line" -- "$LOAD" bad.json
expect_error float33.json "dtype" "float33" -- "$LOAD" float33.json
expect_error unknown_op.json "unknown operator 'frobnicate'" "nodes[" -- "$LOAD" unknown_op.json
expect_error unknown_op.json "unknown operator 'frobnicate'" -- "$CONVERT" unknown_op.json --params params.npz -o z.mithril
expect_error params.npz "holds tensors, not a model" -- "$RUN" params.npz --random

# Inputs.
expect_error inputs_wrong_shape.npz "input 'input': shape [5,7], expected [null,10]" -- "$RUN" model.mbin --inputs inputs_wrong_shape.npz
expect_error inputs_wrong_name.npz "inputs_wrong_name.npz: model 'simple_mlp' has no input 'x' (inputs: input)" -- "$RUN" model.mbin --inputs inputs_wrong_name.npz
expect_error "input float32[null,10]" "--shape input=N,10" -- "$RUN" model.mbin --random
expect_error "--shape 'input=5,x'" -- "$RUN" model.mbin --random --shape input=5,x
expect_error "--shape 'input'" -- "$RUN" model.mbin --random --shape input
expect_error "has no input 'nope'" -- "$RUN" model.mbin --random --shape nope=1,10
expect_error "structure only" "--init" -- "$RUN" model.json --random --shape input=2,10

# Zoo and output names.
expect_error "no zoo model 'resnet'" "simple_mlp" -- "$SAVE" resnet -o r.json
expect_error "argument dims=10,x" -- "$SAVE" mlp --arg dims=10,x -o r.json
expect_error "has no argument 'width'" -- "$SAVE" mlp --arg width=3 -o r.json
expect_error "nothing to write" -- "$SAVE" simple_mlp
expect_error "out.txt" "extension" -- "$CONVERT" model.mithril -o out.txt
expect_error "--init 'bogus'" -- "$SAVE" simple_mlp --params p.npz --init bogus

# Command-line usage: exit 2 with one line; --help and --version exit 0.
for tool in "$SAVE" "$LOAD" "$CONVERT" "$RUN"; do
  name=$(basename "$tool")
  expect_error "$name: error:" -- "$tool"
  expect_error "--no-such-flag" -- "$tool" x --no-such-flag
  expect 0 "$tool" --help
  contains out "Exit codes"
  expect 0 "$tool" --version
  contains out "$name 0." "(model format "
done
expect_error "--dtype" "float16" -- "$RUN" model.mbin --random --dtype float16
expect_error "--seed" -- "$RUN" model.mbin --random --seed minus-one

# With --json, a file that fails still gives JSON on stdout (for CI steps that parse it).
expect_error "nothing.json: cannot open" -- "$LOAD" nothing.json --json
py "r = json.load(open('out')); assert r['valid'] is False and r['error_kind'] == 'io' and 'cannot open' in r['error'], r"


# Not regular files: a folder is named as one (not "empty file").
mkdir -p a_folder
expect_error "a_folder: is a directory" -- "$LOAD" a_folder
expect_error "a_folder: is a directory" -- "$CONVERT" a_folder -o x.mbin

# An ONNX graph output that nothing produces passes ONNX's checker and crashed ONNX's version
# converter (found by scripts/fuzz): refused by name.
expect_error "graph output 'o,' is not produced by any node" -- "$LOAD" "$MITHRIL_TESTDATA/fuzz/onnx/crash-graph-output-without-producer.onnx"

# A device is refused before it is read (/dev/zero would never end; capped so a regression fails fast).
# ASan reserves terabytes of shadow address space and cannot start under ulimit -v; there an
# outsized allocation aborts the tool by itself (allocator_may_return_null=0), which fails too.
if sanitized; then
  capped() { "$@"; }
else
  capped() { bash -c 'ulimit -v 4000000; exec "$@"' capped "$@"; }
fi
expect_error "/dev/zero: not a regular file" -- capped "$RUN" model.mbin --inputs /dev/zero
expect 2 capped "$MITHRIL_BIN/mithril-migrate" --check /dev/zero
contains err "/dev/zero: not a regular file"

finish
