// One training run: split the rows in time, standardize on the older part, fit a small
// regression network and measure it on the newer part. Runs inside the training worker
// (see train-worker.ts) but takes the tf runtime as an argument so it stays testable.

import type { ModelConfig } from "../config/schema.js";
import { fitScaler, scaleRows, unscaleValue } from "../preprocess/scaler.js";
import type { Tf, TfRuntime } from "./backend.js";
import { type LayersModel, predictRows } from "./network.js";
import type { ModelFiles, TrainRequest, TrainResult } from "./types.js";

/** Trains on all but the newest holdoutFraction of the rows and measures on those. */
export async function trainModel(runtime: TfRuntime, req: TrainRequest): Promise<TrainResult> {
  const { tf } = runtime;
  const started = performance.now();
  const { xTrain, yTrain, xHoldout, yHoldout } = splitChronological(req);

  const scalers = {
    features: fitScaler(xTrain),
    target: fitScaler(yTrain.map((v) => [v])),
  };
  const model = buildModel(tf, req.features.length, req.model);
  try {
    const xs = tf.tensor2d(scaleRows(scalers.features, xTrain));
    const ys = tf.tensor2d(
      scaleRows(
        scalers.target,
        yTrain.map((v) => [v]),
      ),
    );
    try {
      await model.fit(xs, ys, {
        epochs: req.model.epochs,
        batchSize: req.model.batchSize,
        shuffle: true,
        verbose: 0,
      });
    } finally {
      tf.dispose([xs, ys]);
    }

    const predicted = predictRows(tf, model, scaleRows(scalers.features, xHoldout));
    const errors = predicted.map((p, i) => unscaleValue(scalers.target, p) - (yHoldout[i] ?? 0));
    const files = await saveToMemory(tf, model);
    return {
      files,
      scalers,
      backend: runtime.backend,
      metrics: {
        holdoutMae: errors.reduce((s, e) => s + Math.abs(e), 0) / errors.length,
        holdoutRmse: Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / errors.length),
        trainRows: xTrain.length,
        holdoutRows: xHoldout.length,
        trainMs: Math.round(performance.now() - started),
      },
    };
  } finally {
    // The optimizer is passed in, not named by string, so model.dispose() leaves it alone.
    model.optimizer?.dispose();
    model.dispose();
  }
}

/** The newest rows are held out: a random split would let the model peek at the future. */
export function splitChronological(req: TrainRequest) {
  const n = req.x.length;
  if (n !== req.y.length) throw new RangeError(`x has ${n} rows but y has ${req.y.length}`);
  const holdout = Math.max(1, Math.round(n * req.holdoutFraction));
  const cut = n - holdout;
  if (cut < 2) throw new RangeError(`too few rows to train and hold out: ${n}`);
  return {
    xTrain: req.x.slice(0, cut),
    yTrain: req.y.slice(0, cut),
    xHoldout: req.x.slice(cut),
    yHoldout: req.y.slice(cut),
  };
}

export function buildModel(tf: Tf, inputs: number, config: ModelConfig) {
  const model = tf.sequential();
  const kernelRegularizer = config.l2 > 0 ? tf.regularizers.l2({ l2: config.l2 }) : undefined;
  const hidden = config.kind === "mlp" ? config.hiddenUnits : [];
  hidden.forEach((units, i) => {
    const inputShape = i === 0 ? [inputs] : undefined;
    model.add(tf.layers.dense({ units, activation: "relu", inputShape, kernelRegularizer }));
  });
  const inputShape = hidden.length === 0 ? [inputs] : undefined;
  model.add(tf.layers.dense({ units: 1, inputShape, kernelRegularizer }));
  model.compile({ optimizer: tf.train.adam(config.learningRate), loss: "meanSquaredError" });
  return model;
}

async function saveToMemory(tf: Tf, model: LayersModel): Promise<ModelFiles> {
  let files: ModelFiles | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      files = {
        modelTopology: artifacts.modelTopology as object,
        weightSpecs: (artifacts.weightSpecs ?? []) as ModelFiles["weightSpecs"],
        weightData: joinWeightData(artifacts.weightData),
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  if (!files) throw new Error("tfjs save handler was not called");
  return files;
}

/** tfjs 4 may hand weights over as several buffers; the store writes one weights.bin. */
function joinWeightData(data: ArrayBuffer | ArrayBuffer[] | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  if (!Array.isArray(data)) return data;
  const joined = Buffer.concat(data.map((b) => new Uint8Array(b)));
  return joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength);
}
