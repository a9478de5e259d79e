#!/usr/bin/env bash
# The README's tool examples (the first ```sh block under "## The tools") run in order, as
# written, in an empty folder, with the built tools first on PATH: every command succeeds and
# makes what the next one uses (issue 10).
source "$(dirname "$0")/lib/common.bash"
readme="$MITHRIL_TESTDATA/../README.md"
"$PYTHON" - "$readme" >examples.sh <<'PY'
import sys
text = open(sys.argv[1]).read()
section = text[text.index("## The tools"):]
start = section.index("```sh\n") + len("```sh\n")
print(section[start:section.index("```", start)])
PY
checks=$((checks + 1))
[[ $(grep -c '^mithril-' examples.sh) -ge 10 ]] || fail "the README block has fewer commands than expected: $(cat examples.sh)"
checks=$((checks + 1))
if ! PATH="$MITHRIL_BIN:$PATH" bash -euo pipefail -x examples.sh >examples.out 2>examples.err; then
  fail "a README example failed:"
  tail -5 examples.err >&2
fi
for f in model.json params.npz model.mithril model.mbin params_again.npz params.safetensors sd.pt x.json y.npz y_pt.npz models/model.json; do
  checks=$((checks + 1)); [[ -s $f ]] || fail "the README examples did not make $f"
done
py "y = np.load('y.npz'); assert y['output'].shape == (1, 1), dict(y)
assert np.allclose(np.load('y_pt.npz')['output'], y['output'], rtol=1e-5, atol=1e-6), 'the .pt round trip changed the outputs'"
finish
