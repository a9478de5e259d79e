#!/usr/bin/env bash
# ONNX RNN, GRU and LSTM (unrolled at import, lib/onnx/onnx_import_ops_rnn.cpp) against torch:
# torch.nn.RNN/GRU/LSTM with two layers, both directions and batch_first (GRU exports
# linear_before_reset=1), a forward LSTM and a bidirectional GRU with sequence_lens written by hand, and a recurrent
# model whose sequence length is not known, which must be refused by name.
source "$(dirname "$0")/lib/common.bash"

"$PYTHON" -c "import torch, onnx" 2>/dev/null || { echo "torch or onnx is not installed: skipped"; exit 77; }

"$PYTHON" - <<'PY'
import numpy as np, torch, onnx
from onnx import helper, TensorProto, numpy_helper
torch.manual_seed(0)
for kind in ["RNN", "GRU", "LSTM"]:
    for bidir, batch_first in [(False, False), (True, True)]:
        m = getattr(torch.nn, kind)(input_size=5, hidden_size=4, num_layers=2, bidirectional=bidir, batch_first=batch_first)
        x = torch.randn((3, 6, 5) if batch_first else (6, 3, 5))
        name = "%s_%d_%d" % (kind, bidir, batch_first)
        torch.onnx.export(m, (x,), name + ".onnx", input_names=["x"], output_names=["y"], opset_version=14)
        with torch.no_grad():
            y = m(x)[0].numpy()
        np.savez(name + "_in.npz", x=x.numpy())
        np.save(name + "_want.npy", y)
# A forward LSTM over sequences of lengths 4, 2 and 0 (peepholes, clip, initial states).
S, B, I, H = 4, 3, 2, 3
rng = np.random.default_rng(0)
W = rng.standard_normal((1, 4 * H, I)).astype(np.float32)
R = rng.standard_normal((1, 4 * H, H)).astype(np.float32)
Bb = rng.standard_normal((1, 8 * H)).astype(np.float32)
P = rng.standard_normal((1, 3 * H)).astype(np.float32)
X = rng.standard_normal((S, B, I)).astype(np.float32)
h0 = rng.standard_normal((1, B, H)).astype(np.float32)
c0 = rng.standard_normal((1, B, H)).astype(np.float32)
lens = np.array([4, 2, 0], np.int32)
clip = 2.5
def sig(v): return 1 / (1 + np.exp(-v))
Y = np.zeros((S, 1, B, H), np.float32)
h, c = h0[0].copy(), c0[0].copy()
for t in range(S):
    a = X[t] @ W[0].T + h @ R[0].T + Bb[0, :4 * H] + Bb[0, 4 * H:]
    ai, ao, af, ac = np.split(a, 4, axis=1)
    i = sig(np.clip(ai + P[0, :H] * c, -clip, clip))
    f = sig(np.clip(af + P[0, 2 * H:] * c, -clip, clip))
    cn = f * c + i * np.tanh(np.clip(ac, -clip, clip))
    o = sig(np.clip(ao + P[0, H:2 * H] * cn, -clip, clip))
    hn = o * np.tanh(cn)
    live = (t < lens)[:, None]
    Y[t, 0] = np.where(live, hn, 0)
    h, c = np.where(live, hn, h), np.where(live, cn, c)
node = helper.make_node("LSTM", ["X", "W", "R", "B", "L", "h0", "c0", "P"], ["Y", "Yh", "Yc"], hidden_size=H, clip=clip)
g = helper.make_graph([node], "masked", [helper.make_tensor_value_info(n, TensorProto.FLOAT if n != "L" else TensorProto.INT32, list(v.shape))
                                         for n, v in [("X", X), ("L", lens)]],
                      [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in [("Y", [S, 1, B, H]), ("Yh", [1, B, H]), ("Yc", [1, B, H])]],
                      [numpy_helper.from_array(v, n) for n, v in [("W", W), ("R", R), ("B", Bb), ("P", P), ("h0", h0), ("c0", c0)]])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)]), "masked.onnx")
np.savez("masked_in.npz", X=X, L=lens)
np.savez("masked_want.npz", Y=Y, Yh=h[None], Yc=c[None])
# A bidirectional GRU over sequences of lengths 3, 1 and 4: the reverse direction starts at each
# sequence's own last element.
S, B, I, H = 4, 3, 2, 3
W = rng.standard_normal((2, 3 * H, I)).astype(np.float32)
R = rng.standard_normal((2, 3 * H, H)).astype(np.float32)
Bb = rng.standard_normal((2, 6 * H)).astype(np.float32)
X = rng.standard_normal((S, B, I)).astype(np.float32)
glens = np.array([3, 1, 4], np.int64)
Y = np.zeros((S, 2, B, H), np.float32)
Yh = np.zeros((2, B, H), np.float32)
for d in range(2):
    for b in range(B):
        h = np.zeros(H, np.float32)
        order = range(glens[b]) if d == 0 else range(glens[b] - 1, -1, -1)
        for t in order:
            gx = W[d] @ X[t, b] + Bb[d, :3 * H]
            z = sig(gx[:H] + R[d, :H] @ h + Bb[d, 3 * H:4 * H])
            r = sig(gx[H:2 * H] + R[d, H:2 * H] @ h + Bb[d, 4 * H:5 * H])
            hh = np.tanh(gx[2 * H:] + R[d, 2 * H:] @ (r * h) + Bb[d, 5 * H:])
            h = (1 - z) * hh + z * h
            Y[t, d, b] = h
        Yh[d, b] = h
node = helper.make_node("GRU", ["X", "W", "R", "B", "L"], ["Y", "Yh"], hidden_size=H, direction="bidirectional")
gg = helper.make_graph([node], "bigru", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [S, B, I]), helper.make_tensor_value_info("L", TensorProto.INT64, [B])],
                       [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [S, 2, B, H]), helper.make_tensor_value_info("Yh", TensorProto.FLOAT, [2, B, H])],
                       [numpy_helper.from_array(v, n) for n, v in [("W", W), ("R", R), ("B", Bb)]])
onnx.save(helper.make_model(gg, opset_imports=[helper.make_opsetid("", 14)]), "bigru.onnx")
np.savez("bigru_in.npz", X=X, L=glens)
np.savez("bigru_want.npz", Y=Y, Yh=Yh)
# The same node with an unknown sequence length.
g.input[0].type.tensor_type.shape.dim[0].dim_param = "S"
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)]), "dynamic.onnx")
PY

for kind in RNN GRU LSTM; do
  for v in 0_0 1_1; do
    name=${kind}_$v
    expect 0 "$RUN" "$name.onnx" --inputs "${name}_in.npz" -o "${name}_got.npz"
    py "got = np.load('${name}_got.npz'); want = np.load('${name}_want.npy')
y = got[got.files[0]]
# the export reshapes ONNX's Y to torch's layout
assert y.size == want.size, ('$name', y.shape, want.shape)
y = y.reshape(want.shape)
assert np.allclose(y, want, rtol=1e-4, atol=1e-5), ('$name', np.abs(y - want).max())"
  done
done
expect 0 "$RUN" masked.onnx --inputs masked_in.npz -o masked_got.npz
py "got = np.load('masked_got.npz'); want = np.load('masked_want.npz')
for k in ['Y', 'Yh', 'Yc']:
    assert np.allclose(got[k], want[k], rtol=1e-4, atol=1e-5), (k, got[k], want[k])"
expect 0 "$RUN" bigru.onnx --inputs bigru_in.npz -o bigru_got.npz
py "got = np.load('bigru_got.npz'); want = np.load('bigru_want.npz')
for k in ['Y', 'Yh']:
    assert np.allclose(got[k], want[k], rtol=1e-4, atol=1e-5), (k, got[k], want[k])"
expect_error "LSTM" "X must have a known shape" -- "$RUN" dynamic.onnx --inputs masked_in.npz -o dyn.npz
finish
