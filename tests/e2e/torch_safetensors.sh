#!/usr/bin/env bash
# PyTorch .pt state dicts and safetensors as tensor files, against the real implementations:
# Debian's torch 1.13 (torch.save / torch.load(weights_only=True) / nn.Module.load_state_dict)
# and a safetensors reader and writer written here from the specification (torch 1.13 cannot
# write safetensors). Round trips npz <-> pt <-> safetensors <-> tensor-only mbin for every dtype
# (bit-exact where both sides have the dtype, refused by name where not); a torch MLP loaded into
# the zoo mlp through a mapping and back, outputs within 1e-5; malformed files, one per rule.
source "$(dirname "$0")/lib/common.bash"

if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
  echo "FAIL: $PYTHON cannot import torch (python3-torch is installed by scripts/setup)" >&2
  exit 1
fi

# The independent safetensors implementation (from the specification) and a reader of every kind.
cat >formats.py <<'PY'
import json, struct, sys, zipfile
import numpy as np

ST = {'F64': '<f8', 'F32': '<f4', 'F16': '<f2', 'BF16': 'bf16', 'I64': '<i8', 'I32': '<i4', 'I16': '<i2', 'I8': 'i1',
      'U64': '<u8', 'U32': '<u4', 'U16': '<u2', 'U8': 'u1', 'BOOL': '?'}
NP_TO_ST = {'float64': 'F64', 'float32': 'F32', 'float16': 'F16', 'int64': 'I64', 'int32': 'I32', 'int16': 'I16',
            'int8': 'I8', 'uint64': 'U64', 'uint32': 'U32', 'uint16': 'U16', 'uint8': 'U8', 'bool': 'BOOL'}
ITEM = {'F64': 8, 'F32': 4, 'F16': 2, 'BF16': 2, 'I64': 8, 'I32': 4, 'I16': 2, 'I8': 1, 'U64': 8, 'U32': 4, 'U16': 2,
        'U8': 1, 'BOOL': 1}
ST_NAME = {'F64': 'float64', 'F32': 'float32', 'F16': 'float16', 'BF16': 'bfloat16', 'I64': 'int64', 'I32': 'int32',
           'I16': 'int16', 'I8': 'int8', 'U64': 'uint64', 'U32': 'uint32', 'U16': 'uint16', 'U8': 'uint8', 'BOOL': 'bool'}

def st_write(path, tensors, metadata=None, pad=8):
    """tensors: {name: (code, shape, raw bytes)}; data in the given order, as the spec lays it out."""
    header, offset, blobs = {}, 0, []
    if metadata is not None:
        header['__metadata__'] = metadata
    for name, (code, shape, raw) in tensors.items():
        header[name] = {'dtype': code, 'shape': list(shape), 'data_offsets': [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header).encode()
    text += b' ' * ((pad - (8 + len(text)) % pad) % pad)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))

def st_read(path):
    data = open(path, 'rb').read()
    (n,) = struct.unpack('<Q', data[:8])
    assert n <= 100_000_000 and 8 + n <= len(data)
    header = json.loads(data[8:8 + n])
    assert data[8:9] == b'{'
    meta = header.pop('__metadata__', None)
    out, spans = {}, []
    for name, info in header.items():
        b, e = info['data_offsets']
        count = int(np.prod(info['shape'], dtype=np.int64))
        assert e - b == count * ITEM[info['dtype']], name
        spans.append((b, e))
        out[name] = (ST_NAME[info['dtype']], tuple(info['shape']), data[8 + n + b:8 + n + e])
    spans.sort()
    pos = 0
    for b, e in spans:
        assert b == pos, 'hole or overlap'
        pos = e
    assert 8 + n + pos == len(data), 'trailing or missing bytes'
    return out, meta

def torch_raw(t):
    import torch
    t = t.contiguous()
    name = str(t.dtype).replace('torch.', '')
    if t.dtype == torch.bool:
        raw = t.to(torch.uint8).numpy().tobytes()
    elif t.dtype == torch.bfloat16:
        raw = t.view(torch.int16).numpy().tobytes()
    elif t.is_complex():
        raw = torch.view_as_real(t).numpy().tobytes() if t.numel() else b''
    else:
        raw = t.numpy().tobytes()
    return (name, tuple(t.shape), raw)

def read_any(path):
    """{name: (dtype name, shape, raw little-endian C-order bytes)} by the real readers."""
    if path.endswith('.pt'):
        import torch
        return {k: torch_raw(v) for k, v in torch.load(path, weights_only=True).items()}
    if path.endswith('.npz'):
        z = np.load(path)
        return {k: (str(z[k].dtype), z[k].shape, np.ascontiguousarray(z[k]).tobytes()) for k in z.files}
    if path.endswith('.safetensors'):
        return st_read(path)[0]
    raise SystemExit('no reader for ' + path)

def same_files(listing):
    """Every line 'A B' of the file `listing`: A and B hold the same tensors."""
    n = 0
    for line in open(listing):
        a, b = line.split()
        try:
            same(read_any(a), read_any(b))
        except SystemExit as e:
            raise SystemExit(f'{a} vs {b}: {e}')
        n += 1
    return n

def same(a, b):
    if set(a) != set(b):
        raise SystemExit(f'names differ: {sorted(a)} vs {sorted(b)}')
    for k in a:
        if a[k] != b[k]:
            raise SystemExit(f'{k}: {a[k][:2]} vs {b[k][:2]} (or bytes differ)')
PY

# Every dtype in the formats that have it, written by the real implementation (safetensors by the
# spec writer above), one file per dtype: name "t", a 3x4 tensor of varied values.
"$PYTHON" - <<'PY'
import numpy as np, torch
from formats import *
rng = np.random.default_rng(0)
vals = rng.normal(size=(3, 4)) * 100
np_types = ['bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float16', 'float32',
            'float64', 'complex64', 'complex128']
for d in np_types:
    a = (vals + 1j * vals[::-1]).astype(d) if d.startswith('complex') else vals.astype(d)
    np.savez(f'{d}.npz', t=a)
    if d in NP_TO_ST:
        st_write(f'{d}.safetensors', {'t': (NP_TO_ST[d], a.shape, a.tobytes())})
bf = torch.tensor(vals, dtype=torch.float32).to(torch.bfloat16)
st_write('bfloat16.safetensors', {'t': ('BF16', (3, 4), bf.view(torch.int16).numpy().tobytes())})
torch_types = {'bool': torch.bool, 'int8': torch.int8, 'int16': torch.int16, 'int32': torch.int32, 'int64': torch.int64,
               'uint8': torch.uint8, 'float16': torch.float16, 'bfloat16': torch.bfloat16, 'float32': torch.float32,
               'float64': torch.float64, 'complex64': torch.complex64, 'complex128': torch.complex128}
for d, t in torch_types.items():
    x = torch.tensor(vals)
    x = torch.complex(x, x.flip(0)).to(t) if t.is_complex else x.to(t)
    torch.save({'t': x}, f'{d}.pt')
PY

have() {  # have FORMAT DTYPE: the format holds the dtype
  case $1 in
    npz) [[ $2 != bfloat16 ]] ;;
    pt) [[ $2 != uint16 && $2 != uint32 && $2 != uint64 ]] ;;
    safetensors) [[ $2 != complex64 && $2 != complex128 ]] ;;
    mbin) true ;;
  esac
}

: >pairs.txt
dtypes=(bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 float16 bfloat16 float32 float64 complex64 complex128)
formats=(npz pt safetensors)
for d in "${dtypes[@]}"; do
  for s in "${formats[@]}"; do
    have "$s" "$d" || continue
    [[ -e $d.$s ]] || { fail "fixture $d.$s not made"; continue; }
    for t in npz pt safetensors mbin; do
      out="${d}_from_$s.$t"
      if have "$t" "$d"; then
        expect 0 "$CONVERT" "$d.$s" -o "$out"
        if [[ $t == mbin ]]; then
          # A tensor-only .mbin has no outside reader: it goes back to the source format, which must
          # hold the same values, and it loads (checksums verified) as a tensor file.
          expect 0 "$LOAD" "$out" --verify
          contains out "$out (mbin): 1 tensors" "$d"
          expect 0 "$CONVERT" "$out" -o "back_$out.$s"
          echo "$d.$s back_$out.$s" >>pairs.txt
        else
          echo "$d.$s $out" >>pairs.txt
        fi
      else
        expect_error "$out" "'t'" "$d" -- "$CONVERT" "$d.$s" -o "$out"
        checks=$((checks + 1)); [[ ! -e $out ]] || fail "a refused conversion left $out behind"
      fi
    done
  done
done

py "from formats import *; n = same_files('pairs.txt'); assert n == $(wc -l <pairs.txt) and n > 100, n"

# A state dict the way torch writes them: views of one storage (transposed, sliced, offset),
# nested dicts with non-tensor entries, 0-d and empty tensors; our .pt of it reloads in torch.
"$PYTHON" - <<'PY'
import torch, collections
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
sd = collections.OrderedDict()
sd['base'] = base
sd['t'] = base.t()
sd['slice'] = base[1:3, 2:5]
sd['row'] = base[3]
sd['scalar'] = torch.tensor(2.5, dtype=torch.float64)
sd['empty'] = torch.zeros(0, 3)
sd['p'] = torch.nn.Parameter(torch.ones(2))
torch.save({'epoch': 7, 'lr': 0.25, 'tag': 'run1', 'none': None, 'model': sd}, 'views.pt')
PY
expect 0 "$LOAD" views.pt
contains out "model.base" "model.t" "model.slice" "model.row" "model.scalar" "model.empty" "model.p" "7 tensors"
expect 0 "$CONVERT" views.pt -o views_ours.pt
expect 0 "$CONVERT" views.pt -o views.safetensors
py "
import torch
from formats import *
orig = torch.load('views.pt')['model']
ours = torch.load('views_ours.pt', weights_only=True)
assert list(ours) == ['model.' + k for k in orig], list(ours)
for k, v in orig.items():
    w = ours['model.' + k]
    assert w.dtype == v.dtype and w.shape == v.shape and torch.equal(w, v.detach()), k
tensors, meta = st_read('views.safetensors')
assert tensors['model.t'][1] == (6, 4) and tensors['model.t'][2] == orig['t'].contiguous().numpy().tobytes()
assert meta is None or isinstance(meta, dict)
"

# Tensor files everywhere a tensor file goes: a zoo MLP's parameters as .pt / .safetensors /
# tensor-only .mbin for --params, inputs from .pt and .safetensors, outputs to each kind, stdin.
expect 0 "$SAVE" mlp --arg dims=10,50,1 -o mlp.json --params mlp.npz --seed 2
expect 0 "$CONVERT" mlp.json --params mlp.npz -o mlp.mbin
for k in pt safetensors mbin; do
  expect 0 "$CONVERT" mlp.npz -o "mlp_params.$k"
  expect 0 "$LOAD" mlp.json --params "mlp_params.$k"
  contains out "total: 601 parameters"
  expect 0 "$CONVERT" mlp.mbin --params-out "dump.$k"
  expect 0 "$CONVERT" mlp.json --params "dump.$k" -o "repacked_$k.mithril"
done
"$PYTHON" -c "
import numpy as np, torch
from formats import *
x = np.random.default_rng(1).normal(size=(5, 10)).astype(np.float32)
np.savez('x.npz', input=x)
torch.save({'input': torch.from_numpy(x)}, 'x.pt')
st_write('x.safetensors', {'input': ('F32', x.shape, x.tobytes())})
"
expect 0 "$RUN" mlp.mbin --inputs x.npz -o y.npz
for k in pt safetensors; do
  expect 0 "$RUN" mlp.json --params "mlp_params.$k" --inputs "x.$k" -o "y.$k"
  py "from formats import *; a = read_any('y.npz'); b = read_any('y.$k'); same(a, b)"
done
expect 0 "$RUN" mlp.mbin --inputs x.safetensors -o y.mbin
expect 0 "$CONVERT" y.mbin -o y_from_mbin.npz
py "from formats import *; same(read_any('y.npz'), read_any('y_from_mbin.npz'))"
expect 0 "$RUN" mlp.json --params mlp_params.mbin --inputs x.npz --compare mlp.mbin
checks=$((checks + 1))
"$LOAD" - <mlp_params.safetensors >out 2>err || fail "mithril-load - <mlp_params.safetensors: $(cat err)"
contains out "(safetensors): 4 tensors"
checks=$((checks + 1))
"$LOAD" - <mlp_params.pt >out 2>err || fail "mithril-load - <mlp_params.pt: $(cat err)"
contains out "(pt): 4 tensors"
expect_error "mlp.npz" "holds tensors, not a model" -- "$CONVERT" mlp.npz -o not_a_model.mithril

# A sharded safetensors checkpoint (index.json + shards) read as one tensor set.
"$PYTHON" - <<'PY'
import json, numpy as np
from formats import *
z = np.load('mlp.npz')
names = list(z.files)
shards = {'model-00001-of-00002.safetensors': names[:2], 'model-00002-of-00002.safetensors': names[2:]}
wm = {}
for f, ns in shards.items():
    st_write(f, {n: ('F32', z[n].shape, z[n].tobytes()) for n in ns}, metadata={'format': 'pt'})
    wm.update({n: f for n in ns})
json.dump({'metadata': {'total_size': 2404}, 'weight_map': wm}, open('model.safetensors.index.json', 'w'))
bad = dict(wm); bad[names[0]] = 'model-00002-of-00002.safetensors'
json.dump({'weight_map': bad}, open('wrong_shard.safetensors.index.json', 'w'))
json.dump({'weight_map': {n: wm[n] for n in names[1:]}}, open('unlisted.safetensors.index.json', 'w'))
json.dump({'weight_map': {names[0]: '../x.safetensors'}}, open('escape.safetensors.index.json', 'w'))
json.dump({'weight_map': {names[0]: 'missing.safetensors'}}, open('missing.safetensors.index.json', 'w'))
PY
expect 0 "$LOAD" mlp.json --params model.safetensors.index.json
contains out "total: 601 parameters"
expect 0 "$CONVERT" model.safetensors.index.json -o merged.npz
py "from formats import *; same(read_any('mlp.npz'), read_any('merged.npz'))"
expect_error wrong_shard.safetensors.index.json "does not hold it" -- "$LOAD" wrong_shard.safetensors.index.json
expect_error unlisted.safetensors.index.json "does not list" -- "$LOAD" unlisted.safetensors.index.json
expect_error escape.safetensors.index.json "'../x.safetensors'" -- "$LOAD" escape.safetensors.index.json
expect_error missing.safetensors "No such file" -- "$LOAD" missing.safetensors.index.json

# torch.nn.Sequential MLP -> zoo mlp through the mapping: mithril-run matches torch's forward pass.
"$PYTHON" - <<'PY'
import numpy as np, torch
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(10, 50), torch.nn.ReLU(), torch.nn.Linear(50, 1))
torch.save(m.state_dict(), 'torch_mlp.pt')
x = torch.from_numpy(np.load('x.npz')['input'])
np.savez('torch_y.npz', output=m(x).detach().numpy())
PY
cat >torch_mlp.map <<'MAP'
# torch.nn.Sequential(Linear, ReLU, Linear) -> zoo mlp dims=10,50,1
^0\.=layer0.
^2\.=layer1.
torch-linear
MAP
expect 0 "$RUN" mlp.json --params torch_mlp.pt --map-file torch_mlp.map --inputs x.npz -o ours_y.npz
py "
a = np.load('ours_y.npz')['output']; b = np.load('torch_y.npz')['output']
assert a.dtype == np.float32 and a.shape == b.shape == (5, 1), (a.shape, b.shape)
assert np.allclose(a, b, rtol=0, atol=1e-5), np.abs(a - b).max()
"
expect 0 "$RUN" mlp.json --params torch_mlp.pt --map '^0\.=layer0.' --map '^2\.=layer1.' --torch-linear --inputs x.npz -o ours_y2.npz
py "assert (np.load('ours_y2.npz')['output'] == np.load('ours_y.npz')['output']).all()"
expect 0 "$CONVERT" mlp.json --params torch_mlp.pt --map-file torch_mlp.map -o from_torch.mbin
expect 0 "$RUN" from_torch.mbin --inputs x.npz --compare mlp.json --compare-params torch_mlp.pt --map-file torch_mlp.map
# Errors: every unmatched or mis-shaped tensor named, with both spellings.
expect_error torch_mlp.pt "tensor '0.weight' is not a parameter" "parameter 'layer0.weight' is missing" -- \
  "$RUN" mlp.json --params torch_mlp.pt --inputs x.npz
expect_error torch_mlp.pt "tensor '0.weight' (mapped to 'layer0.weight'): shape [50,10], expected [10,50]" -- \
  "$LOAD" mlp.json --params torch_mlp.pt --map '^0\.=layer0.' --map '^2\.=layer1.'
expect_error torch_mlp.pt "tensor '2.bias' is not a parameter" "parameter 'layer1.bias' is missing" -- \
  "$LOAD" mlp.json --params torch_mlp.pt --map '^0\.=layer0.' --map '^2\.weight=layer1.weight' --torch-linear
expect_error "--map '(=x'" "invalid regular expression" -- "$LOAD" mlp.json --params torch_mlp.pt --map '(=x'
expect_error "--map 'nothing'" "expected REGEX=REPLACEMENT" -- "$LOAD" mlp.json --params torch_mlp.pt --map 'nothing'
expect_error "--map" "--params FILE" -- "$LOAD" mlp.mbin --map '^0\.=layer0.'

# The reverse direction: our parameters out as a torch state dict that torch loads and runs.
expect 0 "$CONVERT" mlp.mbin --params-out to_torch.pt --map '^layer0\.=0.' --map '^layer1\.=2.' --torch-linear
py "
import torch
m = torch.nn.Sequential(torch.nn.Linear(10, 50), torch.nn.ReLU(), torch.nn.Linear(50, 1))
m.load_state_dict(torch.load('to_torch.pt', weights_only=True))
x = torch.from_numpy(np.load('x.npz')['input'])
a = m(x).detach().numpy(); b = np.load('y.npz')['output']
assert np.allclose(a, b, rtol=0, atol=1e-5), np.abs(a - b).max()
"

# Malformed .pt files, one per rule: each a one-line error naming the file and the problem.
"$PYTHON" - <<'PY'
import io, zipfile, torch
def pt(name, pickle, storages={'0': b'\0' * 16}, extra=None):
    with zipfile.ZipFile(name, 'w') as z:
        z.writestr('archive/data.pkl', pickle)
        for k, v in storages.items():
            z.writestr('archive/data/' + k, v)
        z.writestr('archive/version', '3\n')
        for k, v in (extra or {}).items():
            z.writestr(k, v)
def tensor(storage=b'ctorch\nFloatStorage\n', key=b'0', numel=b'K\x04', offset=b'K\x00', size=b'K\x04\x85', stride=b'K\x01\x85'):
    return (b'\x80\x02ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage'
            + storage + b'X' + len(key).to_bytes(4, 'little') + key + b'X\x03\x00\x00\x00cpu' + numel + b'tQ' + offset + size
            + stride + b'\x89ccollections\nOrderedDict\n)RtRu.')
pt('good.pt', tensor())
pt('evil_global.pt', b'\x80\x02cos\nsystem\nX\x02\x00\x00\x00lsR.')
pt('evil_opcode.pt', b'\x80\x02}(X\x01\x00\x00\x00wi__main__\nA\nu.')
pt('out_of_storage.pt', tensor(offset=b'K\x02'))
pt('short_storage.pt', tensor(numel=b'K\x08'))
pt('no_storage.pt', tensor(key=b'7'))
pt('qint.pt', tensor(storage=b'ctorch\nQInt8Storage\n'))
pt('no_stop.pt', tensor()[:-1])
pt('big_endian.pt', tensor(), extra={'archive/byteorder': 'big'})
pt('not_a_dict.pt', b'\x80\x02K\x05.')
pt('expanded.pt', tensor(size=b'K\x40\x85', stride=b'K\x00\x85'))
data = open('good.pt', 'rb').read()
i = data.index(b'\0' * 16)
open('bad_crc.pt', 'wb').write(data[:i] + b'\1' + data[i + 1:])
PY
head -c 300 good.pt >truncated.pt
expect 0 "$LOAD" good.pt
contains out "w" "float32" "[4]"
expect_error evil_global.pt "global 'os.system' is not allowed" -- "$LOAD" evil_global.pt
expect_error evil_opcode.pt "opcode 0x69 ('i')" "not in the accepted subset" -- "$LOAD" evil_opcode.pt
expect_error out_of_storage.pt "reaches past its storage '0'" -- "$LOAD" out_of_storage.pt
expect_error short_storage.pt "member 'archive/data/0'" "holds 16 bytes" -- "$LOAD" short_storage.pt
expect_error no_storage.pt "storage '7' has no member" -- "$CONVERT" no_storage.pt -o x.npz
expect_error qint.pt "global 'torch.QInt8Storage' is not allowed" -- "$LOAD" qint.pt
expect_error no_stop.pt "without a STOP opcode" -- "$LOAD" no_stop.pt
expect_error big_endian.pt "byte order 'big'" -- "$LOAD" big_endian.pt
expect_error not_a_dict.pt "expected a dict of tensors" -- "$LOAD" not_a_dict.pt
expect_error expanded.pt "more elements than its storage" -- "$LOAD" expanded.pt
expect_error bad_crc.pt "member 'archive/data/0'" "crc-32 mismatch" -- "$LOAD" bad_crc.pt
expect_error truncated.pt "truncated" -- "$LOAD" truncated.pt
"$PYTHON" -c "
import torch
m = torch.nn.Sequential(torch.nn.Linear(2, 2))
torch.save(m, 'whole_module.pt')
torch.jit.save(torch.jit.script(m), 'script.pt')
torch.save({'w': torch.ones(2)}, 'legacy.pt', _use_new_zipfile_serialization=False)
import pickle; pickle.dump({'w': 1}, open('plain.pkl', 'wb'), protocol=2)
"
expect_error whole_module.pt "global 'torch.nn.modules.container.Sequential' is not allowed" "state_dict()" -- "$LOAD" whole_module.pt
expect_error script.pt "TorchScript archive" -- "$LOAD" script.pt
expect_error legacy.pt "legacy torch.save file" -- "$LOAD" legacy.pt
expect_error plain.pkl "bare pickle stream" -- "$LOAD" plain.pkl
expect_error "u16.pt" "tensor 't'" "uint16 has no PyTorch storage type" -- "$CONVERT" uint16.npz -o u16.pt

# Malformed .safetensors files, one per rule of the specification.
"$PYTHON" - <<'PY'
import json, struct
from formats import *
good = {'a': ('F32', (2,), b'\0' * 8), 'b': ('I8', (3,), b'\1\2\3')}
st_write('st_good.safetensors', good, metadata={'k': 'v'})
def raw(name, header_bytes, data, length=None):
    open(name, 'wb').write(struct.pack('<Q', len(header_bytes) if length is None else length) + header_bytes + data)
def hdr(h):
    return json.dumps(h).encode()
raw('st_huge_header.safetensors', b'{}', b'', length=100_000_001)
raw('st_past_end.safetensors', b'{}', b'', length=1000)
raw('st_not_object.safetensors', b'[1,2]  ', b'')
raw('st_bad_json.safetensors', b'{"a": ', b'')
raw('st_hole.safetensors', hdr({'a': {'dtype': 'U8', 'shape': [2], 'data_offsets': [0, 2]},
                                 'b': {'dtype': 'U8', 'shape': [2], 'data_offsets': [3, 5]}}), b'\0' * 5)
raw('st_overlap.safetensors', hdr({'a': {'dtype': 'U8', 'shape': [2], 'data_offsets': [0, 2]},
                                    'b': {'dtype': 'U8', 'shape': [2], 'data_offsets': [1, 3]}}), b'\0' * 3)
raw('st_trailing.safetensors', hdr({'a': {'dtype': 'U8', 'shape': [2], 'data_offsets': [0, 2]}}), b'\0' * 3)
raw('st_truncated.safetensors', hdr({'a': {'dtype': 'F32', 'shape': [4], 'data_offsets': [0, 16]}}), b'\0' * 10)
raw('st_wrong_size.safetensors', hdr({'a': {'dtype': 'F32', 'shape': [3], 'data_offsets': [0, 8]}}), b'\0' * 8)
raw('st_f8.safetensors', hdr({'a': {'dtype': 'F8_E4M3', 'shape': [2], 'data_offsets': [0, 2]}}), b'\0' * 2)
raw('st_unknown_dtype.safetensors', hdr({'a': {'dtype': 'Q4', 'shape': [2], 'data_offsets': [0, 2]}}), b'\0' * 2)
raw('st_meta.safetensors', hdr({'__metadata__': {'k': 1}}), b'')
raw('st_dup.safetensors', b'{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, '
                          b'"a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}', b'\0\0')
raw('st_neg_shape.safetensors', hdr({'a': {'dtype': 'U8', 'shape': [-1], 'data_offsets': [0, 0]}}), b'')
raw('st_no_offsets.safetensors', hdr({'a': {'dtype': 'U8', 'shape': [1]}}), b'\0')
PY
expect 0 "$LOAD" st_good.safetensors
contains out "a" "float32" "b" "int8"
expect 0 "$CONVERT" st_good.safetensors -o st_copy.safetensors
py "from formats import *; t, m = st_read('st_copy.safetensors'); same(t, st_read('st_good.safetensors')[0]); assert m == {'k': 'v'}, m"
expect_error st_huge_header.safetensors "exceeds the safetensors limit" -- "$LOAD" st_huge_header.safetensors
expect_error st_past_end.safetensors "truncated: header length 1000" -- "$LOAD" st_past_end.safetensors
expect_error st_not_object.safetensors "does not start with" -- "$LOAD" st_not_object.safetensors
expect_error st_bad_json.safetensors "invalid JSON" -- "$LOAD" st_bad_json.safetensors
expect_error st_hole.safetensors "tensor 'b'" "leave a hole" -- "$LOAD" st_hole.safetensors
expect_error st_overlap.safetensors "tensor 'b'" "overlap" -- "$LOAD" st_overlap.safetensors
expect_error st_trailing.safetensors "trailing bytes" -- "$LOAD" st_trailing.safetensors
expect_error st_truncated.safetensors "truncated" -- "$LOAD" st_truncated.safetensors
expect_error st_wrong_size.safetensors "tensor 'a'" "hold 8 bytes" "needs 12" -- "$LOAD" st_wrong_size.safetensors
expect_error st_f8.safetensors "dtype 'F8_E4M3' is not supported" "float8" -- "$LOAD" st_f8.safetensors
expect_error st_unknown_dtype.safetensors "dtype 'Q4'" -- "$LOAD" st_unknown_dtype.safetensors
expect_error st_meta.safetensors "__metadata__ 'k'" "expected a string" -- "$LOAD" st_meta.safetensors
expect_error st_dup.safetensors "duplicate key 'a'" -- "$LOAD" st_dup.safetensors
expect_error st_neg_shape.safetensors "non-negative" -- "$LOAD" st_neg_shape.safetensors
expect_error st_no_offsets.safetensors "data_offsets" -- "$LOAD" st_no_offsets.safetensors
expect_error "complex64" "no safetensors dtype code" -- "$CONVERT" complex64.npz -o c.safetensors

finish
