#!/usr/bin/python3
"""Writes the .npy/.npz fixtures of tests/io with the real numpy, plus expected.txt.

Run with the interpreter that has numpy (Debian: /usr/bin/python3):
    /usr/bin/python3 testdata/npy/make_fixtures.py

expected.txt has one line per array:
    <file> <member key or -> <dtype name> <shape as 2,3,4 or - for 0-d> <hex of C-order little-endian bytes or ->
Files under bad/ are valid numpy output that our reader must refuse (dtype it does not support).
"""
import io
import os
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128"]
lines = []


def values(dtype, shape, seed):
    """Deterministic values, including extremes and special floats."""
    dt = np.dtype(dtype)
    n = int(np.prod(shape)) if shape else 1
    rng = np.random.default_rng(seed)
    if dt.kind == "b":
        flat = rng.integers(0, 2, n).astype(bool)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        flat = rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)
        flat[: min(n, 2)] = [info.min, info.max][: min(n, 2)]
    else:
        real = dt.kind == "f"
        part = dt if real else np.dtype("f%d" % (dt.itemsize // 2))
        flat = (rng.standard_normal(n) * 1000).astype(part)
        special = np.array([np.nan, np.inf, -np.inf, -0.0, np.finfo(part).tiny / 4, np.finfo(part).max], dtype=part)
        flat[: min(n, len(special))] = special[: min(n, len(special))]
        if not real:
            imag = (rng.standard_normal(n) * 3).astype(part)
            flat = flat.astype(dt) + 1j * imag.astype(dt)
            flat = flat.astype(dt)
    return flat.reshape(shape)


def record(file, key, a):
    native = np.ascontiguousarray(a.astype(a.dtype.newbyteorder("<")))
    shape = ",".join(str(d) for d in a.shape) if a.ndim else "-"
    data = native.tobytes().hex() or "-"
    lines.append(f"{file} {key} {a.dtype.name} {shape} {data}")


def save_npy(name, a, version=None):
    path = os.path.join(HERE, name)
    if version is None:
        np.save(path, a)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, a, version=version)
    record(name, "-", a)


def main():
    seed = 0
    # Every dtype x byte order x memory order, 3-D so Fortran data really need reordering.
    for dtype in DTYPES:
        orders = ["<", ">"] if np.dtype(dtype).itemsize > 1 else ["|"]
        for bo in orders:
            for order in "CF":
                seed += 1
                a = values(dtype, (2, 3, 4), seed).astype(np.dtype(dtype).newbyteorder(bo) if bo != "|" else dtype)
                a = np.asfortranarray(a) if order == "F" else np.ascontiguousarray(a)
                tag = {"<": "le", ">": "be", "|": "na"}[bo]
                save_npy(f"{dtype}_{tag}_{order}.npy", a)
    # Shapes: 0-d, empty, 1-D, 2-D Fortran.
    save_npy("scalar_f8.npy", np.array(3.5))
    save_npy("scalar_bool.npy", np.array(True))
    save_npy("scalar_i4_be.npy", np.array(-7, dtype=">i4"))
    save_npy("empty_f4.npy", np.zeros((0, 3), dtype="<f4"))
    save_npy("empty_i8_be_F.npy", np.asfortranarray(np.zeros((2, 0), dtype=">i8")))
    save_npy("empty_1d_bool.npy", np.zeros((0,), dtype=bool))
    save_npy("vector_u2_be.npy", np.arange(5, dtype=">u2"))
    save_npy("matrix_c8_be_F.npy", np.asfortranarray(values("complex64", (3, 5), 99).astype(">c8")))
    # Header versions.
    base = values("float32", (4, 3), 100)
    save_npy("version_1_0.npy", base, (1, 0))
    save_npy("version_2_0.npy", base, (2, 0))
    save_npy("version_3_0.npy", np.asfortranarray(base.astype(">f4")), (3, 0))

    # Archives: stored and deflated, dotted names, positional arrays, mixed orders; and an empty one.
    arrays = {
        "hidden.weight": values("float32", (3, 4), 200),
        "hidden.bias": values("float32", (4,), 201),
        "out.w_be_F": np.asfortranarray(values("float64", (2, 3), 202).astype(">f8")),
        "steps": np.array(12345, dtype="<i8"),
        "mask": values("bool", (5,), 203),
        "empty": np.zeros((0, 2), dtype="<f2"),
        "z": values("complex128", (2, 2), 204).astype(">c16"),
    }
    positional = values("int16", (3,), 205)
    for name, fn in (("savez.npz", np.savez), ("savez_compressed.npz", np.savez_compressed)):
        fn(os.path.join(HERE, name), positional, **arrays)
        record(name, "arr_0", positional)
        for key, a in arrays.items():
            record(name, key, a)
    np.savez(os.path.join(HERE, "empty.npz"))

    # Valid numpy output we refuse.
    bad = os.path.join(HERE, "bad")
    os.makedirs(bad, exist_ok=True)
    np.save(os.path.join(bad, "object.npy"), np.array([1, "a", None], dtype=object), allow_pickle=True)
    np.save(os.path.join(bad, "longdouble.npy"), np.zeros(3, dtype=np.longdouble))
    np.save(os.path.join(bad, "clongdouble.npy"), np.zeros(3, dtype=np.clongdouble))
    np.save(os.path.join(bad, "unicode.npy"), np.array(["ab", "c"]))
    np.save(os.path.join(bad, "bytes.npy"), np.array([b"ab", b"c"]))
    np.save(os.path.join(bad, "structured.npy"), np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]))
    np.save(os.path.join(bad, "datetime.npy"), np.array(["2020-01-01"], dtype="datetime64[D]"))
    np.save(os.path.join(bad, "void.npy"), np.zeros(2, dtype="V4"))
    np.savez(os.path.join(bad, "object.npz"), ok=np.zeros(2), obj=np.array([None, 1], dtype=object))

    with open(os.path.join(HERE, "expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
