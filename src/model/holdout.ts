// Measuring a network on held-out rows: its errors in target units, and the residual
// quantiles that become the prediction band. The champion and the challenger are measured
// by the same code on the same rows, so their errors can be compared.

import { scaleRows, unscaleValue } from "../preprocess/scaler.js";
import type { Tf } from "./backend.js";
import { type LayersModel, predictRows } from "./network.js";
import type { BandOffsets, BandQuantiles, HoldoutMetrics, Scalers } from "./types.js";

/** actual − predicted for each row, in target units. */
export function residuals(
  tf: Tf,
  network: LayersModel,
  scalers: Scalers,
  x: readonly (readonly number[])[],
  y: readonly number[],
): number[] {
  const predicted = predictRows(tf, network, scaleRows(scalers.features, x));
  return predicted.map((p, i) => (y[i] ?? Number.NaN) - unscaleValue(scalers.target, p));
}

export function errorMetrics(res: readonly number[]): HoldoutMetrics {
  if (res.length === 0) return { holdoutMae: Number.NaN, holdoutRmse: Number.NaN };
  return {
    holdoutMae: res.reduce((s, e) => s + Math.abs(e), 0) / res.length,
    holdoutRmse: Math.sqrt(res.reduce((s, e) => s + e * e, 0) / res.length),
  };
}

/** The q-quantile of values, interpolating linearly between order statistics. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = Math.min(1, Math.max(0, q)) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

/** The band offsets: a prediction p gets [p + lower, p + upper]. */
export function residualBand(res: readonly number[], q: BandQuantiles): BandOffsets {
  return { lower: quantile(res, q.lower), upper: quantile(res, q.upper) };
}
