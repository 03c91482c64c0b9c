// A plant that runs in real time on a fast grid (20 ms), for tests of the learner's
// schedule: readings arrive as time passes, a device can go down (its polls come back bad),
// and the target can drift. The clock's monotonic side can be moved ahead, so an interval
// of an hour passes in an instant.

import type { Clock } from "../../../src/core/clock.js";
import type { Reading } from "../../../src/core/reading.js";
import type {
  HistorySource,
  LatestSource,
  LatestValue,
  RecentSource,
  TimeSeries,
} from "../../../src/core/series.js";
import type { BadReadingSource } from "../../../src/model/bad-readings.js";

export const PLANT_FEATURES = ["p.a", "p.b"];
export const PLANT_TARGET = "p.y";
const TAGS = [...PLANT_FEATURES, PLANT_TARGET];
/** Each reading lands this far into its cell. */
const INTO_CELL_MS = 2;

export class LivePlant implements HistorySource, LatestSource, RecentSource, BadReadingSource {
  /** Added to the monotonic clock: moves schedules and backoffs ahead. */
  monotonicAheadMs = 0;
  private readonly startReal = performance.now();
  private readonly t0: number;
  private shift = { fromTs: Number.POSITIVE_INFINITY, by: 0 };
  private readonly down: Array<{ fromTs: number; toTs: number }> = [];
  private polledUntil: number;

  readonly clock: Clock = {
    now: () => this.t0 + (performance.now() - this.startReal),
    monotonic: () => performance.now() + this.monotonicAheadMs,
  };

  /** `historyCells` of readings exist already when the test starts. */
  constructor(
    readonly gridMs: number,
    private readonly historyCells: number,
  ) {
    this.t0 = 1_700_000_000_000;
    this.polledUntil = this.t0;
  }

  /** From now on the target reads `by` higher than the inputs explain: drift. */
  drift(by: number): void {
    this.shift = { fromTs: this.clock.now(), by };
  }

  /** The device stops answering for `ms`, starting now: its polls come back bad. */
  goDown(ms: number): { fromTs: number; toTs: number } {
    const span = { fromTs: this.clock.now(), toTs: this.clock.now() + ms };
    this.down.push(span);
    return span;
  }

  history(tags: readonly string[], fromTs: number, toTs: number): Map<string, TimeSeries> {
    const out = new Map<string, TimeSeries>();
    const until = Math.min(toTs, this.clock.now());
    for (const tag of tags) {
      const s: TimeSeries = { ts: [], values: [] };
      for (const ts of this.readingTimes(fromTs, until)) {
        if (this.isDown(ts)) continue;
        const value = this.value(tag, ts);
        s.ts.push(ts);
        s.values.push(value);
        // Now and then the same reading is stored twice: cleaning counts it.
        if (tag === "p.a" && this.cell(ts) % 50 === 0) {
          s.ts.push(ts);
          s.values.push(value);
        }
      }
      out.set(tag, s);
    }
    return out;
  }

  recent(tags: readonly string[], fromTs: number): Map<string, TimeSeries> {
    return this.history(tags, fromTs, Number.POSITIVE_INFINITY);
  }

  badReadings(tags: readonly string[], fromTs: number, toTs: number): Map<string, number[]> {
    const until = Math.min(toTs, this.clock.now());
    const times = this.readingTimes(fromTs, until).filter((ts) => this.isDown(ts));
    return new Map(tags.map((t) => [t, TAGS.includes(t) ? times : []]));
  }

  latest(tag: string): LatestValue | undefined {
    const now = this.clock.now();
    const ts = this.cell(now - INTO_CELL_MS) * this.gridMs + INTO_CELL_MS;
    if (this.isDown(ts)) return undefined;
    return { ts, value: this.value(tag, ts) };
  }

  /** The bad readings polled since the last call, as the daemon hands them to the learner. */
  poll(): Reading[] {
    const now = this.clock.now();
    const out: Reading[] = [];
    for (const ts of this.readingTimes(this.polledUntil, now)) {
      if (!this.isDown(ts)) continue;
      for (const tag of TAGS) {
        out.push({ tag, ts, value: null, quality: { status: "bad", reason: "timeout" } });
      }
    }
    this.polledUntil = now;
    return out;
  }

  /** The target the inputs explain, with the drift once it started. */
  value(tag: string, ts: number): number {
    const k = this.cell(ts);
    const a = Math.sin(k / 7) * 10;
    const b = Math.cos(k / 13) * 5 + 20;
    if (tag === "p.a") return a;
    if (tag === "p.b") return b;
    const drift = ts >= this.shift.fromTs ? this.shift.by : 0;
    return 3 * a - 2 * b + 50 + Math.sin(k * 7.1) * 0.1 + drift;
  }

  private cell(ts: number): number {
    return Math.floor(ts / this.gridMs);
  }

  private isDown(ts: number): boolean {
    return this.down.some((d) => ts >= d.fromTs && ts < d.toTs);
  }

  /** Reading times in [fromTs, toTs) from the start of the plant's history. */
  private readingTimes(fromTs: number, toTs: number): number[] {
    const first = this.cell(this.t0) - this.historyCells;
    const from = Math.max(first, this.cell(fromTs - INTO_CELL_MS));
    const out: number[] = [];
    for (let k = from; k * this.gridMs + INTO_CELL_MS < toTs; k++) {
      const ts = k * this.gridMs + INTO_CELL_MS;
      if (ts >= fromTs) out.push(ts);
    }
    return out;
  }
}
