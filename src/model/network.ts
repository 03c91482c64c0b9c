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
