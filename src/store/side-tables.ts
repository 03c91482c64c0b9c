// Predictions and events, each queue in one transaction. As with readings, a row SQLite
// refuses (a NaN prediction, event data that is not JSON) is left out and returned to the
// caller to count, so that it cannot block every later commit.

import type Database from "better-sqlite3";
import type { GatewayEvent } from "../core/events.js";
import type { Prediction } from "../core/series.js";
import { isRowError } from "./batch.js";

export interface Refused {
  ts: number;
  what: string;
  error: string;
}

function eachRow<T>(
  db: Database.Database,
  rows: readonly T[],
  run: (row: T) => void,
  what: (row: T) => string,
): Refused[] {
  const refused: Refused[] = [];
  if (!rows.length) return refused;
  db.transaction(() => {
    for (const row of rows) {
      try {
        run(row);
      } catch (err) {
        if (!isRowError(err)) throw err;
        const ts = (row as { ts: number }).ts;
        refused.push({ ts, what: what(row), error: (err as Error).message });
      }
    }
  })();
  return refused;
}

export function insertPredictions(db: Database.Database, rows: readonly Prediction[]): Refused[] {
  const insert = db.prepare(
    `INSERT INTO predictions (ts, target, value, model_version, lower, upper)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  return eachRow(
    db,
    rows,
    (p) => insert.run(p.ts, p.target, p.value, p.modelVersion, p.lower ?? null, p.upper ?? null),
    (p) => p.target,
  );
}

/** JSON for event data; 64-bit integers (bigint) as exact decimal strings. */
function json(data: Record<string, unknown>): string {
  return JSON.stringify(data, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}

export function insertEvents(db: Database.Database, rows: readonly GatewayEvent[]): Refused[] {
  const insert = db.prepare(
    "INSERT INTO events (ts, kind, source, message, data) VALUES (?, ?, ?, ?, ?)",
  );
  return eachRow(
    db,
    rows,
    (e) => insert.run(e.ts, e.kind, e.source, e.message, e.data ? json(e.data) : null),
    (e) => e.kind,
  );
}
