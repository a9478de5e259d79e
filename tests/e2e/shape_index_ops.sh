#!/usr/bin/env bash
# The shape/indexing operators of issue 14 from the shell: a model chaining pad, resize, slice,
# gather along an axis, cumsum, top_k, one_hot, gather_elements and trilu runs on cpu and on
# reference, agrees with numpy (testdata/ops/numpy_oracle.py), keeps its attributes through
# .mbin and .mithril, and reports a bad index or a bad attribute with the node's name.
source "$(dirname "$0")/lib/common.bash"
: "${MITHRIL_TESTDATA:?MITHRIL_TESTDATA must name the testdata folder}"

cat >chain.json <<'EOF'
{"version": "1.1.0", "name": "chain",
 "inputs": {"image": {"shape": ["batch", 2, 4, 4], "dtype": "float32"}, "columns": {"shape": [3], "dtype": "int64"},
            "labels": {"shape": ["batch", 3], "dtype": "int64"}, "hot": {"shape": [2], "dtype": "float32"}},
 "nodes": [
  {"name": "padded", "op": "pad", "inputs": ["image"], "attributes": {"pads": [0, 0, 1, 1, 0, 0, 1, 1], "mode": "reflect"}},
  {"name": "big", "op": "resize", "inputs": ["padded"],
   "attributes": {"sizes": [-1, 2, 12, 9], "mode": "linear", "coordinate_transformation_mode": "half_pixel"}},
  {"name": "rows", "op": "slice", "inputs": ["big"],
   "attributes": {"starts": [1], "ends": [9223372036854775807], "axes": [2], "steps": [2]}},
  {"name": "picked", "op": "gather", "inputs": ["rows", "columns"], "attributes": {"axis": 3}},
  {"name": "running", "op": "cumsum", "inputs": ["picked"], "attributes": {"axis": 2, "reverse": true}},
  {"name": "best", "op": "top_k_values", "inputs": ["running"], "attributes": {"k": 2, "axis": 2}},
  {"name": "where", "op": "top_k_indices", "inputs": ["running"], "attributes": {"k": 2, "axis": 2}},
  {"name": "onehot", "op": "one_hot", "inputs": ["labels", "hot"], "attributes": {"depth": 4}},
  {"name": "upper", "op": "trilu", "inputs": ["onehot"], "attributes": {"k": 1}},
  {"name": "back", "op": "gather_elements", "inputs": ["running", "where"], "attributes": {"axis": 2}}],
 "outputs": {"best": "best", "where": "where", "upper": "upper", "back": "back"}}
EOF

py "
rng = np.random.default_rng(0)
np.savez('in.npz', image=rng.standard_normal((3, 2, 4, 4)).astype(np.float32), columns=np.array([4, -1, 0]),
         labels=rng.integers(-4, 5, (3, 3)), hot=np.array([0.5, 2], dtype=np.float32))
"
expect 0 "$RUN" chain.json --inputs in.npz -o cpu.npz
expect 0 "$RUN" chain.json --inputs in.npz -o reference.npz --backend reference
expect 0 "$CONVERT" chain.json -o chain.mbin
expect 0 "$RUN" chain.mbin --inputs in.npz -o mbin.npz --backend reference
expect 0 "$CONVERT" chain.mbin -o chain.mithril
expect 0 "$RUN" chain.mithril --inputs in.npz -o mithril.npz --backend reference
py "
sys.path.insert(0, '$MITHRIL_TESTDATA/ops')
from numpy_oracle import compute
x = dict(np.load('in.npz'))
resize = dict(sizes=[-1, 2, 12, 9], scales=[], roi=[], mode='linear', coordinate_transformation_mode='half_pixel',
              nearest_mode='round_prefer_floor', cubic_coeff_a=-0.75, exclude_outside=False, extrapolation_value=0.0)
y = compute('pad', dict(pads=[0, 0, 1, 1, 0, 0, 1, 1], mode='reflect', value=0), [x['image']])
y = compute('resize', resize, [y])
y = compute('slice', dict(starts=[1], ends=[2**63 - 1], axes=[2], steps=[2]), [y])
y = compute('gather', dict(axis=3), [y, x['columns']])
y = compute('cumsum', dict(axis=2, exclusive=False, reverse=True), [y])
top = dict(k=2, axis=2, largest=True, sorted=True)
want = dict(best=compute('top_k_values', top, [y]), where=compute('top_k_indices', top, [y]))
want['upper'] = compute('trilu', dict(upper=True, k=1), [compute('one_hot', dict(depth=4, axis=-1), [x['labels'], x['hot']])])
want['back'] = compute('gather_elements', dict(axis=2), [y, want['where']])
for name in ('cpu', 'reference', 'mbin', 'mithril'):
    got = np.load(name + '.npz')
    for key, value in want.items():
        assert got[key].dtype == value.dtype and got[key].shape == value.shape, (name, key, got[key].dtype, got[key].shape)
        assert np.allclose(got[key], value, rtol=1e-5, atol=1e-5), (name, key, np.abs(got[key] - value).max())
"

# A bad index is an error naming the node, the index and the axis, not a read out of bounds.
py "
d = dict(np.load('in.npz')); d['columns'] = np.array([0, 9, 1]); np.savez('bad.npz', **d)
"
expect_error "picked" "gather: index 9 is out of range for axis 3 of size 9" -- "$RUN" chain.json --inputs bad.npz
# A bad attribute is refused when the model is read, naming the node.
sed 's/"steps": \[2\]/"steps": [0]/' chain.json >zero_step.json
expect_error "rows" "slice: a step is 0 in steps [0]" -- "$RUN" zero_step.json --inputs in.npz

finish
