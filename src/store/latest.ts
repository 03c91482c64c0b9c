// The newest value of every tag, kept in memory as readings pass, so inference and
// status never query the database on the poll path.

import type { Reading, ReadingSink } from "../core/reading.js";
import type { LatestSource, LatestValue } from "../core/series.js";

export class LatestValues implements ReadingSink, LatestSource {
  private readonly values = new Map<string, Reading>();

  write(readings: readonly Reading[]): void {
    for (const r of readings) {
      const prev = this.values.get(r.tag);
      if (!prev || prev.ts <= r.ts) this.values.set(r.tag, r);
    }
  }

  latest(tag: string): LatestValue | undefined {
    const r = this.values.get(tag);
    if (r?.quality.status !== "good") return undefined;
    const value = Number(r.value);
    return Number.isFinite(value) ? { ts: r.ts, value } : undefined;
  }

  /** Every tag's newest reading, for status output. */
  snapshot(): Reading[] {
    return [...this.values.values()];
  }
}
