#!/usr/bin/env bash
# mithril-load --dot (a Graphviz picture of a model, drawn by Debian's graphviz) and --depth (submodels
# expanded in the summary table): issue 10 item 20.
source "$(dirname "$0")/lib/common.bash"

expect 0 "$SAVE" simple_mlp -o model.json
expect 0 "$LOAD" model.json --dot model.dot
contains out "simple_mlp"  # the report is still printed
contains model.dot 'digraph "simple_mlp"' 'subgraph "cluster_hidden"' 'label="hidden (dense)"' \
  '"node:hidden.matmul_0" [shape=box, label="matmul_0\nmatmul"]' '"value:hidden.weight" [shape=note, label="weight\nfloat32[10,50]"]' \
  '"node:relu_0" -> "node:output_layer.matmul_0" [label="float32[batch,50]"]' '"node:hidden.add_0" -> "node:relu_0" [label="float32[null,50]"]' '"output:output" [shape=ellipse'
# dot draws it: every node and cluster is in the SVG.
checks=$((checks + 1))
dot -Tsvg model.dot >model.svg || fail "dot -Tsvg refused the picture"
py "
import xml.etree.ElementTree as ET
svg = ET.parse('model.svg').getroot()
ns = {'s': 'http://www.w3.org/2000/svg'}
titles = [t.text for t in svg.iter('{http://www.w3.org/2000/svg}title')]
for want in ['input:input', 'node:hidden.matmul_0', 'node:hidden.add_0', 'node:relu_0', 'value:hidden.weight',
             'value:output_layer.bias', 'output:output', 'cluster_hidden', 'cluster_output_layer']:
    assert want in titles, (want, titles)
"
# '-' writes the picture to stdout instead of the report; a tensor file has no graph to draw.
expect 0 "$LOAD" model.json --dot -
contains out 'digraph "simple_mlp"'
expect 0 "$SAVE" simple_mlp -o m.mbin --params p.npz
expect_error "p.npz: --dot draws a model; this file holds only tensors" -- "$LOAD" p.npz --dot x.dot

# --depth expands submodels in the summary: their parameters and steps under dotted names.
expect 0 "$LOAD" model.json
cp out flat.txt
expect 0 "$LOAD" model.json --depth 1
cp out deep.txt
contains deep.txt "hidden.weight" "hidden.matmul_0" "output_layer.bias" "output_layer.add_0"
checks=$((checks + 1))
! grep -q "hidden.matmul_0" flat.txt || fail "the default summary already expands submodels"
expect 0 "$LOAD" model.json --depth 1 --json
py "
r = json.load(open('out'))
names = [row['name'] for row in r['summary']['rows']] if 'summary' in r else [row['name'] for row in r['rows']]
assert 'hidden.matmul_0' in names and names.index('hidden') < names.index('hidden.weight') < names.index('relu_0'), names
"
expect 2 "$LOAD" model.json --depth -1
finish
