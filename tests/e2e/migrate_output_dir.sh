#!/usr/bin/env bash
# mithril-migrate --output-dir: two inputs that would land on the same output are refused before
# anything is written (one would silently overwrite the other, or both race under --jobs).
source "$(dirname "$0")/lib/common.bash"
MIGRATE="$MITHRIL_BIN/mithril-migrate"
V="$MITHRIL_TESTDATA/versioning/1.0.0_to_1.1.0"

mkdir -p tree/a tree/b
cp "$V/linear.before.json" tree/a/m.json
cp "$V/mlp.before.json" tree/b/m.json
expect_error "tree/a/m.json" "tree/b/m.json" "outdir/m.json" -- "$MIGRATE" -q --jobs 2 --output-dir outdir tree/a/m.json tree/b/m.json
checks=$((checks + 1)); [[ ! -e outdir/m.json ]] || fail "a colliding output was written"
expect_error "outdir/m.json" -- "$MIGRATE" -q --output-dir outdir tree/a tree/b
# Distinct outputs still work: the tree is mirrored.
expect 0 "$MIGRATE" -q --output-dir out2 tree
checks=$((checks + 1)); [[ -f out2/a/m.json && -f out2/b/m.json ]] || fail "--output-dir did not mirror the tree"

# One file under several spellings (a path, ./path, a link to it) is migrated once, and its
# backup holds the original.
mkdir -p spell
cp "$V/linear.before.json" spell/x.json
ln -s x.json spell/alias.json
expect 0 "$MIGRATE" --json spell/x.json ./spell/x.json spell/alias.json
"$PYTHON" -c "import json; r = json.load(open('out')); assert len(r['files']) == 1, r['files']" || fail "the same file was listed more than once"
checks=$((checks + 1)); cmp -s spell/x.json.bak "$V/linear.before.json" || fail "the backup is not the original"

# Shards split by index see the whole list: a collision is refused by every shard.
for k in 0 1; do
  expect_error "would both be written to" -- "$MIGRATE" -q --shard $k/2 --shard-by index --output-dir outdir3 tree/a/m.json tree/b/m.json
done

finish
