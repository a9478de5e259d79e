#!/usr/bin/env bash
# scripts/demo (the README's first command) runs the seed's workflow end to end and says so.
source "$(dirname "$0")/lib/common.bash"
repo=$(cd "$(dirname "$0")/../.." && pwd)
expect 0 bash "$repo/scripts/demo" --build "$MITHRIL_BIN/.." "$WORK/demo"
contains out "wrote model_structure.json" "total: 601 parameters" "wrote compiled_model.mithril" "wrote model.mbin" \
  "every checksum verified" "output  [5,1]             0             0  ok" "Max difference: 0.0" \
  "numpy reads a parameter straight out of the .mithril: True"
for f in model_structure.json model_params.npz compiled_model.mithril model.mbin; do
  checks=$((checks + 1)); [[ -s $WORK/demo/$f ]] || fail "demo did not write $f"
done
expect 2 bash "$repo/scripts/demo" --build "$WORK/no-such-build"
contains err "build first"
finish
