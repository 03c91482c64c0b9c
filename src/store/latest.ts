// The newest readings of every tag, kept in memory as readings pass, so inference and
// status never query the database on the poll path: the latest value of each tag, and a
// short span of recent good values for features computed over a window.

import type { Reading, ReadingSink } from "../core/reading.js";
import type { LatestSource, LatestValue, RecentSource, TimeSeries } from "../core/series.js";

export class LatestValues implements ReadingSink, LatestSource, RecentSource {
  private readonly values = new Map<string, Reading>();
  private readonly spans = new Map<string, TimeSeries>();

  /** `keepMs`: how far back recent() can reach. */
  constructor(private readonly keepMs = 0) {}

  write(readings: readonly Reading[]): void {
    for (const r of readings) {
      const prev = this.values.get(r.tag);
      if (!prev || prev.ts <= r.ts) this.values.set(r.tag, r);
      if (this.keepMs > 0) this.remember(r);
    }
  }

  latest(tag: string): LatestValue | undefined {
    const r = this.values.get(tag);
    if (r?.quality.status !== "good") return undefined;
    const value = Number(r.value);
    return Number.isFinite(value) ? { ts: r.ts, value } : undefined;
  }

  recent(tags: readonly string[], fromTs: number): Map<string, TimeSeries> {
    const out = new Map<string, TimeSeries>();
    for (const tag of tags) {
      const span = this.spans.get(tag) ?? { ts: [], values: [] };
      const first = span.ts.findIndex((t) => t >= fromTs);
      const from = first < 0 ? span.ts.length : first;
      out.set(tag, { ts: span.ts.slice(from), values: span.values.slice(from) });
    }
    return out;
  }

  /** Every tag's newest reading, for status output. */
  snapshot(): Reading[] {
    return [...this.values.values()];
  }

  private remember(r: Reading): void {
    const value = Number(r.value);
    if (r.quality.status !== "good" || !Number.isFinite(value)) return;
    let span = this.spans.get(r.tag);
    if (!span) {
      span = { ts: [], values: [] };
      this.spans.set(r.tag, span);
    }
    // Out-of-order readings (a clock step) start the span afresh rather than unsort it.
    if (span.ts.length && (span.ts.at(-1) as number) > r.ts) span = this.reset(r.tag);
    span.ts.push(r.ts);
    span.values.push(value);
    const cutoff = r.ts - this.keepMs;
    let drop = 0;
    while (drop < span.ts.length && (span.ts[drop] as number) < cutoff) drop++;
    // Trim in bulk, not one shift per reading.
    if (drop > 64 || drop > span.ts.length / 2) {
      span.ts.splice(0, drop);
      span.values.splice(0, drop);
    }
  }

  private reset(tag: string): TimeSeries {
    const span = { ts: [], values: [] };
    this.spans.set(tag, span);
    return span;
  }
}
