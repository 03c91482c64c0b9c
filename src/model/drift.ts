// Drift: the plant changes (fouling, a new product, a replaced sensor) and the model's errors
// grow. Page-Hinkley watches the absolute residual of each prediction once the real target
// for its grid cell is known, and alarms when their mean has risen for long enough.

export interface PageHinkleyOptions {
  /** Change tolerated before it counts, in target units. */
  delta: number;
  /** Alarm level of the cumulative statistic, in target units. */
  threshold: number;
  /** Samples before an alarm is possible, so the running mean is settled. */
  minSamples: number;
}

/** Page-Hinkley test for an increase of the mean. */
export class PageHinkley {
  private n = 0;
  private mean = 0;
  private sum = 0;
  private min = 0;

  constructor(private readonly options: PageHinkleyOptions) {}

  get samples(): number {
    return this.n;
  }

  /** The statistic that is compared with the threshold. */
  get statistic(): number {
    return this.sum - this.min;
  }

  /** Adds one sample; true when the mean has risen (then reset() before going on). */
  update(x: number): boolean {
    if (!Number.isFinite(x)) return false;
    this.n++;
    this.mean += (x - this.mean) / this.n;
    this.sum += x - this.mean - this.options.delta;
    this.min = Math.min(this.min, this.sum);
    return this.n >= this.options.minSamples && this.statistic > this.options.threshold;
  }

  reset(): void {
    this.n = 0;
    this.mean = 0;
    this.sum = 0;
    this.min = 0;
  }
}

/** A prediction whose real value has arrived. */
export interface Residual {
  cellTs: number;
  predicted: number;
  actual: number;
}

/**
 * Predictions waiting for the target's value in their grid cell. A cell is settled once it
 * is complete (the grid has moved past it): its last target reading is the actual value. A
 * cell without any target reading for `maxWaitCells` cells is given up.
 */
export class ResidualMatcher {
  private readonly pending = new Map<number, number>();

  constructor(
    private readonly gridMs: number,
    private readonly maxWaitCells: number,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** The oldest cell still waiting, or undefined. */
  oldestCellTs(): number | undefined {
    let oldest: number | undefined;
    for (const ts of this.pending.keys()) if (oldest === undefined || ts < oldest) oldest = ts;
    return oldest;
  }

  expect(ts: number, predicted: number): void {
    this.pending.set(this.cellOf(ts), predicted);
  }

  /** Matches the target's readings (ascending) against waiting cells complete by nowTs. */
  settle(readings: { ts: number[]; values: number[] }, nowTs: number): Residual[] {
    const lastInCell = new Map<number, number>();
    for (let i = 0; i < readings.ts.length; i++) {
      lastInCell.set(this.cellOf(readings.ts[i] as number), readings.values[i] as number);
    }
    const nowCell = this.cellOf(nowTs);
    const out: Residual[] = [];
    for (const [cellTs, predicted] of this.pending) {
      if (cellTs >= nowCell) continue;
      const actual = lastInCell.get(cellTs);
      if (actual !== undefined) {
        out.push({ cellTs, predicted, actual });
        this.pending.delete(cellTs);
      } else if (nowCell - cellTs > this.maxWaitCells * this.gridMs) {
        this.pending.delete(cellTs);
      }
    }
    return out.sort((a, b) => a.cellTs - b.cellTs);
  }

  clear(): void {
    this.pending.clear();
  }

  private cellOf(ts: number): number {
    return Math.floor(ts / this.gridMs) * this.gridMs;
  }
}
