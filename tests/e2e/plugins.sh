#!/usr/bin/env bash
# Custom operators from a plugin: every tool takes --plugin PATH and honours MITHRIL_PLUGINS.
source "$(dirname "$0")/lib/common.bash"
plugin="$MITHRIL_BIN/../plugins/scale_plugin.so"
[[ -f $plugin ]] || { echo "no test plugin at $plugin (build the scale_plugin target)" >&2; exit 1; }

cat >scaled.json <<'JSON'
{"version": "1.0.0", "name": "scaled",
 "inputs": {"x": {"shape": [null, 3], "dtype": "float32"}},
 "nodes": [{"name": "s", "op": "acme.scale", "inputs": ["x"], "attributes": {"factor": 2.5}}],
 "outputs": {"y": "s"}}
JSON
echo '{"x": [[1.0, 2.0, 3.0]]}' >x.json

expect_error scaled.json "unknown operator 'acme.scale'" "--plugin" -- "$LOAD" scaled.json
expect 0 "$LOAD" scaled.json --plugin "$plugin"
contains out "op acme.scale" "float32[null,3]"
expect 0 "$RUN" scaled.json --plugin "$plugin" --inputs x.json -o y.npz
py "assert np.load('y.npz')['y'].tolist() == [[2.5, 5.0, 7.5]]"
expect 0 env MITHRIL_PLUGINS="$plugin" "$CONVERT" scaled.json -o scaled.mithril
expect 0 env MITHRIL_PLUGINS="$plugin" "$RUN" scaled.mithril --random --shape x=4,3 --compare scaled.json
expect 0 "$SAVE" scaled.json --plugin "$plugin" -o resaved.json
expect_error "/no/such/plugin.so" "cannot load" -- "$LOAD" scaled.json --plugin /no/such/plugin.so
finish
