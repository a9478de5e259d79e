// onnxruntime-node as a peer of scripts/bench-run: runs MODEL.onnx on the float32 input in
// X.bin (raw little-endian, shape given as "256,1024") RUNS times after one warm-up and prints
// "median_ms min_ms". THREADS sets intra-op threads.
//   node ort_run.js MODEL.onnx X.bin SHAPE RUNS THREADS
const ort = require('onnxruntime-node');
const fs = require('fs');

async function main() {
  const [model, input, shapeText, runsText, threadsText] = process.argv.slice(2);
  const shape = shapeText.split(',').map(Number);
  const bytes = fs.readFileSync(input);
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threadsText), interOpNumThreads: 1, graphOptimizationLevel: 'all'});
  const feeds = {[session.inputNames[0]]: new ort.Tensor('float32', data, shape)};
  await session.run(feeds);
  const times = [];
  for (let i = 0; i < Number(runsText); ++i) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(`${times[Math.floor(times.length / 2)].toFixed(3)} ${times[0].toFixed(3)}`);
}
main().catch((e) => { console.error(e.message); process.exit(1); });
