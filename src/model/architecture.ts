// The networks plantgate trains: a linear unit or a small MLP of dense layers, and with
// `ensemble: N` N such networks side by side whose predictions are averaged. An ensemble is
// one tfjs model (one model.json and weights.bin per version) whose members share only the
// input: each member starts from its own random weights and is trained on its own error
// (see train-loop.ts), so the average is a plain ensemble, not one wider network.
// LIMITATION: the members see the same shuffled batches, so they differ by their initial
// weights only; a shuffle per member would add diversity for a gather per member per epoch.
// Tried and not kept: per-member Poisson(1) row weights (online bagging) gave 3.89 MW on the
// CCPP 5×2 CV against 3.82 without; each member, seeing about 63% of the rows, fits worse.

import type { ModelConfig } from "../config/schema.js";
import { createAdam } from "./adam.js";
import type { Tf } from "./backend.js";
import type { LayersModel } from "./network.js";

type SymbolicTensor = ReturnType<Tf["input"]>;

/**
 * The network, its weights drawn from `seed`, compiled with Adam at the configured rate
 * (see adam.ts).
 * L2 is not set on the layers: the training loop adds the penalty itself.
 */
export function buildModel(tf: Tf, inputs: number, config: ModelConfig, seed: number) {
  const hidden = config.kind === "mlp" ? config.hiddenUnits : [];
  const members = config.ensemble ?? 1;
  let model: LayersModel;
  if (members <= 1) {
    const sequential = tf.sequential();
    for (const layer of denseStack(tf, hidden, seed, inputs)) sequential.add(layer);
    model = sequential;
  } else {
    const input = tf.input({ shape: [inputs] });
    const outputs = Array.from({ length: members }, (_, m) => {
      let x: SymbolicTensor = input;
      for (const layer of denseStack(tf, hidden, seed + 7919 * m)) {
        x = layer.apply(x) as SymbolicTensor;
      }
      return x;
    });
    const output = tf.layers.average().apply(outputs) as SymbolicTensor;
    model = tf.model({ inputs: input, outputs: output });
  }
  model.compile({ optimizer: createAdam(tf, config.learningRate), loss: "meanSquaredError" });
  return model;
}

/** Dense layers down to one output; `inputs` gives the first its shape (a Sequential's). */
function denseStack(tf: Tf, hidden: readonly number[], seed: number, inputs?: number) {
  const init = (i: number) => tf.initializers.glorotUniform({ seed: seed * 1000 + i });
  const shape = (i: number) => (i === 0 && inputs !== undefined ? [inputs] : undefined);
  const layers = hidden.map((units, i) =>
    tf.layers.dense({
      units,
      activation: "relu",
      inputShape: shape(i),
      kernelInitializer: init(i),
    }),
  );
  const last = hidden.length;
  layers.push(
    tf.layers.dense({ units: 1, inputShape: shape(last), kernelInitializer: init(last) }),
  );
  return layers;
}

/**
 * The model to train: an ensemble's members each with its own output, so that each learns
 * from its own error; a single network is its own.
 */
export function trainingView(tf: Tf, model: LayersModel): LayersModel {
  const last = model.layers.at(-1);
  if (last?.getClassName() !== "Average") return model;
  return tf.model({ inputs: model.inputs, outputs: last.input as SymbolicTensor[] });
}

/** Same kind, layers and members: only then do one model's weights fit the other. */
export function sameArchitecture(a: ModelConfig, b: ModelConfig): boolean {
  const layers = a.kind === "linear" || a.hiddenUnits.join() === b.hiddenUnits.join();
  return a.kind === b.kind && layers && (a.ensemble ?? 1) === (b.ensemble ?? 1);
}
