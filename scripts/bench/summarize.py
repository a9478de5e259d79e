#!/usr/bin/python3
"""Turns the raw timings of scripts/bench-mbin into markdown tables, ratios and PASS/FAIL lines.
usage: summarize.py TIMES.tsv SIZES.tsv
TIMES.tsv: set, kind (fresh | inproc), method, seconds   (one line per measurement)
SIZES.tsv: set, format, bytes, payload bytes"""
import collections
import statistics
import sys

times_path, sizes_path = sys.argv[1], sys.argv[2]

METHODS = [  # key, label
    ("mbin-open", "`.mbin` open (`MbinFile::open`)"),
    ("mbin-touch", "`.mbin` open + touch every page of every view (mapped, unchecked: `--no-verify`)"),
    ("mbin-view-checked", "`.mbin` open + `view` of every tensor, XXH3 checked (mapped, the default)"),
    ("mbin-eager", "`.mbin` eager (`open` + `load_all`, XXH3 checked while copying: the default)"),
    ("mbin-eager-unchecked", "`.mbin` eager, unchecked (`--no-verify`)"),
    ("memcpy-fresh", "baseline: mmap file + `memcpy` into a fresh malloc'd buffer"),
    ("memcpy-populate", "same `memcpy`, `madvise(MADV_POPULATE_WRITE)` on the fresh buffer first"),
    ("memcpy-warm", "reference: same `memcpy` into a prefaulted buffer"),
    ("npz-ours", "our `read_npz` (`.npz`)"),
    ("numpy", "`numpy.load` (`.npz`) + materialize every array"),
    ("torch", "`torch.load` (`.pt`, `map_location='cpu'`)"),
    ("pt-ours", "our `read_torch_file` (the same `.pt`)"),
    ("st-open", "our `read_safetensors` (`.safetensors`: map + header, zero-copy views)"),
    ("st-touch", "our `read_safetensors` + touch every page of every view (mapped)"),
    ("st-eager", "our `read_safetensors` + an owned copy of every tensor"),
    ("mbin-eager-plain", "eager without the `MADV_POPULATE_WRITE` prefault (`load()` before this change)"),
    ("mbin-eager-thp", "what-if: eager-plain + `madvise(MADV_HUGEPAGE)` on each destination"),
    ("memcpy-thp", "what-if: baseline `memcpy` into a 2 MiB-aligned `MADV_HUGEPAGE` buffer"),
    ("mbin-eager-glibc-thp", "what-if: eager with `GLIBC_TUNABLES=glibc.malloc.hugetlb=1`"),
]
LABEL = dict(METHODS)

data = collections.defaultdict(list)  # (set, kind, method) -> [seconds]
sets = []
for line in open(times_path):
    s, kind, method, sec = line.split()
    data[(s, kind, method)].append(float(sec))
    if s not in sets:
        sets.append(s)
sizes = {}
payload = {}
for line in open(sizes_path):
    s, fmt, n, pay = line.split()
    sizes[(s, fmt)] = int(n)
    payload[s] = int(pay)


def med(s, m, kind="fresh"):
    v = data.get((s, kind, m))
    return statistics.median(v) if v else None


def mn(s, m, kind="fresh"):
    v = data.get((s, kind, m))
    return min(v) if v else None


def ms(x):
    if x is None:
        return "–"
    if x < 0.001:
        return f"{x * 1e3:.3f}"
    if x < 0.1:
        return f"{x * 1e3:.2f}"
    return f"{x * 1e3:.0f}"


def gibs(s, x):
    return "–" if not x else f"{payload[s] / x / 2**30:.2f}"


def human(n):
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 2**10:.2f} KiB"


out = []
p = out.append
p("### Load times, fresh process per measurement (ms; median and min over the runs)\n")
p("Timed inside the process: exec, dynamic loading and Python's `import` are excluded; deallocation is not timed.\n")
hdr = "| method |" + "".join(f" {s}: median | min | GiB/s (median) |" for s in sets)
p(hdr)
p("|---|" + "---:|---:|---:|" * len(sets))
for key, label in METHODS:
    if not any(data.get((s, "fresh", key)) for s in sets):
        continue
    row = f"| {label} |"
    for s in sets:
        row += f" {ms(med(s, key))} | {ms(mn(s, key))} | {gibs(s, med(s, key))} |"
    p(row)
n_runs = sorted({len(v) for (s, k, m), v in data.items() if k == "fresh"})
p(f"\nRuns per cell: {', '.join(map(str, n_runs))} (fresh processes, methods interleaved round-robin).\n")

inproc = [(key, label) for key, label in METHODS if any(data.get((s, "inproc", key)) for s in sets)]
if inproc:
    p("### Same loads repeated inside one process (ms; median and min of the repetitions after the first)\n")
    p("Freed memory is reused by the allocator here, so most page faults are gone: not what a CLI pays.\n")
    p("| method |" + "".join(f" {s}: median | min |" for s in sets))
    p("|---|" + "---:|---:|" * len(sets))
    for key, label in inproc:
        row = f"| {label} |"
        for s in sets:
            v = data.get((s, "inproc", key), [])[1:]
            row += f" {ms(statistics.median(v)) if v else '–'} | {ms(min(v)) if v else '–'} |"
        p(row)
    p("")

p("### File sizes\n")
fmts = [("mbin", "`.mbin`"), ("npz", "`.npz` (`numpy.savez`)"), ("pt", "`.pt` (`torch.save`)"),
        ("safetensors", "`.safetensors` (spec writer)")]
p("| file |" + "".join(f" {s} |" for s in sets))
p("|---|" + "---:|" * len(sets))
p("| tensor payload |" + "".join(f" {payload[s]:,} B ({human(payload[s])}) |" for s in sets))
for fmt, label in fmts:
    p(f"| {label} |" + "".join(f" {sizes[(s, fmt)]:,} B ({sizes[(s, fmt)] / payload[s]:.4f}× payload) |" for s in sets))
p("")

p("### Targets (medians of the fresh-process runs; min-based ratio in brackets)\n")
p("| set | target | measured | verdict |")
p("|---|---|---|---|")
verdicts = []


def target(s, what, measured, ok):
    verdicts.append(ok)
    p(f"| {s} | {what} | {measured} | {'PASS' if ok else 'FAIL'} |")


def have(s, *methods):
    return all(med(s, m) for m in methods)


for s in sets:
    if have(s, "mbin-open"):
        o, omin = med(s, "mbin-open"), mn(s, "mbin-open")
        target(s, "`.mbin` open < 1 ms", f"{o * 1e3:.3f} ms (min {omin * 1e3:.3f} ms)", o < 0.001)
    if have(s, "mbin-eager", "memcpy-fresh"):
        e, c = med(s, "mbin-eager"), med(s, "memcpy-fresh")
        r = e / c
        target(s, "eager ≤ 1.5× memcpy into fresh memory", f"{r:.2f}× ({mn(s, 'mbin-eager') / mn(s, 'memcpy-fresh'):.2f}×)",
               r <= 1.5)
    if have(s, "mbin-eager", "numpy"):
        e, nl = med(s, "mbin-eager"), med(s, "numpy")
        r = nl / e
        target(s, "eager ≥ 5× faster than `numpy.load` of the `.npz`",
               f"{r:.1f}× faster ({mn(s, 'numpy') / mn(s, 'mbin-eager'):.1f}×)", r >= 5)
    mb, nz = sizes[(s, "mbin")], sizes[(s, "npz")]
    target(s, "`.mbin` size ≤ `.npz` size", f"{mb:,} vs {nz:,} B ({mb / nz:.4f}×)", mb <= nz)
p("")

p("### Other ratios (medians of the fresh-process runs)\n")
p("| ratio |" + "".join(f" {s} |" for s in sets))
p("|---|" + "---:|" * len(sets))


def ratio_row(label, a, b):
    cells = []
    for s in sets:
        x, y = med(s, a), med(s, b)
        cells.append(f"{x / y:.2f}" if x and y else "–")
    p(f"| {label} |" + "".join(f" {c} |" for c in cells))


ratio_row("eager / memcpy into a fresh buffer populated first (same technique as eager)", "mbin-eager", "memcpy-populate")
ratio_row("eager / memcpy into a prefaulted buffer", "mbin-eager", "memcpy-warm")
ratio_row("memcpy fresh / memcpy prefaulted (page-fault tax)", "memcpy-fresh", "memcpy-warm")
ratio_row("`torch.load` / eager", "torch", "mbin-eager")
ratio_row("`numpy.load` / our `read_npz`", "numpy", "npz-ours")
ratio_row("`torch.load` / our `read_torch_file` (same `.pt`)", "torch", "pt-ours")
ratio_row("`torch.load` / our `read_safetensors` + touch (mapped)", "torch", "st-touch")
ratio_row("`torch.load` / our `read_safetensors` + copy", "torch", "st-eager")
ratio_row("our `read_torch_file` / `.mbin` eager", "pt-ours", "mbin-eager")
ratio_row("our `read_npz` / eager", "npz-ours", "mbin-eager")
ratio_row("eager / mapped touch", "mbin-eager", "mbin-touch")
ratio_row("cost of checking, mapped: checked views / unchecked touch", "mbin-view-checked", "mbin-touch")
ratio_row("cost of checking, eager: checked / unchecked", "mbin-eager", "mbin-eager-unchecked")
ratio_row("`numpy.load` / mapped touch", "numpy", "mbin-touch")
ratio_row("what-if eager-plain + THP / eager", "mbin-eager-thp", "mbin-eager")
ratio_row("what-if eager glibc hugetlb / eager", "mbin-eager-glibc-thp", "mbin-eager")
ratio_row("eager / eager without the prefault", "mbin-eager", "mbin-eager-plain")
ratio_row("what-if eager-plain + THP / memcpy-thp", "mbin-eager-thp", "memcpy-thp")
p("")
p(f"**{sum(verdicts)} of {len(verdicts)} targets met.**")
print("\n".join(out))
