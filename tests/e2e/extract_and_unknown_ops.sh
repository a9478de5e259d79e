#!/usr/bin/env bash
# Partial model serialization from the shell (mithril-convert --extract-*), functions defined in
# the model file, and mithril-load --allow-unknown-ops.
source "$(dirname "$0")/lib/common.bash"

# A classifier; its feature extractor is the part from 'input' to 'layer1.output'.
expect 0 "$SAVE" mlp --arg dims=6,16,8,3 -o classifier.mithril --init "normal(0.5)" --seed 3
expect 0 "$CONVERT" classifier.mithril --extract-inputs input --extract-outputs layer1.output -o features.mithril
expect 0 "$LOAD" features.mithril --json
py "r = json.load(open('out'))
assert r['model'] == 'mlp_part', r['model']
assert [p['name'] for p in r['parameters']] == ['layer0.weight', 'layer0.bias', 'layer1.weight', 'layer1.bias'], r['parameters']"
# The part, fed the same input, reproduces the full model's value at the cut: numpy recomputes the
# first two layers from the classifier's own parameters and compares them with the part's output,
# then finishes the classifier from the part's output and compares that with the full model's.
# Both run in float64, so the bound is float64 rounding (a few ulps of the largest magnitude).
py "np.random.seed(9); np.savez('x.npz', input=np.random.randn(4, 6).astype(np.float32))"
expect 0 "$RUN" features.mithril --inputs x.npz --dtype float64 -o feats.npz
expect 0 "$RUN" classifier.mithril --inputs x.npz --dtype float64 -o full.npz
expect 0 "$CONVERT" classifier.mithril --params-out params.npz
expect 0 "$CONVERT" features.mithril --params-out part_params.npz
py "p, q = np.load('params.npz'), np.load('part_params.npz')
assert sorted(q.files) == ['layer0.bias', 'layer0.weight', 'layer1.bias', 'layer1.weight']
assert all(np.array_equal(p[k], q[k]) for k in q.files)
x = np.load('x.npz')['input'].astype(np.float64)
dense = lambda h, k: h @ p[k + '.weight'].astype(np.float64) + p[k + '.bias'].astype(np.float64)
f, g = np.load('feats.npz'), np.load('full.npz')
assert f.files == ['layer1_output'] and g.files == ['output'], (f.files, g.files)
cut, out = f['layer1_output'], g['output']
assert cut.shape == (4, 8) and cut.dtype == np.float64 and out.shape == (4, 3), (cut.shape, cut.dtype, out.shape)
def close(got, want):
    return np.abs(got - want).max() <= 1e-13 * max(1.0, np.abs(want).max())
assert close(cut, dense(np.maximum(dense(x, 'layer0'), 0), 'layer1')), 'the part differs from numpy at the cut'
assert close(out, dense(np.maximum(cut, 0), 'layer2')), 'the full model differs from the part continued by numpy'"
# An invalid cut names the path that escapes it.
cat >masked.json <<'JSON'
{"version": "1.1.0", "name": "masked",
 "inputs": {"x": {"shape": [null, 3]}, "mask": {"shape": [null, 3]}},
 "nodes": [{"name": "r", "op": "relu", "inputs": ["x"]}, {"name": "m", "op": "multiply", "inputs": ["r", "mask"]}],
 "outputs": {"y": "m"}}
JSON
expect_error "output 'y' depends on input 'mask' (m <- mask), which is not among the given inputs" -- \
  "$CONVERT" masked.json --extract-inputs x --extract-outputs y -o part.json
expect 0 "$CONVERT" masked.json --extract-inputs r,mask --extract-outputs y -o part.json
py "m = json.load(open('part.json')); assert list(m['inputs']) == ['r', 'mask'], m['inputs']"
expect_error "no value 'nothing'" -- "$CONVERT" classifier.mithril --extract-inputs nothing --extract-outputs output -o x.json
expect_error "--extract-inputs and --extract-outputs go together" -- "$CONVERT" classifier.mithril --extract-outputs output -o x.json

# A composite operator defined in the file itself runs with no plugin.
cat >fn.json <<'JSON'
{"version": "1.1.0", "name": "uses_fn",
 "inputs": {"x": {"shape": [null, 3], "dtype": "float64"}},
 "nodes": [{"name": "a", "op": "demo.scaled_relu", "inputs": ["x"], "attributes": {"factor": 2.0}}],
 "outputs": {"y": "a"},
 "functions": {"demo.scaled_relu": {"inputs": ["x"], "attributes": {"factor": 1.0},
   "nodes": [{"name": "r", "op": "relu", "inputs": ["x"]}, {"name": "s", "op": "multiply", "inputs": ["r", "@factor"]}],
   "output": "s"}}}
JSON
echo '{"x": [[1.0, -2.0, 3.5]]}' >x.json
expect 0 "$RUN" fn.json --inputs x.json -o y.npz
py "assert np.load('y.npz')['y'].tolist() == [[2.0, 0.0, 7.0]]"
expect 0 "$CONVERT" fn.json -o fn.mbin
expect 0 "$RUN" fn.mbin --inputs x.json --compare fn.json
# Going down to 1.0.0 is refused: functions are a 1.1.0 construct.
expect 2 "$MITHRIL_BIN/mithril-migrate" --to 1.0.0 fn.json
contains err "cannot go down from 1.1.0 to 1.0.0 without loss" "demo.scaled_relu"

# Unknown operators: refused, or kept opaque with --allow-unknown-ops to validate the rest.
cat >vendor.json <<'JSON'
{"version": "1.1.0", "name": "vendor_model",
 "inputs": {"x": {"shape": [null, 4]}},
 "parameters": {"w": {"shape": [4, 4]}},
 "nodes": [{"name": "m", "op": "matmul", "inputs": ["x", "w"]},
           {"name": "v", "op": "vendor.fused_thing", "inputs": ["m"], "attributes": {"k": 3}},
           {"name": "r", "op": "relu", "inputs": ["v"]}],
 "outputs": {"y": "r"}}
JSON
"$PYTHON" -c "import numpy as np; np.savez('w.npz', w=np.ones((4, 4), np.float32)); np.savez('bad_w.npz', w=np.ones((4, 5), np.float32))"
expect_error "unknown operator 'vendor.fused_thing' at nodes[1]" "--plugin" -- "$LOAD" vendor.json
expect 0 "$LOAD" vendor.json --params w.npz --allow-unknown-ops
contains out "unknown operators" "v (vendor.fused_thing)"
expect_error "tensor 'w': shape [4,5], expected [4,4]" -- "$LOAD" vendor.json --params bad_w.npz --allow-unknown-ops
expect 0 "$LOAD" vendor.json --allow-unknown-ops --json
py "r = json.load(open('out')); assert r['unknown_ops'] == ['v (vendor.fused_thing)'], r['unknown_ops']"
finish
