#!/usr/bin/python3
"""Times one load of FILE inside this process, import excluded (what a Python CLI pays after its
imports). usage: py_load.py numpy|torch FILE [REPS]; prints one line per rep: seconds.
numpy: z = numpy.load(FILE); {k: z[k] for k in z.files}   (every array read into memory)
torch: torch.load(FILE, map_location='cpu')                (torch 1.13 has no mmap: always a full read)
The result stays alive until the next rep or the process exit (deallocation is not timed)."""
import sys
import time

mode, path = sys.argv[1], sys.argv[2]
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 1
if mode == "numpy":
    import numpy as np

    def load():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
elif mode == "torch":
    import torch

    def load():
        return torch.load(path, map_location="cpu")
else:
    sys.exit(f"py_load.py: unknown mode {mode!r}")

d = None
for _ in range(reps):
    d = None  # free the previous result first, as the C++ helper does between in-process reps
    t = time.perf_counter()
    d = load()
    print(f"{time.perf_counter() - t:.9f}", flush=True)
