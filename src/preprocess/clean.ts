// Per-tag cleaning of raw readings before they are put on the grid: a reading the sensor
// could not have produced, a repeated timestamp, a frozen sensor or a spike would otherwise
// be learned as plant behaviour. Every reading dropped or repaired is counted by reason, so
// an operator can see why a model has fewer rows than expected.
//
// Every decision looks only at the reading and at readings before it, within a bounded span
// (see `cleaningLookbackMs`), so a reading is judged the same in a training run over hours
// of history and in an inference call over the last few minutes.

import type { TimeSeries } from "../core/series.js";

/** The cleaning part of one `learning.preprocessing` entry. */
export interface CleaningOptions {
  min?: number;
  max?: number;
  stuckAfterMs?: number;
  outlier?: { windowRows: number; threshold: number; action: "clip" | "drop" };
}

/** Readings dropped or repaired per reason; cell and counter counts are added later. */
export interface CleaningCounts {
  /** A second reading with the same ts (the later one is kept). */
  duplicate: number;
  /** A reading older than the one before it. */
  outOfOrder: number;
  /** NaN or ±Infinity. */
  notFinite: number;
  belowMin: number;
  aboveMax: number;
  /** The value had not changed for stuckAfterMs. */
  stuck: number;
  outlierClipped: number;
  outlierDropped: number;
}

export function emptyCleaningCounts(): CleaningCounts {
  return {
    duplicate: 0,
    outOfOrder: 0,
    notFinite: 0,
    belowMin: 0,
    aboveMax: 0,
    stuck: 0,
    outlierClipped: 0,
    outlierDropped: 0,
  };
}

/** MAD of normally distributed data times this is its standard deviation. */
export const MAD_TO_SIGMA = 1.4826;

/** Counts one reading dropped or repaired, by reason, at its ts. */
type Tally = (reason: keyof CleaningCounts, ts: number) => void;

/**
 * Cleans one tag's readings in order: order and duplicates, plausibility limits, stuck
 * sensor, outliers. Pure apart from adding to `counts`; the input is not modified. Only
 * readings at or after `countFromTs` are counted: the ones before it are a look-back that
 * another call counts.
 */
export function cleanSeries(
  series: TimeSeries,
  options: CleaningOptions,
  gridMs: number,
  counts: CleaningCounts,
  countFromTs = Number.NEGATIVE_INFINITY,
): TimeSeries {
  const count: Tally = (reason, ts) => {
    if (ts >= countFromTs) counts[reason]++;
  };
  let out = dedupe(series, count);
  out = applyLimits(out, options, count);
  if (options.stuckAfterMs !== undefined) out = dropStuck(out, options.stuckAfterMs, count);
  if (options.outlier) out = handleOutliers(out, options.outlier, gridMs, count);
  return out;
}

/**
 * How far before a reading the cleaning looks: the outlier window of the readings before
 * it, each of which was itself judged stuck or not from its own run.
 */
export function cleaningLookbackMs(options: CleaningOptions, gridMs: number): number {
  const outlier = options.outlier ? options.outlier.windowRows * gridMs : 0;
  return outlier + (options.stuckAfterMs ?? 0);
}

/** Same ts twice keeps the later reading (the newer write); older-than-previous is dropped. */
function dedupe(series: TimeSeries, count: Tally): TimeSeries {
  const ts: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < series.ts.length; i++) {
    const t = series.ts[i] as number;
    const v = series.values[i] as number;
    if (!Number.isFinite(v)) {
      count("notFinite", t);
      continue;
    }
    const last = ts.length - 1;
    if (last >= 0 && t === ts[last]) {
      count("duplicate", t);
      values[last] = v;
      continue;
    }
    if (last >= 0 && t < (ts[last] as number)) {
      count("outOfOrder", t);
      continue;
    }
    ts.push(t);
    values.push(v);
  }
  return { ts, values };
}

function applyLimits(series: TimeSeries, options: CleaningOptions, count: Tally) {
  const { min, max } = options;
  if (min === undefined && max === undefined) return series;
  return keepWhere(series, (v, i) => {
    if (min !== undefined && v < min) {
      count("belowMin", series.ts[i] as number);
      return false;
    }
    if (max !== undefined && v > max) {
      count("aboveMax", series.ts[i] as number);
      return false;
    }
    return true;
  });
}

/**
 * A reading is stuck once its value has been the same since a reading at least stuckAfterMs
 * earlier. The first readings of such a run are kept: when they arrived nobody could tell
 * the sensor had frozen, and inference must decide on the data it has at that moment.
 */
function dropStuck(series: TimeSeries, stuckAfterMs: number, count: Tally) {
  let runStart = 0;
  return keepWhere(series, (v, i) => {
    if (i > 0 && v !== series.values[i - 1]) runStart = i;
    const stuck = (series.ts[i] as number) - (series.ts[runStart] as number) >= stuckAfterMs;
    if (stuck) count("stuck", series.ts[i] as number);
    return !stuck;
  });
}

/**
 * Each reading is compared with the median of the readings before it: at most windowRows
 * of them, none older than windowRows grid steps (so the span a decision needs is bounded
 * in time whatever the poll rate). The window holds the readings as they came, not the
 * clipped ones, so a real step change stops being clipped once half the window has seen it.
 */
function handleOutliers(
  series: TimeSeries,
  outlier: NonNullable<CleaningOptions["outlier"]>,
  gridMs: number,
  count: Tally,
): TimeSeries {
  const { windowRows, threshold, action } = outlier;
  const spanMs = windowRows * gridMs;
  const ts: number[] = [];
  const values: number[] = [];
  const scratch = new Float64Array(windowRows * 2);
  let from = 0;
  for (let i = 0; i < series.ts.length; i++) {
    const t = series.ts[i] as number;
    const v = series.values[i] as number;
    from = Math.max(from, i - windowRows);
    while (from < i && (series.ts[from] as number) < t - spanMs) from++;
    const bounds = outlierBounds(series.values.slice(from, i), threshold, scratch);

    let kept = v;
    if (bounds && (v < bounds.low || v > bounds.high)) {
      if (action === "drop") {
        count("outlierDropped", t);
        continue;
      }
      count("outlierClipped", t);
      kept = v < bounds.low ? bounds.low : bounds.high;
    }
    ts.push(t);
    values.push(kept);
  }
  return { ts, values };
}

/**
 * median ± threshold × 1.4826 × MAD of the window, or undefined when it cannot judge: fewer
 * than 3 readings, or a MAD of 0 (a constant window would flag every change of a quantized
 * sensor as an outlier).
 */
export function outlierBounds(
  window: readonly number[],
  threshold: number,
  scratch = new Float64Array(window.length * 2),
): { low: number; high: number } | undefined {
  const n = window.length;
  if (n < 3) return undefined;
  // Typed arrays sort numerically without a comparator call; this runs once per reading.
  const sorted = scratch.subarray(0, n);
  sorted.set(window);
  const center = medianOfSorted(sorted.sort());
  const deviations = scratch.subarray(n, 2 * n);
  for (let i = 0; i < n; i++) deviations[i] = Math.abs((window[i] as number) - center);
  const mad = medianOfSorted(deviations.sort());
  if (!(mad > 0)) return undefined;
  const reach = threshold * MAD_TO_SIGMA * mad;
  return { low: center - reach, high: center + reach };
}

function medianOfSorted(sorted: Float64Array): number {
  const mid = sorted.length >> 1;
  if (sorted.length % 2 === 1) return sorted[mid] as number;
  return ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function keepWhere(series: TimeSeries, keep: (v: number, i: number) => boolean): TimeSeries {
  const ts: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < series.ts.length; i++) {
    const v = series.values[i] as number;
    if (!keep(v, i)) continue;
    ts.push(series.ts[i] as number);
    values.push(v);
  }
  return { ts, values };
}
