#!/usr/bin/env bash
# A hand-written chain of 5,000 definitions, each using the previous one (issue 10): every tool
# reads it in linear time (it took 42 s), writes it back as JSON it can read again, and runs it;
# the deepest chain allowed (6,000) runs in a 1 MiB stack; deeper nesting than the cap is refused
# with a message, not a crash.
source "$(dirname "$0")/lib/common.bash"

chain() {  # N FILE
  "$PYTHON" - "$1" "$2" <<'PY'
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
io = {"input": {"shape": [None, 4], "dtype": "float32"}}
defs = {"d0": {"name": "d0", "inputs": io, "nodes": [{"name": "r", "op": "relu", "inputs": ["input"]}], "outputs": {"output": "r"}}}
for k in range(1, n):
    defs[f"d{k}"] = {"name": f"d{k}", "inputs": io, "nodes": [{"name": "inner", "model": f"d{k - 1}", "inputs": {"input": "input"}}],
                     "outputs": {"output": "inner.output"}}
json.dump({"version": "1.1.0", "name": "chain", "inputs": io, "nodes": [{"name": "top", "model": f"d{n - 1}", "inputs": {"input": "input"}}],
           "outputs": {"output": "top.output"}, "definitions": defs}, open(path, "w"))
PY
}

chain 5000 chain.json
expect 0 timeout 30 "$LOAD" chain.json --json
py "r = json.load(open('out')); assert r['valid'] and r['totals']['nodes'] >= 1, r['totals']"
expect 0 timeout 30 "$CONVERT" chain.json -o again.json
expect 0 timeout 30 "$CONVERT" again.json -o again2.json
checks=$((checks + 1)); cmp -s again.json again2.json || fail "the written chain does not read back to the same bytes"
py "
d = json.load(open('again.json'))
depth = lambda b: max([1 + depth(n['model']) for n in b.get('nodes', []) if isinstance(n.get('model'), dict)], default=0)
assert max([depth(d)] + [depth(b) for b in d.get('definitions', {}).values()]) <= 32, 'bodies nested inline too deep'"
expect 0 timeout 30 "$RUN" chain.json --inputs <(echo '{"input": [[-1, 2, -3, 4]]}') --json
py "r = json.load(open('out')); assert r['outputs'][0]['values'] == [[0, 2, 0, 4]], r['outputs']"

# The deepest chain the format allows: reading, walking, compiling and writing it use explicit
# stacks, so every tool runs it in 1 MiB of stack (they needed more than 3 MiB when they
# recursed once per level; ASan's frames are larger, so its build keeps the default stack).
chain 6000 deepest.json
small_stack=(); sanitized || small_stack=(prlimit --stack=1048576)
expect 0 timeout 60 "${small_stack[@]}" "$LOAD" deepest.json
expect 0 timeout 60 "${small_stack[@]}" "$CONVERT" deepest.json -o deepest_again.json
expect 0 timeout 60 "${small_stack[@]}" "$RUN" deepest.json --inputs <(echo '{"input": [[-1, 2, -3, 4]]}') --json
py "r = json.load(open('out')); assert r['outputs'][0]['values'] == [[0, 2, 0, 4]], r['outputs']"

chain 6001 deep.json
expect_error "deep.json: definitions.d6000: models nested 6001 deep through definitions (at most 6000)" -- timeout 30 "$LOAD" deep.json
finish
