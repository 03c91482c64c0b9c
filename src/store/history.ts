// Reads the rest of plantgate needs from the buffer: good numeric history per tag for
// training windows, restricted to the current clock segment (rows written after the last
// backwards clock jump), so a window never mixes readings across such a jump. One pass over
// the time index serves every tag at once.

// LIMITATION: the boundary is a single id, so after any backwards jump everything before it
// stays out of training windows for good, however long that history was. A table of
// segments (first and last id of each) and a history read that stays within one segment at
// a time would give the learner its older windows back.

import type Database from "better-sqlite3";
import type { TimeSeries } from "../core/series.js";

export function readHistory(
  db: Database.Database,
  tagIds: ReadonlyMap<string, number>,
  segmentStartId: number,
  tags: readonly string[],
  fromTs: number,
  toTs: number,
): Map<string, TimeSeries> {
  const out = new Map<string, TimeSeries>();
  const byId = new Map<number, TimeSeries>();
  for (const tag of tags) {
    const series: TimeSeries = { ts: [], values: [] };
    out.set(tag, series);
    const id = tagIds.get(tag);
    if (id !== undefined) byId.set(id, series);
  }
  if (!byId.size) return out;

  const ids = [...byId.keys()];
  const rows = db
    .prepare(
      `SELECT tag_id, ts, value FROM readings
       WHERE ts >= ? AND ts < ? AND id > ? AND quality = 'good'
         AND tag_id IN (${ids.map(() => "?").join(", ")})
       ORDER BY ts, id`,
    )
    .raw(true)
    .iterate(fromTs, toTs, segmentStartId, ...ids) as IterableIterator<[number, number, unknown]>;
  for (const [tagId, ts, value] of rows) {
    // Numbers, booleans (0/1) and 64-bit integers; a uint64 past 2^63 is stored as its
    // decimal digits and parses too. Null (never a good number) and other text are skipped.
    if (value === null) continue;
    const n = Number(value);
    if (!Number.isFinite(n)) continue;
    const series = byId.get(tagId) as TimeSeries;
    series.ts.push(ts);
    series.values.push(n);
  }
  return out;
}
