// The newest readings of every tag, kept in memory as readings pass, so inference and
// status never query the database on the poll path: the latest value of each tag, and a
// short span of recent good values for features computed over a window.
//
// Like the buffer's history, these windows never mix readings across a backwards clock
// jump. A jump starts a new segment: every tag's span starts afresh and latest() answers
// only with readings taken since. The clock monitor reports a jump (clockJumped), but only
// at its next check; a reading older than its tag's newest shows the jump sooner, and
// starts the segment at once. The monitor's report then starts another, losing the few
// readings between — a second's worth at most, against a window mixed across the jump.

import type { ClockListener } from "../clock/clock-monitor.js";
import type { Reading, ReadingSink } from "../core/reading.js";
import type { LatestSource, LatestValue, RecentSource, TimeSeries } from "../core/series.js";

interface Latest {
  reading: Reading;
  segment: number;
}

export class LatestValues implements ReadingSink, LatestSource, RecentSource, ClockListener {
  private readonly values = new Map<string, Latest>();
  private readonly spans = new Map<string, TimeSeries>();
  private segmentNo = 0;

  /** `keepMs`: how far back recent() can reach. */
  constructor(private readonly keepMs = 0) {}

  /** Counts the segments started by backwards clock jumps since start. */
  get segment(): number {
    return this.segmentNo;
  }

  write(readings: readonly Reading[]): void {
    for (const r of readings) {
      const prev = this.values.get(r.tag);
      if (prev?.segment === this.segmentNo && prev.reading.ts > r.ts) this.newSegment();
      this.values.set(r.tag, { reading: r, segment: this.segmentNo });
      if (this.keepMs > 0) this.remember(r);
    }
  }

  latest(tag: string): LatestValue | undefined {
    const held = this.values.get(tag);
    if (!held || held.segment !== this.segmentNo) return undefined;
    const r = held.reading;
    if (r.quality.status !== "good") return undefined;
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

  /** Every tag's newest reading, for status output (from before a jump too). */
  snapshot(): Reading[] {
    return [...this.values.values()].map((l) => l.reading);
  }

  clockJumped(deltaMs: number): void {
    if (deltaMs < 0) this.newSegment();
  }

  clockSynchronized(): void {}

  private newSegment(): void {
    this.segmentNo++;
    this.spans.clear();
  }

  private remember(r: Reading): void {
    const value = Number(r.value);
    if (r.quality.status !== "good" || !Number.isFinite(value)) return;
    let span = this.spans.get(r.tag);
    if (!span) {
      span = { ts: [], values: [] };
      this.spans.set(r.tag, span);
    }
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
}
