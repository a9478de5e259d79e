#!/usr/bin/env bash
# The tools' features one by one: load tables and --json, bare tensor files, conversions both
# ways and their determinism, '-' for stdin/stdout, --dtype casts, --compare failing, save from
# an existing artifact, zoo arguments, JSON inputs.
source "$(dirname "$0")/lib/common.bash"

expect 0 "$SAVE" simple_mlp -o model.json --params params.npz -o model.mithril -o model.mbin --seed 3
expect 0 "$SAVE" mlp --arg dims=4,8,8,2 --arg activation=tanh -o mlp.mithril --seed 1
expect 0 "$SAVE" linear --arg in=3 --arg out=2 -o linear.json --params linear.npz --json
cp out save_report.json
py "
r = json.load(open('save_report.json'))
assert r['model'] == 'linear' and r['parameter_tensors'] == 2 and r['parameter_count'] == 8, r
assert [w['kind'] for w in r['written']] == ['structure json', 'npz'] and all(w['bytes'] > 0 for w in r['written']), r
assert 'initializers, seed 0' in r['parameter_source'], r
"

# mithril-load: the summary table and --json.
expect 0 "$LOAD" model.mithril
contains out "model 'simple_mlp'" "hidden" "model dense" "float32[null,50]" "550" "relu_0" "op relu" \
  "output_layer" "51" "total: 601 parameters in 4 tensors" "5 operator nodes" "shapes and dtypes match"
expect 0 "$LOAD" mlp.mithril
contains out "layer0" "layer2" "op tanh" "float32[null,2]" "total: 130 parameters"
expect 0 "$LOAD" model.json
contains out "parameters: none (structure only"
expect 0 "$LOAD" model.json --params params.npz --json
cp out load.json
py "
r = json.load(open('load.json'))
assert r['valid'] and r['has_parameters'] and r['model'] == 'simple_mlp' and r['format_version'] == json.load(open('model.json'))['version'], r
rows = {row['name']: row for row in r['rows']}
assert rows['hidden']['kind'] == 'model' and rows['hidden']['parameters'] == 550 and rows['hidden']['shape'] == 'float32[null,50]'
assert rows['relu_0']['what'] == 'relu'
assert r['totals'] == {'parameter_tensors': 4, 'parameters': 601, 'bytes': 2404, 'nodes': 5, 'counts_known': True}, r['totals']
assert {p['name']: p['shape'] for p in r['parameters']}['hidden.weight'] == [10, 50]
"
expect 0 "$LOAD" model.mbin --verify --json
cp out verify.json
py "r = json.load(open('verify.json')); assert r['verified'] is True and r['metadata']['format'] == 'mithril', r"
expect 0 "$LOAD" -q model.mithril
checks=$((checks + 1)); [[ ! -s out ]] || fail "-q printed something"

# A corrupted tensor in an .mbin: every tensor used is checked by default (tests/e2e/integrity.sh
# covers every tool); --no-verify skips the checksums, --verify adds the padding.
"$PYTHON" -c "
b = bytearray(open('model.mbin', 'rb').read()); b[300] ^= 0xff; open('corrupt.mbin', 'wb').write(b)"
expect_error "corrupt.mbin: tensor 'hidden.weight': checksum mismatch" -- "$LOAD" corrupt.mbin
expect 0 "$LOAD" corrupt.mbin --no-verify
expect_error corrupt.mbin checksum -- "$LOAD" corrupt.mbin --verify

# Bare tensor files: listing, rewriting (compressed), .npy in and out.
expect 0 "$LOAD" params.npz
contains out "params.npz (npz): 4 tensors, 601 values" "hidden.weight        float32  [10,50]   2000" "output_layer.bias"
expect 0 "$LOAD" params.npz --json
cp out tensors.json
py "
r = json.load(open('tensors.json'))
assert r['kind'] == 'npz' and [t['name'] for t in r['tensors']][:2] == ['hidden.weight', 'hidden.bias'], r
assert r['tensors'][0]['dtype'] == 'float32' and r['tensors'][0]['shape'] == [10, 50], r
"
expect 0 "$CONVERT" params.npz -o small.npz --compress
py "
import zipfile
assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zipfile.ZipFile('small.npz').infolist())
a, b = np.load('params.npz'), np.load('small.npz')
assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files)
np.save('vec.npy', np.arange(12, dtype=np.int16).reshape(3, 4))
"
expect 0 "$LOAD" vec.npy
contains out "vec   int16  [3,4]"
expect 0 "$CONVERT" vec.npy -o vec_copy.npy
expect 0 "$CONVERT" vec.npy -o vec.npz
expect 0 "$CONVERT" linear.npz --params-out weights_only.npz
py "
assert np.array_equal(np.load('vec_copy.npy'), np.arange(12, dtype=np.int16).reshape(3, 4))
assert np.load('vec.npz').files == ['vec']
"
expect_error "holds exactly one tensor" -- "$CONVERT" params.npz -o one.npy
expect_error "holds tensors, not a model" -- "$CONVERT" params.npz -o m.mithril

# Model conversions, both directions, are lossless and deterministic.
expect 0 "$CONVERT" model.mithril -o back.json --params-out back.npz
expect 0 "$CONVERT" model.mbin -o back.mithril
expect 0 "$CONVERT" back.json --params back.npz -o back.mbin
for pair in "model.json back.json" "params.npz back.npz" "model.mithril back.mithril" "model.mbin back.mbin"; do
  checks=$((checks + 1))
  cmp -s $pair || fail "not byte-identical: $pair"
done
expect_error "structure only" "--params" -- "$CONVERT" model.json -o nope.mithril

# '-' for stdin and stdout.
checks=$((checks + 1))
"$SAVE" simple_mlp -o - | "$LOAD" - >out 2>err || fail "save -o - | load - failed: $(cat err)"
contains out "model 'simple_mlp'"
checks=$((checks + 1))
"$CONVERT" model.mithril -o - >stdout.json && cmp -s stdout.json model.json || fail "convert -o - differs from model.json"
checks=$((checks + 1))
"$CONVERT" model.mithril --params-out - >stdout.npz && cmp -s stdout.npz params.npz || fail "--params-out - differs from params.npz"
checks=$((checks + 1))
"$RUN" model.mbin --random --seed 5 --shape input=3,10 -o - >outputs_stdout.npz || fail "run -o - failed"
expect 0 "$RUN" model.mbin --random --seed 5 --shape input=3,10 -o outputs_file.npz
checks=$((checks + 1)); cmp -s outputs_stdout.npz outputs_file.npz || fail "run -o - differs from -o file"
py "np.savez('inputs.npz', input=np.ones((2, 10), np.float32))"
checks=$((checks + 1))
"$RUN" model.mithril --inputs - -o from_stdin.npz <inputs.npz || fail "run --inputs - failed"
expect_error "-: structure only, no parameter values for its 4 parameters" -- \
  "$RUN" model.json --params params.npz --inputs inputs.npz --compare - <model.json

# Printing outputs; JSON inputs (Python-style float64 lists, cast to the model's float32 and noted).
echo '{"input": [[1,1,1,1,1,1,1,1,1,1], [1,1,1,1,1,1,1,1,1,1]]}' >inputs.json
expect 0 "$RUN" model.mithril --inputs inputs.json
contains out "output: float32[2,1]" "[["
contains err "cast 1 input from int64 to float32"
expect 0 "$RUN" model.mithril --inputs inputs.json --json -q
cp out run_json.json
py "
r = json.load(open('run_json.json'))
o = np.load('from_stdin.npz')['output']
assert r['outputs'][0]['shape'] == [2, 1]
assert np.array_equal(np.array(r['outputs'][0]['values'], np.float32), o), (r['outputs'][0]['values'], o)
assert r['casts'] == [{'what': 'inputs', 'from': 'int64', 'to': 'float32', 'count': 1}], r['casts']
"

# --dtype float64: parameters and inputs cast, reported; outputs in float64, close to float32.
expect 0 "$RUN" model.mithril --inputs inputs.npz --dtype float64 -o out64.npz
contains err "note: cast 4 parameters from float32 to float64" "note: cast 1 input from float32 to float64"
# Extra tensors ignored by --allow-extra are not parameters: they are not counted as cast.
py "d = dict(np.load('params.npz')); d.update({f'extra{i}': np.zeros(3, np.float32) for i in range(20)}); np.savez('extra.npz', **d)"
expect 0 "$RUN" model.json --params extra.npz --allow-extra --inputs inputs.npz --dtype float64 -o out64x.npz
contains err "note: cast 4 parameters from float32 to float64"
expect 0 "$RUN" model.mithril --inputs inputs.npz --dtype float64 -o out64.npz --json
cp out run64.json
py "
r = json.load(open('run64.json'))
assert r['compute_dtype'] == 'float64' and {'what': 'parameters', 'from': 'float32', 'to': 'float64', 'count': 4} in r['casts'], r
o64, o32 = np.load('out64.npz')['output'], np.load('from_stdin.npz')['output']
assert o64.dtype == np.float64 and np.allclose(o64, o32, rtol=1e-5, atol=1e-6)
"
expect 0 "$RUN" model.mithril --inputs inputs.npz --dtype float64 --compare model.mbin

# --compare beyond tolerance exits 1; a loose enough tolerance passes.
expect 0 "$SAVE" simple_mlp -o other.mithril --seed 4
expect 1 "$RUN" model.mithril --random --shape input=4,10 --compare other.mithril
contains out "FAIL" "outputs differ beyond tolerance"
expect 1 "$RUN" model.mithril --random --shape input=4,10 --compare other.mithril --json
cp out fail.json
py "
c = json.load(open('fail.json'))['compare']
assert not c['pass'] and c['outputs'][0]['max_abs_diff'] > 0 and c['outputs'][0]['mismatches'] > 0, c
"
expect 0 "$RUN" model.mithril --random --shape input=4,10 --compare other.mithril --atol 1000
expect_error mlp.mithril "shape [4,10], expected [null,4]" -- "$RUN" model.mithril --random --shape input=4,10 --compare mlp.mithril

# Structure-only models run with --init (declared initializers, seed): same as saving with that seed.
expect 0 "$RUN" model.json --init --seed 3 --random --shape input=2,10 --compare model.mithril --json
cp out init.json
py "
r = json.load(open('init.json'))
assert r['parameter_source'].startswith('declared initializers, seed 3') and r['compare']['pass'], r
"

# mithril-save from existing artifacts keeps their values unless --init overrides them.
expect 0 "$SAVE" model.mbin -o resaved.json --params resaved.npz
expect 0 "$SAVE" model.json --source-params params.npz -o resaved.mithril
checks=$((checks + 1)); cmp -s resaved.npz params.npz || fail "save from .mbin changed the parameters"
checks=$((checks + 1)); cmp -s resaved.mithril model.mithril || fail "save from json+params changed the .mithril"
expect 0 "$SAVE" model.mbin --params zeroed.npz --init 'hidden.bias=ones'
py "
a, b = np.load('params.npz'), np.load('zeroed.npz')
assert (b['hidden.bias'] == 1).all() and np.array_equal(a['hidden.weight'], b['hidden.weight'])
"
expect_error "no parameter 'nope'" -- "$SAVE" model.mbin --params z.npz --init 'nope=ones'

# An old dict (here Python Mithril's, which has no "version") is read as the current format in
# memory by every tool; the file itself is left as it is.
echo '{"name": "Linear", "args": {"dimension": 2}}' >python_linear.json
"$PYTHON" -c "import numpy as np; np.savez('py_params.npz', weight=np.array([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]]), bias=np.array([0.25, -0.5])); np.savez('py_inputs.npz', input=np.ones((4, 3)))"
expect 0 "$LOAD" python_linear.json
contains out "format python-mithril, read as 1.2.0"
expect 0 "$RUN" python_linear.json --params py_params.npz --inputs py_inputs.npz -o py_out.npz
py "y = np.load('py_out.npz')['output']; assert y.shape == (4, 2) and np.allclose(y, [[6.25, -1.0]] * 4), y"
grep -q '"version"' python_linear.json && fail "the input file was modified"

# Standard input carries a tensor file or a .mithril too (kind told by its bytes); an .mbin needs a path.
expect 0 bash -c "\"$LOAD\" model.json --params - < params.npz"
contains out "parameters: 4 of 4 present"
expect 0 bash -c "\"$LOAD\" - < params.npz"
contains out "(npz): 4 tensors"
expect 0 bash -c "\"$LOAD\" - < model.mithril"
contains out "(mithril, format"
expect_error "<stdin>: an .mbin file is memory-mapped: give its path" -- bash -c "\"$LOAD\" - < model.mbin"

finish
