#!/usr/bin/env bash
# The cpu backend (oneDNN) from the shell: mithril-run defaults to it and agrees with numpy and
# with the reference backend; --compare-backend, --json's plan report, --repeat, --threads,
# --dtype bfloat16, float64 falling back to reference, and the --backend of load and convert.
source "$(dirname "$0")/lib/common.bash"

expect 0 "$SAVE" mlp --arg dims=64,256,128,10 -o mlp.mbin --params mlp.npz --init glorot --seed 3
py "
rng = np.random.default_rng(0)
np.savez('x.npz', input=rng.standard_normal((64, 64)).astype(np.float32))
"
expect 0 "$RUN" mlp.mbin --inputs x.npz -o cpu.npz
expect 0 "$RUN" mlp.mbin --inputs x.npz -o reference.npz --backend reference
# numpy recomputes the forward pass from the saved parameters.
py "
p = np.load('mlp.npz'); x = np.load('x.npz')['input'].astype(np.float64)
h = np.maximum(x @ p['layer0.weight'] + p['layer0.bias'], 0)
h = np.maximum(h @ p['layer1.weight'] + p['layer1.bias'], 0)
y = h @ p['layer2.weight'] + p['layer2.bias']
for name in ('cpu', 'reference'):
    got = np.load(name + '.npz')['output']
    assert got.dtype == np.float32 and got.shape == (64, 10), (name, got.dtype, got.shape)
    assert np.allclose(got, y, atol=1e-4, rtol=1e-4), (name, np.abs(got - y).max())
"

# The same model on cpu and on reference, in one command; and against another file.
expect 0 "$RUN" mlp.mbin --inputs x.npz --compare-backend reference --atol 1e-4 --rtol 1e-4
contains out "on the reference backend" "result: same outputs within tolerance"
expect 0 "$CONVERT" mlp.mbin -o mlp.mithril --backend reference
expect 0 "$RUN" mlp.mbin --inputs x.npz --compare mlp.mithril --compare-backend reference --atol 1e-4 --rtol 1e-4
contains out "mlp.mithril on the reference backend"

# The plan report: fused layers, all on cpu, timings of repeated runs.
expect 0 "$RUN" mlp.mbin --inputs x.npz --json --repeat 3 -o y.npz
cp out plan.json
py "
r = json.load(open('plan.json'))
assert r['backend'] == 'cpu', r['backend']
assert len(r['repeat_seconds']) == 3 and all(t > 0 for t in r['repeat_seconds'])
plan = r['plan']
nodes = {n['node']: n for n in plan['nodes']}
assert nodes['layer0.matmul_0']['backend'] == 'cpu', nodes
assert nodes['layer0.matmul_0']['fused'] == ['layer0.add_0', 'relu_0'], nodes['layer0.matmul_0']
assert nodes['layer2.matmul_0']['fused'] == ['layer2.add_0'], nodes['layer2.matmul_0']
assert plan['nodes_on'] == {'cpu': 3}, plan['nodes_on']
assert plan['arena_bytes'] <= (256 + 128) * 64 * 4 + 128, plan
assert plan['output_bytes'] == 64 * 10 * 4 and plan['kernel_bytes'] > 0 and plan['threads'] >= 1, plan
"
expect 0 "$RUN" mlp.mbin --inputs x.npz --time --repeat 2
contains err "on the cpu backend" "2 more runs: median"

# One thread computes the same values (up to rounding).
expect 0 "$RUN" mlp.mbin --inputs x.npz -o one.npz --threads 1
py "
a = np.load('one.npz')['output']; b = np.load('cpu.npz')['output']
assert np.allclose(a, b, atol=1e-5, rtol=1e-5), np.abs(a - b).max()
"

# bfloat16 compute: float32 outputs within a few percent, no casts reported.
expect 0 "$RUN" mlp.mbin --inputs x.npz --dtype bfloat16 -o bf16.npz
[[ ! -s err ]] || fail "bfloat16 printed notes: $(cat err)"
py "
a = np.load('bf16.npz')['output']; b = np.load('reference.npz')['output']
assert a.dtype == np.float32
scale = np.abs(b).max()
assert np.abs(a - b).max() <= 0.05 * scale, (np.abs(a - b).max(), scale)
"
expect 0 "$RUN" mlp.mbin --inputs x.npz --dtype bfloat16 --json
cp out bf16.json
py "
r = json.load(open('bf16.json')); assert r['compute_dtype'] == 'bfloat16' and r['casts'] == [], r
# Where the matmuls ran on cpu (oneDNN has bf16 on AVX-512/AMX CPUs), the products really were bf16.
if r['plan']['nodes_on'].get('cpu'):
    assert not np.array_equal(np.load('bf16.npz')['output'], np.load('reference.npz')['output'])
"

# A small model runs on reference: preparing oneDNN primitives would cost more than the arithmetic.
expect 0 "$SAVE" simple_mlp -o small.mbin --init glorot
expect 0 "$RUN" small.mbin --random --shape input=5,10 --json
cp out small.json
py "r = json.load(open('small.json')); assert r['plan']['nodes_on'] == {'reference': 5}, r['plan']"

# float64 has no oneDNN kernels: the whole plan runs on reference, bit for bit.
expect 0 "$SAVE" mlp --arg dims=8,16,2 --arg dtype=float64 -o f64.mbin --init glorot
expect 0 "$RUN" f64.mbin --random --shape input=4,8 --json -o f64_cpu.npz
cp out f64.json
expect 0 "$RUN" f64.mbin --random --shape input=4,8 -o f64_ref.npz --backend reference
py "
r = json.load(open('f64.json'))
assert set(n['backend'] for n in r['plan']['nodes']) == {'reference'}, r['plan']
assert np.array_equal(np.load('f64_cpu.npz')['output'], np.load('f64_ref.npz')['output'])
"

# A conv net: conv2d + relu + max-pool layers on cpu agree with reference.
expect 0 "$SAVE" cnn --arg channels=3,16,16 --arg size=32 --arg hidden=32 -o cnn.mbin --init glorot
expect 0 "$RUN" cnn.mbin --random --shape input=8,3,32,32 --compare-backend reference --atol 1e-4 --rtol 1e-3 --json
cp out cnn.json
py "
r = json.load(open('cnn.json'))
assert r['compare']['pass'], r['compare']
nodes = {n['node']: n for n in r['plan']['nodes']}
assert nodes['conv0.conv2d_0']['backend'] == 'cpu', nodes
assert nodes['conv0.conv2d_0']['fused'] == ['conv0.add_0', 'relu_0', 'max_pool2d_0'], nodes['conv0.conv2d_0']
assert nodes['flatten_0']['backend'] == 'view', nodes
"

# mithril-load compiles for a backend and says which operators fall back.
expect 0 "$LOAD" mlp.mbin --backend cpu
contains out "backend: cpu runs every operator"
expect 0 "$LOAD" mlp.mbin --backend reference --json
cp out load.json
py "r = json.load(open('load.json')); assert r['backend'] == 'reference' and r['fallback_ops'] == [], r"

# Bad requests.
expect 2 "$RUN" mlp.mbin --inputs x.npz --backend gpu
contains err "--backend" "gpu"
expect 2 "$RUN" mlp.mbin --inputs x.npz --threads -2
expect 2 "$LOAD" mlp.mbin --backend tpu
finish
