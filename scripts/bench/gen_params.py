#!/usr/bin/python3
"""Writes one parameter set for scripts/bench-mbin as OUT.npz (numpy.savez) and OUT.pt (torch.save of
the same tensors). usage: gen_params.py OUT COUNT ROWS COLS SEED
Tensors are named layer{i}.weight, standard_normal float32 (like initialised weights)."""
import sys
import numpy as np

out, count, rows, cols, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = np.random.default_rng(seed)
params = {f"layer{i}.weight": rng.standard_normal((rows, cols), dtype=np.float32) for i in range(count)}
np.savez(out + ".npz", **params)
import torch  # noqa: E402  (only after the .npz is written: the import takes a second)
torch.save({k: torch.from_numpy(v) for k, v in params.items()}, out + ".pt")
back = torch.load(out + ".pt", map_location="cpu")
assert all(np.array_equal(back[k].numpy(), v) for k, v in params.items())
