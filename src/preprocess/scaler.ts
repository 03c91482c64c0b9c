// Standardization of each column to mean 0 and standard deviation 1, so features measured
// in hPa and in percent train at the same pace. Fitted on training rows only: fitting on
// the holdout too would leak it into the measurement of the model.

export interface Scaler {
  means: number[];
  stds: number[];
}

/** Fits per-column mean and (population) standard deviation; a constant column gets std 1. */
export function fitScaler(rows: readonly (readonly number[])[]): Scaler {
  const first = rows[0];
  if (!first) throw new RangeError("cannot fit a scaler on zero rows");
  const width = first.length;
  const means = new Array<number>(width).fill(0);
  const stds = new Array<number>(width).fill(0);
  for (const row of rows) {
    for (let c = 0; c < width; c++) means[c] = (means[c] as number) + (row[c] as number);
  }
  for (let c = 0; c < width; c++) means[c] = (means[c] as number) / rows.length;

  for (const row of rows) {
    for (let c = 0; c < width; c++) {
      const d = (row[c] as number) - (means[c] as number);
      stds[c] = (stds[c] as number) + d * d;
    }
  }
  for (let c = 0; c < width; c++) {
    const std = Math.sqrt((stds[c] as number) / rows.length);
    // A constant column carries no information; dividing by 0 would turn it into NaN.
    stds[c] = std > 1e-12 ? std : 1;
  }
  return { means, stds };
}

export function scaleRow(scaler: Scaler, row: readonly number[]): number[] {
  return row.map((v, c) => (v - (scaler.means[c] ?? 0)) / (scaler.stds[c] ?? 1));
}

export function scaleRows(scaler: Scaler, rows: readonly (readonly number[])[]): number[][] {
  return rows.map((row) => scaleRow(scaler, row));
}

/** Back from scaled units to the column's own units (used for the predicted target). */
export function unscaleValue(scaler: Scaler, value: number, column = 0): number {
  return value * (scaler.stds[column] ?? 1) + (scaler.means[column] ?? 0);
}

export function scalerToJson(scaler: Scaler): string {
  return JSON.stringify({ means: scaler.means, stds: scaler.stds });
}

/** Parses and checks a serialized scaler (JSON text or parsed); throws naming the fault. */
export function scalerFromJson(input: unknown): Scaler {
  const data = typeof input === "string" ? (JSON.parse(input) as unknown) : input;
  const { means, stds } = (data ?? {}) as Partial<Scaler>;
  const finite = (a: unknown): a is number[] =>
    Array.isArray(a) && a.every((v) => typeof v === "number" && Number.isFinite(v));
  if (!finite(means) || !finite(stds) || means.length !== stds.length) {
    throw new Error("scaler JSON needs equal-length finite number arrays `means` and `stds`");
  }
  if (stds.some((s) => s <= 0)) throw new Error("scaler JSON has a std <= 0");
  return { means: [...means], stds: [...stds] };
}
