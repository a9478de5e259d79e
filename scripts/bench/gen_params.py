#!/usr/bin/python3
"""Writes one parameter set for scripts/bench-mbin as OUT.npz (numpy.savez), OUT.safetensors (written
here from the format's specification) and OUT.pt (torch.save of the same tensors).
usage: gen_params.py OUT COUNT ROWS COLS SEED
Tensors are named layer{i}.weight, standard_normal float32 (like initialised weights)."""
import sys
import numpy as np

out, count, rows, cols, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = np.random.default_rng(seed)
params = {f"layer{i}.weight": rng.standard_normal((rows, cols), dtype=np.float32) for i in range(count)}
np.savez(out + ".npz", **params)
import json, struct  # noqa: E402
header, offset = {}, 0
for k, v in params.items():
    header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [offset, offset + v.nbytes]}
    offset += v.nbytes
text = json.dumps(header).encode()
text += b" " * ((8 - (8 + len(text)) % 8) % 8)
with open(out + ".safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text)
    for v in params.values():
        f.write(v.tobytes())
import torch  # noqa: E402  (only after the .npz is written: the import takes a second)
torch.save({k: torch.from_numpy(v) for k, v in params.items()}, out + ".pt")
back = torch.load(out + ".pt", map_location="cpu")
assert all(np.array_equal(back[k].numpy(), v) for k, v in params.items())
