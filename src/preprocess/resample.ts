// One tag's clean readings onto a dense run of grid cells: the readings of a cell become
// one value (last, mean, min or max), and a cell without readings is filled from its
// neighbours for a few cells at most; beyond that it stays missing (NaN) rather than
// inventing data. Dense, because rolling windows and counter deltas need one value per
// grid step.

import type { TimeSeries } from "../core/series.js";

export type ResampleMode = "last" | "mean" | "min" | "max";
export type FillMode = "forward" | "linear";

export interface ResampleOptions {
  gridMs: number;
  /** Index of the first cell: cell k covers [k * gridMs, (k + 1) * gridMs). */
  firstCell: number;
  /** Number of cells. */
  cells: number;
  resample: ResampleMode;
  fill: FillMode;
  maxFillSteps: number;
}

export interface Resampled {
  /** One value per cell; NaN where no reading and no fill reached. */
  values: number[];
  /** Cells that got their value by filling. */
  filled: number;
}

/** Readings outside the cells are ignored. Series must be ascending by ts. */
export function resampleSeries(series: TimeSeries, options: ResampleOptions): Resampled {
  const values = cellValues(series, options);
  const filled =
    options.fill === "linear"
      ? fillLinear(values, options.maxFillSteps)
      : fillForward(values, options.maxFillSteps);
  return { values, filled };
}

function cellValues(series: TimeSeries, options: ResampleOptions): number[] {
  const { gridMs, firstCell, cells, resample } = options;
  const values = new Array<number>(cells).fill(Number.NaN);
  const readings = new Array<number>(cells).fill(0);
  for (let i = 0; i < series.ts.length; i++) {
    const k = Math.floor((series.ts[i] as number) / gridMs) - firstCell;
    if (k < 0 || k >= cells) continue;
    const v = series.values[i] as number;
    const n = readings[k] as number;
    const prev = values[k] as number;
    readings[k] = n + 1;
    if (n === 0 || resample === "last") values[k] = v;
    else if (resample === "mean") values[k] = prev + v;
    else if (resample === "min") values[k] = Math.min(prev, v);
    else values[k] = Math.max(prev, v);
  }
  if (resample === "mean") {
    for (let k = 0; k < cells; k++) {
      const n = readings[k] as number;
      if (n > 1) values[k] = (values[k] as number) / n;
    }
  }
  return values;
}

/** Carries the last known cell value at most maxFillSteps cells on; returns cells filled. */
export function fillForward(values: number[], maxFillSteps: number): number {
  let filled = 0;
  let lastKnown = -1;
  for (let k = 0; k < values.length; k++) {
    if (!Number.isNaN(values[k])) {
      lastKnown = k;
      continue;
    }
    if (lastKnown < 0 || k - lastKnown > maxFillSteps) continue;
    values[k] = values[lastKnown] as number;
    filled++;
  }
  return filled;
}

/**
 * Interpolates a gap of at most maxFillSteps missing cells between two known cells, so
 * linear reaches exactly as far as forward fill. A gap at the end stays missing: it has
 * no right neighbour yet, and filling it otherwise would differ from what training saw.
 */
export function fillLinear(values: number[], maxFillSteps: number): number {
  let filled = 0;
  let lastKnown = -1;
  for (let k = 0; k < values.length; k++) {
    if (Number.isNaN(values[k])) continue;
    const gap = k - lastKnown - 1;
    if (lastKnown >= 0 && gap > 0 && gap <= maxFillSteps) {
      const a = values[lastKnown] as number;
      const b = values[k] as number;
      for (let j = lastKnown + 1; j < k; j++) {
        values[j] = a + ((b - a) * (j - lastKnown)) / (k - lastKnown);
        filled++;
      }
    }
    lastKnown = k;
  }
  return filled;
}
