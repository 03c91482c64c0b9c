// plantgate's own training and prediction path, as the learning figures drive it:
// trainModel (the function the training worker runs), then the saved files loaded back with
// loadNetwork and asked for predictions the way the learner asks on the main thread.

import { type ModelConfig, modelSchema } from "../config/schema.js";
import type { TfRuntime } from "../model/backend.js";
import { trainModel } from "../model/fit.js";
import { type LayersModel, loadNetwork, predictRows } from "../model/network.js";
import type { Scalers, TrainResult } from "../model/types.js";
import { scaleRows, unscaleValue } from "../preprocess/scaler.js";

/** The linear model: one dense unit, trained by Adam like the MLP. */
export const LINEAR_MODEL: ModelConfig = modelSchema.parse({
  kind: "linear",
  epochs: 40,
  batchSize: 64,
  learningRate: 0.02,
  learningRateSchedule: "cosine",
  // The accuracy protocol trains every epoch asked for; the daemon caps its steps instead.
  maxSteps: 1_000_000,
});

/**
 * The MLP the accuracy figures use, after the search recorded in learning-report.ts:
 * deeper and wider than the daemon's default [16], with a rate falling by cosine.
 */
export const BENCH_MLP: ModelConfig = modelSchema.parse({
  kind: "mlp",
  hiddenUnits: [64, 32],
  epochs: 200,
  batchSize: 128,
  learningRate: 0.01,
  learningRateSchedule: "cosine",
  maxSteps: 1_000_000,
});

/** BENCH_MLP three times, averaged: the search's best, at three times the training. */
export const BENCH_ENSEMBLE: ModelConfig = { ...BENCH_MLP, ensemble: 3 };

export interface Fitted {
  result: TrainResult;
  /** Predictions in target units for raw feature rows. */
  predict(rows: readonly (readonly number[])[]): number[];
  dispose(): void;
}

/**
 * Trains on `train` and holds out `holdout` (rows the model must not see: the test fold, or
 * the rows about to arrive). trainModel fits its scalers and weights on the train rows only
 * and measures on the holdout, which it takes as the newest share of the rows it is given.
 */
export async function fitRows(
  runtime: TfRuntime,
  model: ModelConfig,
  features: string[],
  train: { x: number[][]; y: number[] },
  holdout: { x: number[][]; y: number[] },
): Promise<Fitted> {
  const n = train.x.length + holdout.x.length;
  const result = await trainModel(runtime, {
    x: [...train.x, ...holdout.x],
    y: [...train.y, ...holdout.y],
    features,
    model,
    holdoutFraction: holdout.x.length / n,
  });
  if (result.metrics.holdoutRows !== holdout.x.length) {
    throw new Error(`holdout of ${result.metrics.holdoutRows} rows, ${holdout.x.length} asked`);
  }
  const network = await loadNetwork(runtime.tf, result.files);
  return {
    result,
    predict: (rows) => predictScaled(runtime, network, result.scalers, rows),
    dispose: () => network.dispose(),
  };
}

function predictScaled(
  runtime: TfRuntime,
  network: LayersModel,
  scalers: Scalers,
  rows: readonly (readonly number[])[],
): number[] {
  const scaled = predictRows(runtime.tf, network, scaleRows(scalers.features, rows));
  return scaled.map((v) => unscaleValue(scalers.target, v));
}

/** A shorter label for tables: "linear", "MLP [64, 32]" or "3 × MLP [64, 32]". */
export function modelLabel(model: ModelConfig): string {
  const net = model.kind === "linear" ? "linear" : `MLP [${model.hiddenUnits.join(", ")}]`;
  return model.ensemble > 1 ? `${model.ensemble} × ${net}` : net;
}

/** The training settings in words, for the notes under a table. */
export function describeModel(m: ModelConfig): string {
  const cap = m.maxSteps < 1_000_000 ? `, at most ${m.maxSteps} steps` : "";
  const schedule = m.learningRateSchedule === "cosine" ? " falling by cosine" : "";
  const l2 = m.l2 > 0 ? `, L2 ${m.l2}` : "";
  return `${m.epochs} epochs, batch ${m.batchSize}, lr ${m.learningRate}${schedule}${cap}${l2}`;
}
