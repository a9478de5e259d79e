#!/usr/bin/env bash
# Batch migration of a few thousand files of mixed versions (Python Mithril dicts, current files,
# corrupt files) in nested folders: a run killed halfway leaves every file either as it was or
# fully migrated (with a correct NAME.bak), a re-run finishes the job, bad files are reported and
# left byte-identical, and a third run is a no-op. Prints the files per second.
set -euo pipefail
BIN="${MITHRIL_BIN:?}/mithril-migrate"
PY="${PYTHON:-/usr/bin/python3}"
COUNT="${MIGRATE_BATCH_FILES:-3000}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$PY" - "$work/tree" "$COUNT" <<'PY'
import json, os, random, sys
root, count = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
acts = ["Relu", "Sigmoid", "Tanh", {"name": "LeakyRelu", "args": {"slope": 0.2}}, "Gelu", "Softplus"]
def python_dict(i):
    k = i % 7
    if k == 0: return {"name": "Linear", "assigned_differentiabilities": [["input", True]]}
    if k == 1: return {"name": "MLP", "args": {"activations": [rng.choice(acts) for _ in range(3)], "dimensions": [8, 4, 1]}}
    if k == 2: return {"name": "Model", "submodels": {"m1": {"name": "Multiply"}, "m2": {"name": "Add"}},
                       "connections": {"m1": {"left": "x", "right": {"tensor": rng.randint(1, 9)}},
                                       "m2": {"left": {"key": {"connect": [["m1", "output"]]}}, "right": "y", "output": "out%d" % i}}}
    if k == 3: return {"name": "Convolution2D", "args": {"kernel_size": 3, "out_channels": 2, "padding": rng.randint(0, 2)}}
    if k == 4: return {"name": "Sum", "args": {"axis": rng.randint(0, 2), "keepdim": rng.random() < 0.5}}
    if k == 5: return {"name": "CrossEntropy", "args": {"input_type": rng.choice(["logits", "probs", "log_probs"])}}
    return {"name": "Layer", "args": {"activation": rng.choice(acts)}}
kinds = []
for i in range(count):
    folder = os.path.join(root, "shard%02d" % (i % 17), "sub%d" % (i % 3))
    os.makedirs(folder, exist_ok=True)
    r = rng.random()
    path = os.path.join(folder, "model%05d.json" % i)
    if r < 0.70:
        text = json.dumps(python_dict(i), indent=rng.choice([None, 2]))
    elif r < 0.85:
        text = "CURRENT"  # filled in below by the tool itself
    else:
        text = rng.choice(['{"name": "Linear"', '{"name": "NoSuchModel"}', '\x00\x01garbage', '[1, 2, 3]',
                           '{"name": "Model", "submodels": {"a": {"name": "Foo"}, "b": {"name": "Bar"}}}', '',
                           '{"version": "9.0.0", "name": "m"}'])
    with open(path, "w") as f:
        f.write(text)
PY
# Current-version files: real 1.0.0 dicts written by the tool.
cur="$work/current"
mkdir -p "$cur"
echo '{"name": "MLP", "args": {"activations": ["Relu", "Sigmoid"], "dimensions": [4, 1]}}' > "$cur/a.json"
"$BIN" -q --no-backup "$cur/a.json"
grep -rl '^CURRENT$' "$work/tree" | while read -r f; do cp "$cur/a.json" "$f"; done

total=$(find "$work/tree" -name '*.json' | wc -l)
cp -a "$work/tree" "$work/pristine"

# Expected results (and the throughput measurement): a full run into another folder.
set +e
"$BIN" --jobs 2 --json --output-dir "$work/expected" "$work/pristine" > "$work/expected.report.json"
rc=$?
set -e
[ "$rc" = 2 ] || { echo "expected exit 2 (some files are corrupt), got $rc"; exit 1; }
read -r good bad fps < <("$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))
c = r["counts"]
print(c["migrated"] + c["up_to_date"], c["failed"], round(r["files_per_second"], 1))' "$work/expected.report.json")
echo "files: $total ($good good, $bad bad); full run into --output-dir with --jobs 2: $fps files/s"
cp -a "$work/pristine" "$work/inplace"
set +e
"$BIN" --jobs 2 --json "$work/inplace" > "$work/inplace.report.json"
set -e
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print("full run in place (backups, 2 fsyncs per file) with --jobs 2: %.1f files/s" % r["files_per_second"])' "$work/inplace.report.json"
rm -rf "$work/inplace"

# A run killed halfway.
set +e
timeout -s KILL 0.4 "$BIN" --jobs 2 -q "$work/tree" 2>/dev/null
set -e
"$PY" - "$work" <<'PY'
import os, sys
work = sys.argv[1]
tree, pristine, expected = (os.path.join(work, d) for d in ("tree", "pristine", "expected"))
migrated = original = temps = 0
for dirpath, _, files in os.walk(tree):
    for name in files:
        path = os.path.join(dirpath, name)
        rel = os.path.relpath(path, tree)
        data = open(path, "rb").read()
        if name.startswith("."):
            temps += 1  # a temporary file of the killed run: never the real file
            continue
        if name.endswith(".bak"):
            src = os.path.join(pristine, rel[:-4])
            assert data == open(src, "rb").read(), "backup differs from the original: " + rel
            continue
        orig = open(os.path.join(pristine, rel), "rb").read()
        exp_path = os.path.join(expected, rel)
        exp = open(exp_path, "rb").read() if os.path.exists(exp_path) else None
        if data == orig:
            original += 1
        elif data == exp:
            migrated += 1
            assert os.path.exists(path + ".bak"), "migrated without a backup: " + rel
        else:
            sys.exit("half-written or wrong file after the kill: " + rel)
print("after the kill: %d files migrated, %d untouched, %d temporary files left; none half-written" % (migrated, original, temps))
PY

# The re-run finishes the job; bad files are reported and unchanged.
set +e
"$BIN" --jobs 2 --json "$work/tree" > "$work/rerun.report.json"
rc=$?
set -e
[ "$rc" = 2 ] || { echo "re-run: expected exit 2, got $rc"; exit 1; }
"$PY" - "$work" "$bad" <<'PY'
import json, os, sys
work, bad = sys.argv[1], int(sys.argv[2])
tree, pristine, expected = (os.path.join(work, d) for d in ("tree", "pristine", "expected"))
report = json.load(open(os.path.join(work, "rerun.report.json")))
failed = [f for f in report["files"] if f["status"] == "failed"]
assert len(failed) == bad, (len(failed), bad)
assert all(f["error"].startswith(f["path"]) for f in failed), "an error does not name its file"
failed_paths = {os.path.relpath(f["path"], tree) for f in failed}
for dirpath, _, files in os.walk(pristine):
    for name in files:
        rel = os.path.relpath(os.path.join(dirpath, name), pristine)
        now = open(os.path.join(tree, rel), "rb").read()
        if rel in failed_paths:
            assert now == open(os.path.join(pristine, rel), "rb").read(), "a bad file was changed: " + rel
        else:
            assert now == open(os.path.join(expected, rel), "rb").read(), "not at the target: " + rel
            assert ('"version": "%s"' % report["target"]).encode() in now
print("re-run: every good file at " + report["target"] + ", %d bad files reported with their paths and unchanged" % bad)
PY

# A third run changes nothing.
set +e
out=$("$BIN" --verbose --jobs 2 "$work/tree" 2>&1 >/dev/null)
set -e
echo "$out" | tail -1
echo "$out" | tail -1 | grep -Eq "^mithril-migrate: 0 migrated to [0-9.]+, $good already at [0-9.]+, $bad failed"
# --check lists nothing to migrate among the good files (the bad ones still fail).
set +e
"$BIN" --check --jobs 2 "$work/tree" > "$work/check.txt" 2>/dev/null
set -e
[ ! -s "$work/check.txt" ] || { echo "--check still lists files:"; head "$work/check.txt"; exit 1; }

# Shards split the store deterministically: the union of 0/3, 1/3, 2/3 is the whole, without overlap.
for k in 0 1 2; do
  "$BIN" --check --json --shard "$k/3" "$work/pristine" | "$PY" -c 'import json,sys; [print(f["path"]) for f in json.load(sys.stdin)["files"]]' || true
done | sort > "$work/shards.txt"
[ "$(wc -l < "$work/shards.txt")" = "$total" ] && [ "$(sort -u "$work/shards.txt" | wc -l)" = "$total" ] ||
  { echo "shards do not partition the files"; exit 1; }
echo "shards 0/3 1/3 2/3 partition the $total files"
