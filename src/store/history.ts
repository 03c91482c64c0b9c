// Reads the rest of plantgate needs from the buffer: good numeric history per tag for
// training windows, restricted to the current clock segment (rows written after the last
// backwards clock jump), so a window never mixes readings across such a jump.

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
  const select = db
    .prepare(
      `SELECT ts, value FROM readings
       WHERE tag_id = ? AND ts >= ? AND ts < ? AND quality = 'good' AND id > ?
       ORDER BY ts`,
    )
    .raw(true);

  const out = new Map<string, TimeSeries>();
  for (const tag of tags) {
    const series: TimeSeries = { ts: [], values: [] };
    const id = tagIds.get(tag);
    if (id !== undefined) {
      for (const [ts, value] of select.all(id, fromTs, toTs, segmentStartId) as [
        number,
        unknown,
      ][]) {
        const n = Number(value);
        if (!Number.isFinite(n)) continue;
        series.ts.push(ts);
        series.values.push(n);
      }
    }
    out.set(tag, series);
  }
  return out;
}
