#!/usr/bin/env bash
# The nn/math operators against ONNX's own conformance data (Debian's libonnx-testdata): every
# single-node case of an operator they implement, written as our operator by hand (no importer),
# runs through mithril-run on both backends and matches ONNX's expected output (rtol 1e-3, atol 1e-7).
source "$(dirname "$0")/lib/common.bash"

NODE_DATA=/usr/share/libonnx-testdata/data/node
[[ -d $NODE_DATA ]] || { echo "libonnx-testdata is not installed: skipped"; exit 77; }
"$PYTHON" -c "import onnx" 2>/dev/null || { echo "python3-onnx is not installed: skipped"; exit 77; }

for backend in reference cpu; do
  expect 0 "$PYTHON" "$MITHRIL_TESTDATA/ops/onnx_node_run.py" "$RUN" "$backend" "$NODE_DATA"
  [[ $(cat out) =~ ^pass\ ([0-9]+)\ fail\ 0 ]] || fail "$backend: $(head -5 out)"
  # At least the 206 cases these operators passed when the script was written.
  (( ${BASH_REMATCH[1]:-0} >= 206 )) || fail "$backend: only ${BASH_REMATCH[1]:-0} cases ran: $(head -1 out)"
done

finish
