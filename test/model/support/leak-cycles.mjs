// Run by leak.test.ts as `node --expose-gc`: train/predict cycles on a tiny model through
// the compiled modules (dist/), printing tensor counts and heap use as one JSON line.

import { initBackend } from "../../../dist/model/backend.js";
import { trainModel } from "../../../dist/model/fit.js";
import { residuals } from "../../../dist/model/holdout.js";
import { loadNetwork } from "../../../dist/model/network.js";

const cycles = Number(process.argv[2] ?? 1000);
const ensemble = Number(process.argv[3] ?? 1);
const runtime = await initBackend();
const { tf } = runtime;
const model = {
  kind: "mlp",
  hiddenUnits: [4],
  epochs: 1,
  batchSize: 32,
  learningRate: 0.01,
  learningRateSchedule: "cosine",
  l2: 0.001,
  ensemble,
};
const features = ["a", "b", "c"];
const x = Array.from({ length: 60 }, (_, i) => [Math.sin(i), Math.cos(i * 0.3), i % 7]);
const y = x.map(([a, b, c]) => 2 * a - b + 0.1 * c);

function heapAfterGc() {
  for (let i = 0; i < 3; i++) globalThis.gc();
  return process.memoryUsage().heapUsed;
}

let champion;
let network;
const out = { backend: runtime.backend, ensemble };
const started = Date.now();
for (let i = 1; i <= cycles; i++) {
  const request = { x, y, features, model, holdoutFraction: 0.2, champion, warmStart: true };
  const result = await trainModel(runtime, { ...request, band: { lower: 0.05, upper: 0.95 } });
  const next = await loadNetwork(tf, result.files);
  network?.dispose();
  network = next;
  residuals(tf, network, result.scalers, x.slice(-5), y.slice(-5));
  champion = { files: result.files, scalers: result.scalers, model, columns: features };

  if (i === 10) out.tensorsAfterWarmup = tf.memory().numTensors;
  if (i === 100) out.heapAt100 = heapAfterGc();
}
out.tensorsAtEnd = tf.memory().numTensors;
out.heapAtEnd = heapAfterGc();
out.ms = Date.now() - started;
process.stdout.write(`${JSON.stringify(out)}\n`);
