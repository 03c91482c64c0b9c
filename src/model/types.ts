// What crosses the boundary between the learner, the training worker and the model store.
// Everything here is plain data so it can be posted to a worker and written as JSON.

import type { ModelConfig } from "../config/schema.js";
import type { Scaler } from "../preprocess/scaler.js";

/** A trained network as tfjs hands it to a save handler: JSON topology plus raw weights. */
export interface ModelFiles {
  modelTopology: object;
  weightSpecs: WeightSpec[];
  weightData: ArrayBuffer;
  /** The optimizer's state after training (Adam's step count and moments), for warm starts. */
  optimizer?: OptimizerState;
}

/** tfjs optimizer weights in order, as plain numbers: tiny for the models trained here. */
export type OptimizerState = Array<{ name: string; shape: number[]; values: number[] }>;

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: "float32" | "int32" | "bool" | "string" | "complex64";
}

export interface Scalers {
  features: Scaler;
  target: Scaler;
}

/** The champion as the worker needs it: to measure it and to start a challenger from it. */
export interface ChampionInput {
  files: ModelFiles;
  scalers: Scalers;
  model: ModelConfig;
  columns: string[];
}

/** Quantiles of the holdout residuals (actual − predicted) that bound the prediction band. */
export interface BandQuantiles {
  lower: number;
  upper: number;
}

export interface TrainRequest {
  /** Feature rows, oldest first; the newest holdoutFraction of them are held out. */
  x: number[][];
  y: number[];
  features: string[];
  model: ModelConfig;
  holdoutFraction: number;
  /**
   * Rows at the end of x to hold out, overriding holdoutFraction: when older reservoir rows
   * lead x, the holdout is still a share of the window's newest rows only.
   */
  holdoutRows?: number;
  /** Measured on the same holdout as the challenger; with warmStart, its starting point. */
  champion?: ChampionInput;
  warmStart?: boolean;
  /** Which residual quantiles to report as the prediction band. */
  band?: BandQuantiles;
  /** Seeds the initial weights and the shuffle; default DEFAULT_SEED (fit.ts). */
  seed?: number;
}

export interface HoldoutMetrics {
  /** Mean absolute error on the holdout rows, in target units. */
  holdoutMae: number;
  holdoutRmse: number;
}

export interface TrainMetrics extends HoldoutMetrics {
  trainRows: number;
  holdoutRows: number;
  trainMs: number;
}

/** Offsets to add to a prediction for its band, in target units (lower ≤ 0 ≤ upper, usually). */
export interface BandOffsets {
  lower: number;
  upper: number;
}

export interface TrainResult {
  files: ModelFiles;
  scalers: Scalers;
  metrics: TrainMetrics;
  /** The champion on the challenger's holdout, when one was sent. */
  champion?: HoldoutMetrics;
  band?: BandOffsets;
  /** True when the challenger started from the champion's weights. */
  warmStarted: boolean;
  /** The backend the worker trained on. */
  backend: string;
}
