// Extra inputs computed from a feature's recent past: rolling statistics over the last `w`
// grid rows and the value `lag` rows back. Efficiency often follows how a vibration or a
// temperature has been moving, not only where it is now. A window or lag that reaches a
// missing cell gives NaN, so the row is left out rather than computed from fewer values.

export type DerivedStat = "mean" | "std" | "min" | "max" | "slope";

export interface DerivedOptions {
  windows: readonly number[];
  stats: readonly DerivedStat[];
  lags: readonly number[];
}

export interface DerivedColumn {
  /** `tag:mean5`, `tag:lag1`. */
  name: string;
  values: number[];
}

/** Columns in the order: each window with each stat, then each lag. */
export function derivedColumns(
  tag: string,
  values: readonly number[],
  options: DerivedOptions,
): DerivedColumn[] {
  const out: DerivedColumn[] = [];
  for (const w of options.windows) {
    const byStat = rollingStats(values, w, options.stats);
    options.stats.forEach((stat, i) => {
      out.push({ name: `${tag}:${stat}${w}`, values: byStat[i] as number[] });
    });
  }
  for (const lag of options.lags) {
    const lagged = values.map((_, k) => (k >= lag ? (values[k - lag] as number) : Number.NaN));
    out.push({ name: `${tag}:lag${lag}`, values: lagged });
  }
  return out;
}

/** Rows back (besides the row itself) that the derived columns read. */
export function derivedLookbackRows(options: DerivedOptions): number {
  const windows = options.stats.length > 0 ? options.windows : [];
  return Math.max(0, ...windows.map((w) => w - 1), ...options.lags);
}

/** One array per stat; NaN until a window of w known values ends at the row. */
function rollingStats(values: readonly number[], w: number, stats: readonly DerivedStat[]) {
  const out = stats.map(() => new Array<number>(values.length).fill(Number.NaN));
  for (let k = w - 1; k < values.length; k++) {
    const window = values.slice(k - w + 1, k + 1);
    if (window.some(Number.isNaN)) continue;
    stats.forEach((stat, i) => {
      (out[i] as number[])[k] = windowStat(window, stat);
    });
  }
  return out;
}

/**
 * Straight sums over the window: windows are a few dozen rows, and a running sum would
 * drift in floating point over a long series, making the same row differ between a long
 * training run and a short inference call.
 */
export function windowStat(window: readonly number[], stat: DerivedStat): number {
  const n = window.length;
  if (stat === "min") return Math.min(...window);
  if (stat === "max") return Math.max(...window);
  const mean = window.reduce((s, v) => s + v, 0) / n;
  if (stat === "mean") return mean;
  if (stat === "std") {
    // Population std, as the scaler uses.
    return Math.sqrt(window.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
  }
  // Least-squares slope against the row index: change per grid step.
  const xMean = (n - 1) / 2;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (i - xMean) * ((window[i] as number) - mean);
    den += (i - xMean) ** 2;
  }
  return num / den;
}
