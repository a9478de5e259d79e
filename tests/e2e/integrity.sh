#!/usr/bin/env bash
# Integrity by default (issue 10): a corrupted .mbin tensor is refused by every tool that reads
# tensor data, naming the file and the tensor, before any value is used (no wrong outputs, no
# conversion or migration that launders the corruption into a file with fresh checksums);
# --no-verify opts out where the user asks for raw speed. Outputs are replaced as a set, and a
# read-only output is refused unless --force.
source "$(dirname "$0")/lib/common.bash"
MIGRATE="$MITHRIL_BIN/mithril-migrate"

# flip FILE OUT OFFSET: OUT is FILE with one bit of the byte at OFFSET flipped.
flip() { "$PYTHON" -c "import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[int(sys.argv[3])] ^= 1; open(sys.argv[2], 'wb').write(b)" "$@"; }
same() { checks=$((checks + 1)); cmp -s "$1" "$2" || fail "$3"; }
absent() { checks=$((checks + 1)); [[ ! -e $1 ]] || fail "$1 exists: $2"; }
no_temporaries() { checks=$((checks + 1)); ! ls -A | grep '\.tmp-' >/dev/null || fail "temporary files left: $(ls -A | grep '\.tmp-' | tr '\n' ' ')"; }

# The first tensor's data starts at the 256-byte alignment; the tensors of 'linear' are written
# in declaration order (weights, then bias), so byte 258 is inside 'weights'.
expect 0 "$SAVE" linear -o m.mbin -o m.json --params p.npz --seed 3
flip m.mbin flip.mbin 258
bad="flip.mbin: tensor 'weights': checksum mismatch (data corrupted)"

# 1. Every reader of tensor data checks each tensor it uses, by default.
expect_error "$bad" -- "$RUN" flip.mbin --random --shape input=2,10
expect_error "$bad" -- "$RUN" m.json --params flip.mbin --random --shape input=2,10
expect_error "$bad" -- "$RUN" m.mbin --random --shape input=2,10 --compare flip.mbin
expect_error "$bad" -- "$LOAD" flip.mbin
expect_error "$bad" -- "$LOAD" m.json --params flip.mbin
expect 2 "$LOAD" flip.mbin --json
py "r = json.load(open('out')); assert r['valid'] is False and 'checksum mismatch' in r['error'], r"
# The intact file passes and says so; --no-verify is the explicit opt-out (and says nothing was checked).
expect 0 "$LOAD" m.mbin
contains out "checksums verified"
expect 0 "$LOAD" flip.mbin --no-verify
checks=$((checks + 1)); ! grep -q "checksums verified" out || fail "--no-verify claims verified checksums"
expect 0 "$RUN" flip.mbin --random --shape input=2,10 --no-verify -o raw.npz
expect 2 "$LOAD" flip.mbin --verify --no-verify

# 2. Converting and migrating verify everything they copy and refuse, naming the tensor; nothing
# is written and the input is left as it was.
cp flip.mbin flip.orig
for out in x.mithril x.mbin x.json; do
  expect_error "$bad" -- "$CONVERT" flip.mbin -o $out
  absent $out "convert of a corrupted file wrote $out"
done
expect_error "$bad" -- "$CONVERT" flip.mbin --params-out x.npz
absent x.npz "convert --params-out of a corrupted file wrote it"
expect_error "$bad" -- "$SAVE" flip.mbin -o x.mithril
absent x.mithril "save from a corrupted file wrote it"
# Migration: an older .mbin (made by a lossless downgrade), corrupted, is refused in place with
# and without a backup; neither the file nor a backup is touched or made.
cp m.mbin old.mbin
expect 0 "$MIGRATE" -q --no-backup --to 1.0.0 old.mbin
flip old.mbin oldflip.mbin 258
cp oldflip.mbin oldflip.orig
expect 2 "$MIGRATE" -q --no-backup oldflip.mbin
contains err "oldflip.mbin: tensor 'weights': checksum mismatch (data corrupted)"
same oldflip.mbin oldflip.orig "a refused migration changed the file"
expect 2 "$MIGRATE" -q oldflip.mbin
same oldflip.mbin oldflip.orig "a refused migration (with backup) changed the file"
absent oldflip.mbin.bak "a refused migration left a backup"
expect 2 "$MIGRATE" -q --output-dir migrated oldflip.mbin
absent migrated/oldflip.mbin "a refused migration wrote to --output-dir"
same flip.mbin flip.orig "a refused conversion changed its input"
no_temporaries
# The intact older file migrates.
expect 0 "$MIGRATE" -q --no-backup old.mbin
expect 0 "$LOAD" old.mbin --verify

# 3. Several outputs are replaced as a set: when one cannot be written, none is replaced.
expect 0 "$SAVE" mlp --arg dims=100,1000,1 -o big.json -o big.mbin --params big.npz --seed 1
cp big.json big.json.orig && cp big.mbin big.mbin.orig && cp big.npz big.npz.orig
# A full disk, as the writer meets it: files may not grow past 100 KiB (EFBIG; SIGXFSZ ignored).
# The structure JSON fits, the .mbin does not.
checks=$((checks + 1))
rc=0
(trap '' XFSZ && ulimit -f 100 && exec "$SAVE" mlp --arg dims=100,1000,2 -o big.json -o big.mbin --params big.npz --seed 2) \
  2>err || rc=$?
[[ $rc -eq 2 ]] || fail "save on a 'full disk' exited $rc, expected 2"
contains err "big.mbin"
same big.json big.json.orig "the structure JSON was replaced although the .mbin could not be written"
same big.mbin big.mbin.orig "the .mbin was changed"
same big.npz big.npz.orig "the parameters were replaced although the .mbin could not be written"
no_temporaries
# An output that cannot be created at all (no such folder) after one that could.
expect_error "no_such_folder" -- "$SAVE" mlp --arg dims=100,1000,2 -o big.json -o no_such_folder/big.mbin --seed 2
same big.json big.json.orig "the structure JSON was replaced although the second output failed"
expect_error "no_such_folder" -- "$CONVERT" big.mbin -o big.json --params-out no_such_folder/p.npz
same big.json big.json.orig "convert replaced -o although --params-out failed"
no_temporaries

# 4. A read-only output is refused (as a shell redirect or numpy.save would), unless --force.
expect 0 "$SAVE" linear -o ro.json -o ro.mbin --seed 1
chmod 444 ro.json
cp ro.json ro.orig
expect_error "ro.json: read-only file (mode 0444), not replaced" "--force" -- "$SAVE" linear --arg in=3 -o ro.json
same ro.json ro.orig "a read-only output was replaced"
cp ro.mbin ro.mbin.orig
expect_error "ro.json: read-only" -- "$SAVE" linear --arg in=3 -o ro.mbin -o ro.json
same ro.mbin ro.mbin.orig "the writable output was replaced although the read-only one was refused"
expect_error "ro.json: read-only" -- "$CONVERT" ro.mbin -o ro.json
chmod 444 raw.npz
expect_error "raw.npz: read-only" -- "$RUN" m.mbin --random --shape input=2,10 -o raw.npz
expect 0 "$SAVE" linear --arg in=3 -o ro.json --force
checks=$((checks + 1)); [[ $(stat -c %a ro.json) == 444 ]] || fail "--force changed the mode of the replaced file"
py "d = json.load(open('ro.json')); assert d['inputs']['input']['shape'] == [None, 3], d['inputs']"
expect 0 "$RUN" m.mbin --random --shape input=2,10 -o raw.npz --force
# Migration in place of a read-only file: refused (the file is listed as failed), --force migrates.
cp "$MITHRIL_TESTDATA/versioning/1.0.0_to_1.1.0/linear.before.json" ro_old.json
chmod 444 ro_old.json
cp ro_old.json ro_old.orig
expect 2 "$MIGRATE" -q --no-backup ro_old.json
contains err "ro_old.json: read-only file (mode 0444)"
same ro_old.json ro_old.orig "migrate replaced a read-only file"
expect 0 "$MIGRATE" -q --no-backup --force ro_old.json
expect 0 "$MIGRATE" --check ro_old.json
no_temporaries

finish
