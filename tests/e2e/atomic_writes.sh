#!/usr/bin/env bash
# What an atomic rewrite keeps of the file it replaces: its permissions (a private model stays
# private, and so does its backup) and, through a symbolic link, the link itself (the file it
# points to is rewritten, like '>' would).
source "$(dirname "$0")/lib/common.bash"
MIGRATE="$MITHRIL_BIN/mithril-migrate"
OLD="$MITHRIL_TESTDATA/versioning/1.0.0_to_1.1.0/linear.before.json"

mode() { stat -c %a "$1"; }
check_eq() { checks=$((checks + 1)); [[ "$1" == "$2" ]] || fail "$3: got '$1', expected '$2'"; }

# Permissions: in-place migration and its backup keep the original mode.
cp "$OLD" private.json && chmod 600 private.json
expect 0 "$MIGRATE" -q private.json
check_eq "$(mode private.json)" 600 "mode of a migrated 0600 file"
check_eq "$(mode private.json.bak)" 600 "mode of the backup of a 0600 file"
expect 0 "$SAVE" linear -o out.json
chmod 640 out.json
expect 0 "$SAVE" linear --arg in=3 -o out.json
check_eq "$(mode out.json)" 640 "mode of an overwritten output"

# Symbolic links: the file pointed to is rewritten, the link stays a link.
mkdir -p store && cp "$OLD" store/real.json && ln -s store/real.json link.json
expect 0 "$MIGRATE" -q link.json
checks=$((checks + 1)); [[ -L link.json ]] || fail "in-place migration replaced the symbolic link by a file"
expect 0 "$MIGRATE" --check store/real.json
ln -s store/saved.json newlink.json
expect 0 "$SAVE" linear -o newlink.json
checks=$((checks + 1)); [[ -L newlink.json && -f store/saved.json ]] || fail "save through a dangling link did not create its target"

finish
