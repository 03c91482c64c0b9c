// One training run: split the rows in time, standardize on the older part, fit a small
// regression network and measure it on the newer part, beside the champion on the same
// rows. Runs inside the training worker (see train-worker.ts) but takes the tf runtime as
// an argument so it stays testable.

import type { ModelConfig } from "../config/schema.js";
import { fitScaler, scaleRows } from "../preprocess/scaler.js";
import { buildModel, sameArchitecture } from "./architecture.js";
import type { Tf, TfRuntime } from "./backend.js";
import { errorMetrics, residualBand, residuals } from "./holdout.js";
import { type LayersModel, loadNetwork } from "./network.js";
import { trainLoop } from "./train-loop.js";
import type {
  ChampionInput,
  HoldoutMetrics,
  ModelFiles,
  Scalers,
  TrainRequest,
  TrainResult,
} from "./types.js";

type Split = ReturnType<typeof splitChronological>;

/** Seeds the weights and the shuffle when a request names none: runs repeat. */
export const DEFAULT_SEED = 1;

/** Trains on all but the newest holdout rows and measures on those. */
export async function trainModel(runtime: TfRuntime, req: TrainRequest): Promise<TrainResult> {
  const { tf } = runtime;
  const started = performance.now();
  const split = splitChronological(req);
  const warm = canWarmStart(req);
  // A warm start keeps the champion's scalers: its weights only mean something on inputs
  // standardized the way they were trained on.
  const scalers = warm && req.champion ? req.champion.scalers : fitScalers(split);

  const seed = req.seed ?? DEFAULT_SEED;
  // LIMITATION: tfjs-layers remembers every layer-variable name it registered, for the life
  // of the thread; a run adds one per weight of the network it builds (about 2 MB per 1,000
  // runs of a small MLP, twice that for an ensemble of three: nothing at hourly retrains).
  // Starting a fresh worker every few thousand runs would bound it.
  const model = buildModel(tf, req.features.length, req.model, seed);
  try {
    let champion: HoldoutMetrics | undefined;
    if (warm && req.champion) {
      await copyWeights(tf, req.champion.files, model);
      // Before training, the challenger is the champion: measure it without a second copy.
      champion = errorMetrics(residuals(tf, model, scalers, split.xHoldout, split.yHoldout));
    } else if (req.champion) {
      champion = await measureChampion(tf, req.champion, split);
    }
    fitScaled(tf, model, scalers, split, req.model, seed);

    const res = residuals(tf, model, scalers, split.xHoldout, split.yHoldout);
    const files = await saveToMemory(tf, model);
    return {
      files,
      scalers,
      backend: runtime.backend,
      warmStarted: warm,
      champion,
      band: req.band && residualBand(res, req.band),
      metrics: {
        ...errorMetrics(res),
        trainRows: split.xTrain.length,
        holdoutRows: split.xHoldout.length,
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
  const holdout = req.holdoutRows ?? Math.max(1, Math.round(n * req.holdoutFraction));
  const cut = n - holdout;
  if (cut < 2 || holdout < 1) throw new RangeError(`too few rows to train and hold out: ${n}`);
  return {
    xTrain: req.x.slice(0, cut),
    yTrain: req.y.slice(0, cut),
    xHoldout: req.x.slice(cut),
    yHoldout: req.y.slice(cut),
  };
}

/** Same columns and same layer shapes, or the champion's weights would not fit. */
export function canWarmStart(req: TrainRequest): boolean {
  const c = req.champion;
  if (!req.warmStart || !c) return false;
  return sameArchitecture(c.model, req.model) && c.columns.join("\n") === req.features.join("\n");
}

/**
 * The champion's weights and, when saved with it, its optimizer state (Adam's step count and
 * moments), so a warm start continues the champion's training instead of restarting its
 * step sizes. tfjs matches optimizer weights by position: canWarmStart ensures equal layers.
 */
async function copyWeights(tf: Tf, files: ModelFiles, into: LayersModel): Promise<void> {
  // Decoded straight into tensors: building the champion's network would register a set of
  // layer variables, whose names tfjs remembers for the life of the thread.
  const decoded = tf.io.decodeWeights(files.weightData, files.weightSpecs);
  const weights = files.weightSpecs.map((spec) => decoded[spec.name]);
  try {
    if (weights.some((w) => w === undefined)) throw new Error("champion weights incomplete");
    into.setWeights(weights as NonNullable<(typeof weights)[number]>[]);
  } finally {
    tf.dispose(Object.values(decoded));
  }
  if (!files.optimizer?.length || !into.optimizer) return;
  const named = files.optimizer.map((w) => ({
    name: w.name,
    tensor: tf.tensor(w.values, w.shape, w.name === "iter" ? "int32" : "float32"),
  }));
  try {
    await into.optimizer.setWeights(named);
  } finally {
    tf.dispose(named.map((w) => w.tensor));
  }
}

async function optimizerState(model: LayersModel): Promise<ModelFiles["optimizer"]> {
  if (!model.optimizer) return undefined;
  const weights = await model.optimizer.getWeights();
  try {
    return await Promise.all(
      weights.map(async (w) => ({
        name: w.name,
        shape: w.tensor.shape,
        values: Array.from(await w.tensor.data()),
      })),
    );
  } finally {
    // getWeights hands out the step count as a fresh tensor; the moments are the
    // optimizer's own variables and go with it.
    for (const w of weights) if (w.name === "iter") w.tensor.dispose();
  }
}

function fitScalers(split: Split): Scalers {
  return {
    features: fitScaler(split.xTrain),
    target: fitScaler(split.yTrain.map((v) => [v])),
  };
}

function fitScaled(
  tf: Tf,
  model: LayersModel,
  scalers: Scalers,
  split: Split,
  config: ModelConfig,
  seed: number,
): void {
  const xs = tf.tensor2d(scaleRows(scalers.features, split.xTrain));
  const ys = tf.tensor2d(
    scaleRows(
      scalers.target,
      split.yTrain.map((v) => [v]),
    ),
  );
  try {
    const epochs = epochsFor(split.xTrain.length, config);
    trainLoop(tf, model, { xs, ys, epochs, config, seed });
  } finally {
    tf.dispose([xs, ys]);
  }
}

/** The configured epochs, fewer when they would exceed maxSteps gradient steps. */
export function epochsFor(rows: number, config: ModelConfig): number {
  const batches = Math.max(1, Math.ceil(rows / config.batchSize));
  return Math.max(1, Math.min(config.epochs, Math.floor(config.maxSteps / batches)));
}

async function measureChampion(
  tf: Tf,
  champion: ChampionInput,
  split: Split,
): Promise<HoldoutMetrics> {
  const network = await loadNetwork(tf, champion.files);
  try {
    return errorMetrics(residuals(tf, network, champion.scalers, split.xHoldout, split.yHoldout));
  } finally {
    network.dispose();
  }
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
  return { ...files, optimizer: await optimizerState(model) };
}

/** tfjs 4 may hand weights over as several buffers; the store writes one weights.bin. */
function joinWeightData(data: ArrayBuffer | ArrayBuffer[] | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  if (!Array.isArray(data)) return data;
  const joined = Buffer.concat(data.map((b) => new Uint8Array(b)));
  return joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength);
}
