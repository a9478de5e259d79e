// Runs an ONNX model with onnxruntime-node on inputs from a JSON file and writes the outputs as
// JSON (used by tests/e2e/onnx_export.sh):
//   node ort_run.js MODEL.onnx INPUTS.json OUTPUTS.json
// INPUTS.json: {name: {"dtype": "float32", "shape": [2, 3], "data": [flat values]}}; OUTPUTS.json
// the same for every output (integers as numbers, booleans as 0/1).
const ort = require('onnxruntime-node');
const fs = require('fs');

const arrays = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, int16: Int16Array, int32: Int32Array,
  int64: BigInt64Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array,
  bool: Uint8Array,
};

async function main() {
  const [model, inputsPath, outputsPath] = process.argv.slice(2);
  const inputs = JSON.parse(fs.readFileSync(inputsPath, 'utf8'));
  const feeds = {};
  for (const [name, t] of Object.entries(inputs)) {
    const Array_ = arrays[t.dtype];
    if (!Array_) throw new Error(`input ${name}: dtype ${t.dtype} not handled`);
    const wide = t.dtype === 'int64' || t.dtype === 'uint64';
    const data = Array_.from(t.data.map((v) => (wide ? BigInt(v) : v === 'nan' ? NaN : v)));
    feeds[name] = new ort.Tensor(t.dtype, data, t.shape);
  }
  const session = await ort.InferenceSession.create(model, {intraOpNumThreads: 1, interOpNumThreads: 1});
  const results = await session.run(feeds);
  const out = {};
  for (const [name, t] of Object.entries(results)) {
    const data = Array.from(t.data, (v) => (typeof v === 'bigint' ? Number(v) : typeof v === 'boolean' ? Number(v) :
                                            Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : v));
    out[name] = {dtype: t.type, shape: t.dims, data};
  }
  fs.writeFileSync(outputsPath, JSON.stringify(out));
}
main().catch((e) => { console.error(e.message); process.exit(1); });
