// A uniform sample of the rows that have left the training window (Algorithm R), so a
// regime the plant was in weeks ago (winter, another product) still weighs in training
// after the window has moved past it. Seeded, so a run can be reproduced.

import { seededRandom } from "../core/random.js";

export interface SampleRow {
  ts: number;
  x: number[];
  y: number;
}

export class Reservoir {
  private rows: SampleRow[] = [];
  private seen = 0;
  private readonly random: () => number;

  constructor(
    private readonly capacity: number,
    seed = 0x9e3779b9,
  ) {
    this.random = seededRandom(seed);
  }

  /** Rows offered so far. */
  get offered(): number {
    return this.seen;
  }

  /** Each row offered so far had the same chance to be kept, capacity / offered. */
  offer(row: SampleRow): void {
    if (this.capacity <= 0) return;
    this.seen++;
    if (this.rows.length < this.capacity) {
      this.rows.push(row);
      return;
    }
    const j = Math.floor(this.random() * this.seen);
    if (j < this.capacity) this.rows[j] = row;
  }

  /** The sample, oldest first. */
  sample(): SampleRow[] {
    return [...this.rows].sort((a, b) => a.ts - b.ts);
  }

  clear(): void {
    this.rows = [];
    this.seen = 0;
  }
}
