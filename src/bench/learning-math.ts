// The small, obviously-right pieces the learning figures are measured with: ordinary least
// squares in closed form (the baseline every model is compared with), error measures, a
// seeded shuffle and quantiles. Plain TypeScript, no tfjs, so the baseline shares nothing
// with what it checks.

export interface LinearFit {
  weights: number[];
  intercept: number;
}

/**
 * Least squares y ≈ w·x + b through the normal equations. Columns are centred first: the
 * intercept then drops out, and CCPP's pressure (≈1013 ± 6 mbar) does not make the system
 * nearly singular.
 */
export function fitOls(x: readonly (readonly number[])[], y: readonly number[]): LinearFit {
  const n = x.length;
  const width = x[0]?.length ?? 0;
  const xMean = Array.from({ length: width }, (_, c) => mean(x.map((r) => r[c] as number)));
  const yMean = mean(y);
  const a = Array.from({ length: width }, () => new Array<number>(width).fill(0));
  const b = new Array<number>(width).fill(0);
  for (let i = 0; i < n; i++) {
    const row = x[i] as readonly number[];
    const dy = (y[i] as number) - yMean;
    for (let r = 0; r < width; r++) {
      const dr = (row[r] as number) - (xMean[r] as number);
      b[r] = (b[r] as number) + dr * dy;
      const ar = a[r] as number[];
      for (let c = 0; c < width; c++)
        ar[c] = (ar[c] as number) + dr * ((row[c] as number) - (xMean[c] as number));
    }
  }
  const weights = solveCholesky(a, b);
  const intercept = yMean - weights.reduce((s, w, c) => s + w * (xMean[c] as number), 0);
  return { weights, intercept };
}

export function predictLinear(fit: LinearFit, row: readonly number[]): number {
  let out = fit.intercept;
  for (let c = 0; c < fit.weights.length; c++)
    out += (fit.weights[c] as number) * (row[c] as number);
  return out;
}

/** Solves A w = b for a symmetric positive-definite A: A = L Lᵀ, then two triangular solves. */
export function solveCholesky(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = b.length;
  const l = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const at = (m: readonly (readonly number[])[], r: number, c: number) =>
    (m[r] as readonly number[])[c] as number;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c <= r; c++) {
      let sum = at(a, r, c);
      for (let k = 0; k < c; k++) sum -= at(l, r, k) * at(l, c, k);
      if (r === c && sum <= 0) throw new RangeError("matrix is not positive definite");
      (l[r] as number[])[c] = r === c ? Math.sqrt(sum) : sum / at(l, c, c);
    }
  }
  const z = new Array<number>(n).fill(0);
  for (let r = 0; r < n; r++) {
    let sum = b[r] as number;
    for (let k = 0; k < r; k++) sum -= at(l, r, k) * (z[k] as number);
    z[r] = sum / at(l, r, r);
  }
  const w = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let sum = z[r] as number;
    for (let k = r + 1; k < n; k++) sum -= at(l, k, r) * (w[k] as number);
    w[r] = sum / at(l, r, r);
  }
  return w;
}

export interface Errors {
  mae: number;
  rmse: number;
  count: number;
}

/** Accumulates absolute and squared errors; `errors()` gives MAE and RMSE over all of them. */
export class ErrorSum {
  private abs = 0;
  private sq = 0;
  private n = 0;

  add(predicted: number, actual: number): void {
    const e = predicted - actual;
    this.abs += Math.abs(e);
    this.sq += e * e;
    this.n++;
  }

  addAll(predicted: readonly number[], actual: readonly number[]): void {
    for (let i = 0; i < predicted.length; i++)
      this.add(predicted[i] as number, actual[i] as number);
  }

  errors(): Errors {
    return { mae: this.abs / this.n, rmse: Math.sqrt(this.sq / this.n), count: this.n };
  }
}

export function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

export { seededRandom } from "../core/random.js";
export { quantile } from "../model/holdout.js";

/** A Fisher–Yates permutation of 0..n-1. */
export function shuffledIndices(n: number, random: () => number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as number, out[i] as number];
  }
  return out;
}
