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

type Step =
  | { name: string; kind: "input" }
  | { name: string; kind: "average"; from: string[] }
  | {
      name: string;
      kind: "dense";
      from: string;
      kernel: number[][];
      bias: number[];
      act: Activation;
    };

/**
 * The network as plain arithmetic, for predicting one row on the main thread every grid
 * step: a dense stack this small costs microseconds in JavaScript, while a tfjs call costs
 * a millisecond of tensor bookkeeping. Handles a stack of dense layers with linear or relu
 * activations, and an ensemble of such stacks averaged; undefined for anything else, and
 * predictRows then serves.
 */
export function denseForward(model: LayersModel): ((row: number[]) => number) | undefined {
  const steps: Step[] = [];
  for (const layer of model.layers) {
    const name = layer.name;
    const from = (layer.inboundNodes[0]?.inboundLayers ?? []).map((l) => l.name);
    const kind = layer.getClassName();
    if (kind === "InputLayer") steps.push({ name, kind: "input" });
    else if (kind === "Average") steps.push({ name, kind: "average", from });
    else {
      const act = ACTIVATIONS[String(layer.getConfig().activation ?? "linear")];
      const weights = layer.getWeights();
      if (kind !== "Dense" || !act || weights.length !== 2 || from.length > 1) return undefined;
      const [kernel, bias] = weights.map((w) => w.arraySync()) as [number[][], number[]];
      steps.push({ name, kind: "dense", from: from[0] ?? "", kernel, bias, act });
    }
  }
  const output = steps.at(-1)?.name;
  return (row) => {
    // A Sequential's first layer reads from an input layer it does not list: the row.
    const values = new Map<string, number[]>();
    const read = (name: string) => values.get(name) ?? row;
    for (const step of steps) values.set(step.name, evaluate(step, row, read));
    return (output === undefined ? undefined : values.get(output)?.[0]) ?? Number.NaN;
  };
}

function evaluate(step: Step, row: number[], read: (name: string) => number[]): number[] {
  if (step.kind === "input") return row;
  if (step.kind === "average") {
    const inputs = step.from.map(read);
    const first = inputs[0] ?? [];
    return first.map((_, j) => inputs.reduce((s, v) => s + (v[j] as number), 0) / inputs.length);
  }
  const v = read(step.from);
  const { kernel, bias, act } = step;
  return bias.map((b, j) => act(v.reduce((sum, x, i) => sum + x * (kernel[i]?.[j] ?? 0), b)));
}
