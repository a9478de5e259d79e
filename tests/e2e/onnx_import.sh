#!/usr/bin/env bash
# ONNX import through the real tools: every tool takes an .onnx where it takes a model
# (mithril-load, mithril-run, mithril-convert to .mbin and back to running), --freeze for graph
# inputs used as shapes, one-line errors for bad files and unsupported operators, and real models
# exported by torch 1.13 (resnet18 and a TransformerEncoder at opsets 13 and 17, one architecture
# of every other torchvision family at 17) matching torch within rtol 1e-3 / atol 1e-4 and 1e-3 of
# the output's scale (scripts/onnx-torch-models).
SCRIPTS="$(cd "$(dirname "$0")/../../scripts" && pwd)"
source "$(dirname "$0")/lib/common.bash"
ONNX_DATA="$MITHRIL_TESTDATA/onnx"

if ! "$PYTHON" -c 'import onnx, torch, torchvision' 2>/dev/null; then
  echo "FAIL: $PYTHON cannot import onnx, torch and torchvision (scripts/setup installs them)" >&2
  exit 1
fi

# Names: ONNX names that are not identifiers are mapped ('input.1' -> input_1), dim_param kept.
expect 0 "$LOAD" "$ONNX_DATA/linear.onnx"
contains out "input_1      input            float32[batch,4]" "fc_weight" "onnx__Add_2" "relu_0"
expect 0 "$LOAD" "$ONNX_DATA/linear.onnx" --json
contains out '"onnx.original_name.fc_weight": "fc.weight"' '"onnx.producer": "make_fixtures"'

# Run, convert to .mbin, run the .mbin: the same outputs.
py "np.savez('x.npz', input_1=np.arange(8, dtype=np.float32).reshape(2, 4))"
expect 0 "$RUN" "$ONNX_DATA/linear.onnx" --inputs x.npz -o y_onnx.npz
expect 0 "$CONVERT" "$ONNX_DATA/linear.onnx" -o linear.mbin
expect 0 "$RUN" linear.mbin --inputs x.npz -o y_mbin.npz
py "a = np.load('y_onnx.npz')['out']; b = np.load('y_mbin.npz')['out']
w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10; x = np.arange(8, dtype=np.float32).reshape(2, 4)
assert np.array_equal(a, b) and np.allclose(a, np.maximum(x @ w + [0.5, -1, 2], 0), rtol=1e-6), (a, b)"
expect 0 "$RUN" "$ONNX_DATA/linear.onnx" --inputs x.npz --compare linear.mbin

# A shape operand computed from a graph input: refused with the way out, which works.
expect_error "dynamic_reshape.onnx: node 'y' (Reshape): operand 'shape'" "--freeze NAME=FILE" -- \
  "$RUN" "$ONNX_DATA/dynamic_reshape.onnx" --random
py "np.save('shape.npy', np.array([3, -1], dtype=np.int64)); np.save('x2.npy', np.arange(12, dtype=np.float32).reshape(2, 6))"
expect 0 "$RUN" "$ONNX_DATA/dynamic_reshape.onnx" --freeze shape=shape.npy --inputs x2.npy -o y2.npy
py "assert np.load('y2.npy').shape == (3, 4)"
expect 0 "$CONVERT" "$ONNX_DATA/dynamic_reshape.onnx" --freeze shape=shape.npy -o frozen.mbin
expect_error "--freeze 'shape': expected NAME=FILE" -- "$RUN" "$ONNX_DATA/dynamic_reshape.onnx" --freeze shape --random
expect_error "--freeze nope: the model has no graph input of that name" -- \
  "$LOAD" "$ONNX_DATA/dynamic_reshape.onnx" --freeze nope=shape.npy

# Bad files and unsupported operators: one line each.
expect_error "unsupported ONNX operators: NonZero (opset 13) x2, Unique (opset 13) x1" -- "$LOAD" "$ONNX_DATA/unsupported.onnx"
expect_error "truncated.onnx: not a valid ONNX model" -- "$CONVERT" "$ONNX_DATA/truncated.onnx" -o t.mbin
expect_error "external data [8, +12) goes past the end" -- "$RUN" "$ONNX_DATA/external_out_of_bounds.onnx" --random
expect_error "ONNX checker" "missing.bin" -- "$LOAD" "$ONNX_DATA/external_missing.onnx"
expect 0 "$RUN" "$ONNX_DATA/external.onnx" --random

# Real models from torch.onnx.export, compared with torch.
checks=$((checks + 1))
if ! "$PYTHON" "$SCRIPTS/onnx-torch-models" --bin "$MITHRIL_BIN" --work "$WORK/models" >models.txt 2>models.err; then
  fail "torch models through ONNX: $(cat models.txt) $(tail -3 models.err)"
fi
cat models.txt
# One small architecture of every other torchvision family, at opset 17.
checks=$((checks + 1))
if ! "$PYTHON" "$SCRIPTS/onnx-torch-models" --bin "$MITHRIL_BIN" --work "$WORK/vision" --opsets 17 \
     --models mobilenet_v2,mobilenet_v3_small,squeezenet1_1,shufflenet_v2_x0_5,efficientnet_b0,mnasnet0_5,regnet_y_400mf,densenet121,googlenet,convnext_tiny,resnext50_32x4d \
     >vision.txt 2>vision.err; then
  fail "torchvision models through ONNX: $(cat vision.txt) $(tail -3 vision.err)"
fi
cat vision.txt
finish
