#!/usr/bin/env bash
# The seed's "Example: Complete Serialization Workflow" from the shell: save simple_mlp's
# structure and parameters, convert to .mithril and .mbin, run every form on the same inputs,
# compare (difference exactly 0), and read parameters and outputs back with numpy, which
# recomputes the forward pass from the saved parameters.
source "$(dirname "$0")/lib/common.bash"

# 1-5. Create, initialize (the seed's randn * 0.1) and save structure + parameters.
expect 0 "$SAVE" simple_mlp -o model_structure.json --params model_params.npz --init 'normal(0.1)' --seed 0
py "
d = json.load(open('model_structure.json'))
import re; assert re.fullmatch(r'\d+\.\d+\.\d+', d['version']) and d['name'] == 'simple_mlp', d
assert d['inputs']['input']['shape'] == [None, 10], d['inputs']
p = np.load('model_params.npz')
assert sorted(p.files) == ['hidden.bias', 'hidden.weight', 'output_layer.bias', 'output_layer.weight'], p.files
assert p['hidden.weight'].shape == (10, 50) and p['hidden.weight'].dtype == np.float32
assert p['output_layer.weight'].shape == (50, 1)
# normal(0.1) fills every parameter: mean and std within 5 standard errors for n samples
# (0.1/sqrt(n) and 0.1/sqrt(2n): 5 of them are 14% of the std for these 601 values).
w = np.concatenate([p[k].ravel() for k in p.files]).astype(np.float64)
n = w.size
assert n == 601, n
assert abs(w.mean()) < 5 * 0.1 / np.sqrt(n), w.mean()
assert abs(w.std() - 0.1) < 5 * 0.1 / np.sqrt(2 * n), w.std()
"
# The same law on 200,500 values, where 5 standard errors of the std are 0.8%.
expect 0 "$SAVE" mlp --arg dims=400,500 --params big.npz --init 'normal(0.1)' --seed 1
py "
p = np.load('big.npz')
w = np.concatenate([p[k].ravel() for k in p.files]).astype(np.float64)
n = w.size
assert n == 200500, n
assert abs(w.mean()) < 5 * 0.1 / np.sqrt(n), w.mean()
assert abs(w.std() - 0.1) < 5 * 0.1 / np.sqrt(2 * n), w.std()
assert abs(np.mean(np.abs(w) < 0.1) - 0.6827) < 5 * np.sqrt(0.6827 * 0.3173 / n), 'not normal: share within one std'
"
# Same seed, same bytes.
expect 0 "$SAVE" simple_mlp --params again.npz --init 'normal(0.1)' --seed 0
checks=$((checks + 1)); cmp -s model_params.npz again.npz || fail "same seed gave different parameter bytes"

# Convert to the single-file forms.
expect 0 "$CONVERT" model_structure.json --params model_params.npz -o compiled_model.mithril
expect 0 "$CONVERT" compiled_model.mithril -o model.mbin
expect 0 "$LOAD" model.mbin --verify

# 6-7. Rebuild and test on the same inputs (made by numpy).
py "
np.random.seed(0)
np.savez('inputs.npz', input=np.random.randn(5, 10).astype(np.float32))
"
expect 0 "$RUN" model_structure.json --params model_params.npz --inputs inputs.npz -o out_json.npz
expect 0 "$RUN" compiled_model.mithril --inputs inputs.npz -o out_mithril.npz
expect 0 "$RUN" model.mbin --inputs inputs.npz -o out_mbin.npz

expect 0 "$RUN" model_structure.json --params model_params.npz --inputs inputs.npz --compare compiled_model.mithril --json
cp out compare.json
py "
r = json.load(open('compare.json'))
c = r['compare']
assert c['pass'] is True and c['atol'] == 0 and c['rtol'] == 0, c
assert [o['name'] for o in c['outputs']] == ['output'], c
assert c['outputs'][0]['max_abs_diff'] == 0 and c['outputs'][0]['max_rel_diff'] == 0, c
assert r['outputs'][0]['shape'] == [5, 1], r['outputs']
"
# The human report says it too.
expect 0 "$RUN" compiled_model.mithril --inputs inputs.npz --compare model.mbin
contains out "max abs diff" "output  [5,1]" " 0 " "ok" "result: same outputs within tolerance"

# Seeded random inputs, shape given: every pair identical.
expect 0 "$RUN" model.mbin --random --seed 7 --shape input=64,10 --compare model_structure.json --compare-params model_params.npz --json
cp out random_compare.json
py "
c = json.load(open('random_compare.json'))['compare']
assert c['pass'] and c['outputs'][0]['max_abs_diff'] == 0, c
"

# numpy reads everything back and recomputes the forward pass from the saved parameters.
py "
p = np.load('model_params.npz')
x = np.load('inputs.npz')['input']
h = np.maximum(x @ p['hidden.weight'] + p['hidden.bias'], 0)
y = h @ p['output_layer.weight'] + p['output_layer.bias']
outs = [np.load(f)['output'] for f in ('out_json.npz', 'out_mithril.npz', 'out_mbin.npz')]
for o in outs:
    assert o.dtype == np.float32 and o.shape == (5, 1), (o.dtype, o.shape)
    assert np.array_equal(o, outs[0])
print('max |ours - numpy| =', np.max(np.abs(outs[0] - y)))
assert np.allclose(outs[0], y, rtol=1e-5, atol=1e-6), np.max(np.abs(outs[0] - y))
m = np.load('compiled_model.mithril')
for k in p.files:
    assert np.array_equal(m[k], p[k]), k
"
finish
