// The trained network as the rest of the daemon sees it: rebuilt from its files in memory
// (model.save("file://") needs tfjs-node, which is optional) and asked for predictions.

import type { Tf } from "./backend.js";
import type { ModelFiles } from "./types.js";

export type LayersModel = Awaited<ReturnType<Tf["loadLayersModel"]>>;

export function loadNetwork(tf: Tf, files: ModelFiles): Promise<LayersModel> {
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: files.modelTopology,
      weightSpecs: files.weightSpecs,
      weightData: files.weightData,
    }),
  );
}

/** Predicts scaled rows, returning scaled outputs; every intermediate tensor is freed. */
export function predictRows(tf: Tf, model: LayersModel, rows: number[][]): number[] {
  if (rows.length === 0) return [];
  const out = tf.tidy(() => {
    const result = model.predict(tf.tensor2d(rows));
    return (Array.isArray(result) ? result[0] : result) as ReturnType<Tf["tensor"]>;
  });
  try {
    return Array.from(out.dataSync());
  } finally {
    out.dispose();
  }
}

type Activation = (v: number) => number;
const ACTIVATIONS: Record<string, Activation> = { linear: (v) => v, relu: (v) => Math.max(v, 0) };

/**
 * The network as plain arithmetic, for predicting one row on the main thread every grid
 * step: a dense stack this small costs microseconds in JavaScript, while a tfjs call costs
 * a millisecond of tensor bookkeeping. Undefined for a network that is not a stack of dense
 * layers with linear or relu activations; predictRows then serves.
 */
export function denseForward(model: LayersModel): ((row: number[]) => number) | undefined {
  const layers: Array<{ kernel: number[][]; bias: number[]; act: Activation }> = [];
  for (const layer of model.layers) {
    const act = ACTIVATIONS[String(layer.getConfig().activation ?? "linear")];
    const weights = layer.getWeights();
    if (layer.getClassName() !== "Dense" || !act || weights.length !== 2) return undefined;
    const [kernel, bias] = weights.map((w) => w.arraySync());
    layers.push({ kernel: kernel as number[][], bias: bias as number[], act });
  }
  return (row) => {
    let v = row;
    for (const { kernel, bias, act } of layers) {
      v = bias.map((b, j) => act(v.reduce((sum, x, i) => sum + x * (kernel[i]?.[j] ?? 0), b)));
    }
    return v[0] ?? Number.NaN;
  };
}
