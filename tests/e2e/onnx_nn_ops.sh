#!/usr/bin/env bash
# The nn operators ONNX models need (issue 14), from the shell: a small CNN written as a structure
# JSON — conv2d, batch_norm, prelu, max_pool2d with ONNX's -inf padding and ceil_mode,
# conv_transpose2d, avg_pool2d, layer_norm, log_softmax, argmax — runs through mithril-run on the
# cpu and reference backends and agrees with torch's own functions; a bad pool is refused by name.
source "$(dirname "$0")/lib/common.bash"

"$PYTHON" -c "import torch" 2>/dev/null || { echo "torch is not installed: skipped"; exit 77; }

cat >cnn.json <<'EOF'
{
  "version": "1.1.0",
  "name": "cnn",
  "inputs": {"image": {"shape": ["N", 3, 30, 30], "dtype": "float32"}},
  "parameters": {
    "w": {"shape": [16, 3, 3, 3], "dtype": "float32"},
    "bn_scale": {"shape": [16], "dtype": "float32"},
    "bn_bias": {"shape": [16], "dtype": "float32"},
    "bn_mean": {"shape": [16], "dtype": "float32"},
    "bn_var": {"shape": [16], "dtype": "float32"},
    "slope": {"shape": [16, 1, 1], "dtype": "float32"},
    "wt": {"shape": [16, 4, 3, 3], "dtype": "float32"},
    "ln_scale": {"shape": [1024], "dtype": "float32"},
    "ln_bias": {"shape": [1024], "dtype": "float32"}
  },
  "nodes": [
    {"name": "conv", "op": "conv2d", "inputs": ["image", "w"], "attributes": {"padding": [1, 1, 1, 1]}},
    {"name": "bn", "op": "batch_norm", "inputs": ["conv", "bn_scale", "bn_bias", "bn_mean", "bn_var"]},
    {"name": "act", "op": "prelu", "inputs": ["bn", "slope"]},
    {"name": "pool", "op": "max_pool2d", "inputs": ["act"],
     "attributes": {"kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1, 1, 1], "pad_with_neg_inf": true, "ceil_mode": true}},
    {"name": "up", "op": "conv_transpose2d", "inputs": ["pool", "wt"],
     "attributes": {"stride": [2, 2], "padding": [1, 1, 1, 1], "output_padding": [1, 1]}},
    {"name": "avg", "op": "avg_pool2d", "inputs": ["up"], "attributes": {"kernel_size": [2, 2], "stride": [2, 2]}},
    {"name": "flat", "op": "flatten", "inputs": ["avg"], "attributes": {"start_dim": 1}},
    {"name": "ln", "op": "layer_norm", "inputs": ["flat", "ln_scale", "ln_bias"]},
    {"name": "logp", "op": "log_softmax", "inputs": ["ln"]},
    {"name": "class", "op": "argmax", "inputs": ["logp"], "attributes": {"axis": 1, "keepdims": false}}
  ],
  "outputs": {"logp": "logp", "class": "class"}
}
EOF

"$PYTHON" -c "
import numpy as np, torch
import torch.nn.functional as F
g = torch.Generator().manual_seed(0)
r = lambda *s: torch.randn(*s, generator=g)
p = {'w': r(16, 3, 3, 3) * 0.3, 'bn_scale': r(16), 'bn_bias': r(16), 'bn_mean': r(16) * 0.1,
     'bn_var': torch.rand(16, generator=g) + 0.5, 'slope': torch.rand(16, 1, 1, generator=g) * 0.3,
     'wt': r(16, 4, 3, 3) * 0.2, 'ln_scale': r(1024), 'ln_bias': r(1024)}
x = r(8, 3, 30, 30)
y = F.conv2d(x, p['w'], padding=1)
y = F.batch_norm(y, p['bn_mean'], p['bn_var'], p['bn_scale'], p['bn_bias'], training=False, eps=1e-5)
y = F.prelu(y, p['slope'].reshape(16))
y = F.max_pool2d(y, 3, 2, 1, ceil_mode=True)
y = F.conv_transpose2d(y, p['wt'], stride=2, padding=1, output_padding=1)
y = F.avg_pool2d(y, 2, 2)
y = F.layer_norm(y.flatten(1), (1024,), p['ln_scale'], p['ln_bias'], eps=1e-5)
y = F.log_softmax(y, dim=1)
np.savez('p.npz', **{k: v.numpy() for k, v in p.items()})
np.savez('x.npz', image=x.numpy())
np.savez('want.npz', logp=y.numpy(), cls=y.argmax(1).numpy())
"

expect 0 "$RUN" cnn.json --params p.npz --inputs x.npz -o cpu.npz --json
cp out plan.json
expect 0 "$RUN" cnn.json --params p.npz --inputs x.npz -o reference.npz --backend reference
py "
want = np.load('want.npz')
for name in ('cpu', 'reference'):
    got = np.load(name + '.npz')
    assert got['logp'].shape == (8, 1024) and got['logp'].dtype == np.float32, (name, got['logp'].shape)
    assert np.allclose(got['logp'], want['logp'], atol=1e-4, rtol=1e-4), (name, np.abs(got['logp'] - want['logp']).max())
    assert got['class'].dtype == np.int64 and (got['class'] == want['cls']).all(), (name, got['class'], want['cls'])
# The large nodes ran on oneDNN (layer_norm and log_softmax on 8 x 1024 are too small to be worth it).
nodes = {n['node']: n for n in json.load(open('plan.json'))['plan']['nodes']}
for node in ('conv', 'bn', 'act', 'pool', 'up'):
    assert nodes[node]['backend'] == 'cpu', (node, nodes[node])
"
expect 0 "$RUN" cnn.json --params p.npz --inputs x.npz --compare-backend reference --atol 1e-5 --rtol 1e-4
contains out "result: same outputs within tolerance"

# ONNX padding must be smaller than the window: refused with the node and both lists named.
sed 's/"padding": \[1, 1, 1, 1\], "pad_with_neg_inf"/"padding": [3, 3, 3, 3], "pad_with_neg_inf"/' cnn.json >bad.json
expect_error "pool" "max_pool2d" "padding [3,3,3,3] must be smaller than the window [3,3]" -- "$RUN" bad.json --params p.npz --inputs x.npz

finish
