// CCPP as a stream: rows arrive in file order; every RETRAIN_EVERY rows the model is trained
// again from scratch on all rows so far (9,568 rows stay inside the daemon's default
// windowRows of 20,000, so no window or reservoir applies). Scoring is prequential: each
// row is predicted by the model in force when it arrives, before it is used for training.
// The first block has no model and is not scored. OLS refitted on the same schedule is the
// baseline.

import type { ModelConfig } from "../config/schema.js";
import type { TfRuntime } from "../model/backend.js";
import type { Regression } from "./learning-data.js";
import { ErrorSum, type Errors, fitOls, predictLinear } from "./learning-math.js";
import { BENCH_MLP, fitRows } from "./learning-model.js";

export const RETRAIN_EVERY = 500;

/**
 * Each retrain gets about the same work, whatever the rows so far: epochs shrink as rows
 * grow (row-epochs per retrain / rows, within [minEpochs, model.epochs]). A fixed epoch
 * count would spend most of the run on the last, largest retrains.
 */
export const ROW_EPOCHS_PER_RETRAIN = 100_000;
const MIN_EPOCHS = 10;

/** The streaming model: BENCH_MLP, whose epoch count is the cap for the small retrains. */
export const STREAM_MLP: ModelConfig = BENCH_MLP;

export interface StreamingFigures {
  model: Errors;
  ols: Errors;
  retrains: number;
  /** Training time of the model over all retrains. */
  trainSeconds: number;
}

export interface StreamingOptions {
  model: ModelConfig;
  retrainEvery?: number;
  /** Row-epochs per retrain; default ROW_EPOCHS_PER_RETRAIN. */
  rowEpochs?: number;
}

export async function prequential(
  runtime: TfRuntime,
  data: Regression,
  options: StreamingOptions,
): Promise<StreamingFigures> {
  const every = options.retrainEvery ?? RETRAIN_EVERY;
  const rowEpochs = options.rowEpochs ?? ROW_EPOCHS_PER_RETRAIN;
  const n = data.x.length;
  const scored = new ErrorSum();
  const ols = new ErrorSum();
  let retrains = 0;
  let trainMs = 0;

  for (let seen = every; seen < n; seen += every) {
    const past = { x: data.x.slice(0, seen), y: data.y.slice(0, seen) };
    const next = {
      x: data.x.slice(seen, Math.min(seen + every, n)),
      y: data.y.slice(seen, Math.min(seen + every, n)),
    };
    // The arriving block is trainModel's holdout: it never reaches the weights or scalers.
    const model = { ...options.model, epochs: epochsFor(options.model, seen, rowEpochs) };
    const fitted = await fitRows(runtime, model, data.features, past, next);
    scored.addAll(fitted.predict(next.x), next.y);
    fitted.dispose();
    retrains++;
    trainMs += fitted.result.metrics.trainMs;

    const line = fitOls(past.x, past.y);
    ols.addAll(
      next.x.map((row) => predictLinear(line, row)),
      next.y,
    );
  }
  return { model: scored.errors(), ols: ols.errors(), retrains, trainSeconds: trainMs / 1000 };
}

function epochsFor(model: ModelConfig, rows: number, rowEpochs: number): number {
  return Math.max(MIN_EPOCHS, Math.min(model.epochs, Math.round(rowEpochs / rows)));
}
