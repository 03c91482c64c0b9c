// What crosses the boundary between the learner, the training worker and the model store.
// Everything here is plain data so it can be posted to a worker and written as JSON.

import type { ModelConfig } from "../config/schema.js";
import type { Scaler } from "../preprocess/scaler.js";

/** A trained network as tfjs hands it to a save handler: JSON topology plus raw weights. */
export interface ModelFiles {
  modelTopology: object;
  weightSpecs: WeightSpec[];
  weightData: ArrayBuffer;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: "float32" | "int32" | "bool" | "string" | "complex64";
}

export interface Scalers {
  features: Scaler;
  target: Scaler;
}

export interface TrainRequest {
  /** Feature rows, oldest first; the newest holdoutFraction of them are held out. */
  x: number[][];
  y: number[];
  features: string[];
  model: ModelConfig;
  holdoutFraction: number;
}

export interface TrainMetrics {
  /** Mean absolute error on the holdout rows, in target units. */
  holdoutMae: number;
  holdoutRmse: number;
  trainRows: number;
  holdoutRows: number;
  trainMs: number;
}

export interface TrainResult {
  files: ModelFiles;
  scalers: Scalers;
  metrics: TrainMetrics;
  /** The backend the worker trained on. */
  backend: string;
}
