// When each tag's readings were bad (device down, timeout, decode error). Training and
// inference both stop a tag's fill at its bad readings (see buildDataset's `bad`), so a
// fault is never bridged with the value from before it: training reads them from the
// buffer's SQLite file, inference from the readings as they pass.

import Database from "better-sqlite3";
import type { Reading } from "../core/reading.js";

export interface BadReadingSource {
  /** Timestamps of each tag's bad readings with fromTs <= ts < toTs, ascending. */
  badReadings(tags: readonly string[], fromTs: number, toTs: number): Map<string, number[]>;
}

/**
 * Reads bad readings from the buffer through a read-only connection of its own, opened per
 * call like StoreAlarmSpans: training asks once per run, and the store may move a corrupt
 * file aside at any time. Like the history it pairs with, only rows after the last
 * backwards clock jump count.
 */
export class StoreBadReadings implements BadReadingSource {
  constructor(private readonly dbPath: string) {}

  badReadings(tags: readonly string[], fromTs: number, toTs: number): Map<string, number[]> {
    const out = new Map(tags.map((t) => [t, [] as number[]]));
    if (tags.length === 0) return out;
    let db: Database.Database | undefined;
    try {
      db = new Database(this.dbPath, { readonly: true, fileMustExist: true });
      const rows = db
        .prepare(
          `SELECT t.name, r.ts FROM readings r JOIN tags t ON t.id = r.tag_id
           WHERE r.ts >= ? AND r.ts < ? AND r.quality = 'bad'
             AND r.id > coalesce((SELECT CAST(value AS INTEGER) FROM meta
                                  WHERE key = 'segment_start_id'), 0)
             AND t.name IN (${tags.map(() => "?").join(", ")})
           ORDER BY r.ts, r.id`,
        )
        .raw(true)
        .iterate(fromTs, toTs, ...tags) as IterableIterator<[string, number]>;
      for (const [name, ts] of rows) out.get(name)?.push(ts);
      return out;
    } finally {
      db?.close();
    }
  }
}

/** The bad readings of a few tags over the last keepMs, kept as readings pass. */
export class RecentBadReadings implements BadReadingSource {
  private readonly marks = new Map<string, number[]>();

  constructor(
    tags: readonly string[],
    private readonly keepMs: number,
  ) {
    for (const tag of tags) this.marks.set(tag, []);
  }

  /** Remembers the bad ones among `readings` of the tags it keeps. */
  observe(readings: readonly Reading[]): void {
    for (const r of readings) {
      if (r.quality.status !== "bad") continue;
      const marks = this.marks.get(r.tag);
      if (!marks) continue;
      // A clock step backwards starts the tag afresh rather than unsort it.
      if (marks.length && (marks.at(-1) as number) > r.ts) marks.length = 0;
      marks.push(r.ts);
      const cutoff = r.ts - this.keepMs;
      let drop = 0;
      while (drop < marks.length && (marks[drop] as number) < cutoff) drop++;
      if (drop > 0) marks.splice(0, drop);
    }
  }

  /**
   * A clock step backwards restarts every tag, as LatestValues' windows restart: marks from
   * before the step would land in the new window and block fills there for a while.
   */
  clockJumped(deltaMs: number): void {
    if (deltaMs >= 0) return;
    for (const marks of this.marks.values()) marks.length = 0;
  }

  badReadings(tags: readonly string[], fromTs: number, toTs: number): Map<string, number[]> {
    return new Map(tags.map((t) => [t, between(this.marks.get(t) ?? [], fromTs, toTs)]));
  }
}

/** The part of ascending timestamps in [fromTs, toTs), by binary search. */
export function between(ts: readonly number[], fromTs: number, toTs: number): number[] {
  return ts.slice(lowerBound(ts, fromTs), lowerBound(ts, toTs));
}

function lowerBound(ts: readonly number[], value: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ts[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
