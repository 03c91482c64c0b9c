// One tag's clean readings onto a dense run of grid cells: the readings of a cell become
// one value (last, mean, min or max), and a cell without readings is filled from its
// neighbours for a few cells at most; beyond that it stays missing (NaN) rather than
// inventing data. Dense, because rolling windows and counter deltas need one value per
// grid step. An explicit bad reading (device down, timeout) ends what is known of the tag:
// its cell and the cells after it stay missing until the next good reading, and no fill
// bridges it, so a fault is never held at the value from before it.

import type { TimeSeries } from "../core/series.js";

export type ResampleMode = "last" | "mean" | "min" | "max";
export type FillMode = "forward" | "linear";

export interface CellOptions {
  gridMs: number;
  /** Index of the first cell: cell k covers [k * gridMs, (k + 1) * gridMs). */
  firstCell: number;
  /** Number of cells. */
  cells: number;
  resample: ResampleMode;
  /** Timestamps of the tag's bad readings, ascending. */
  bad?: readonly number[];
}

export interface ResampleOptions extends CellOptions {
  fill: FillMode;
  maxFillSteps: number;
}

export interface Cells {
  /** One value per cell; NaN where no good reading, or where a bad one came last. */
  values: number[];
  /** 1 where the cell's last reading was bad: no value, and no fill across it. */
  blocked: Uint8Array;
}

export interface Resampled extends Cells {
  /** Cells that got their value by filling. */
  filled: number;
}

/** Readings outside the cells are ignored. Series must be ascending by ts. */
export function resampleSeries(series: TimeSeries, options: ResampleOptions): Resampled {
  const cells = cellValues(series, options);
  const filled = fillCells(cells.values, cells.blocked, options.fill, options.maxFillSteps);
  return { ...cells, filled };
}

/** Each cell's value from its good readings, without fill; cells a bad reading ended. */
export function cellValues(series: TimeSeries, options: CellOptions): Cells {
  const { gridMs, firstCell, cells, resample } = options;
  const values = new Array<number>(cells).fill(Number.NaN);
  const readings = new Array<number>(cells).fill(0);
  const lastGoodTs = new Array<number>(cells).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < series.ts.length; i++) {
    const ts = series.ts[i] as number;
    const k = Math.floor(ts / gridMs) - firstCell;
    if (k < 0 || k >= cells) continue;
    const v = series.values[i] as number;
    const n = readings[k] as number;
    const prev = values[k] as number;
    readings[k] = n + 1;
    lastGoodTs[k] = ts;
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
  return { values, blocked: blockBad(values, lastGoodTs, options) };
}

/** A cell whose last reading is bad has no value: the tag's state at its end is unknown. */
function blockBad(
  values: number[],
  lastGoodTs: readonly number[],
  options: CellOptions,
): Uint8Array {
  const { gridMs, firstCell, cells, bad = [] } = options;
  const blocked = new Uint8Array(cells);
  for (const ts of bad) {
    const k = Math.floor(ts / gridMs) - firstCell;
    if (k < 0 || k >= cells || ts < (lastGoodTs[k] as number)) continue;
    blocked[k] = 1;
    values[k] = Number.NaN;
  }
  return blocked;
}

/** Fills missing cells in place, never across a blocked one; returns the cells filled. */
export function fillCells(
  values: number[],
  blocked: Uint8Array | undefined,
  fill: FillMode,
  maxFillSteps: number,
): number {
  return fill === "linear"
    ? fillLinear(values, maxFillSteps, blocked)
    : fillForward(values, maxFillSteps, blocked);
}

/** Carries the last known cell value at most maxFillSteps cells on; returns cells filled. */
export function fillForward(values: number[], maxFillSteps: number, blocked?: Uint8Array): number {
  let filled = 0;
  let lastKnown = -1;
  for (let k = 0; k < values.length; k++) {
    if (blocked?.[k]) {
      lastKnown = -1;
      continue;
    }
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
export function fillLinear(values: number[], maxFillSteps: number, blocked?: Uint8Array): number {
  let filled = 0;
  let lastKnown = -1;
  for (let k = 0; k < values.length; k++) {
    if (blocked?.[k]) {
      lastKnown = -1;
      continue;
    }
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
