// Rollups: per-tag buckets of `bucketMs` (count of good numeric readings, count of bad ones,
// sum, min, max) kept longer than the raw readings. A pass adds the readings past a cursor in
// `meta` into their buckets, a chunk per transaction that also moves the cursor, so a crash
// never counts a reading twice nor skips one; a late reading or a chunk boundary merges into
// its bucket by addition. A yield between chunks keeps ingest from waiting long.

import { setImmediate as yieldToLoop } from "node:timers/promises";
import type Database from "better-sqlite3";
import type { StoreConfig } from "../config/schema.js";

type RollupConfig = StoreConfig["rollup"];

const CURSOR_KEY = "rollup_last_id";

// A good reading counts when SQLite holds a number: booleans are stored as 0/1 and 64-bit
// integers as INTEGER (summed as REAL, so no longer exact above 2^53). A uint64 past 2^63 is
// TEXT (its decimal digits) and counts as the REAL it reads as. Strings are TEXT and are left
// out, so a string tag's bucket holds only its bad readings.
const UINT64_TEXT = `typeof(value) = 'text'
  AND tag_id IN (SELECT id FROM tags WHERE type = 'uint64')`;
const NUMERIC = `quality = 'good'
  AND (typeof(value) IN ('integer', 'real') OR (${UINT64_TEXT}))`;
const NUMBER = `CASE WHEN typeof(value) = 'text' THEN CAST(value AS REAL) ELSE value END`;

const UPSERT = `
  INSERT INTO rollups (ts, tag_id, count, bad, sum, min, max)
  SELECT ts - ts % :bucketMs AS bucket, tag_id,
    sum(${NUMERIC}) AS good, sum(quality = 'bad') AS failed,
    total(CASE WHEN ${NUMERIC} THEN ${NUMBER} END),
    min(CASE WHEN ${NUMERIC} THEN ${NUMBER} END),
    max(CASE WHEN ${NUMERIC} THEN ${NUMBER} END)
  FROM readings WHERE id > :from AND id <= :to
  GROUP BY bucket, tag_id HAVING good > 0 OR failed > 0
  ON CONFLICT (ts, tag_id) DO UPDATE SET
    count = rollups.count + excluded.count,
    bad = rollups.bad + excluded.bad,
    sum = rollups.sum + excluded.sum,
    min = coalesce(min(rollups.min, excluded.min), rollups.min, excluded.min),
    max = coalesce(max(rollups.max, excluded.max), rollups.max, excluded.max)`;

// LIMITATION: a bucket's length is not stored with it; after bucketMs changes, older buckets
// keep their length, and one starting where an old one did merges both. A bucket_ms column
// would let the export tell them apart.
export class Rollup {
  constructor(
    private readonly db: () => Database.Database | undefined,
    private readonly config: RollupConfig,
    private readonly chunkRows: number,
  ) {}

  /**
   * The last reading id rolled up: raw rows past it must not be deleted yet. Without
   * rollups, every row may go.
   */
  rolledUpTo(): number {
    if (!this.config.enabled) return Number.MAX_SAFE_INTEGER;
    const db = this.db();
    return db ? this.cursor(db) : 0;
  }

  /** Rolls up every reading past the cursor, oldest first; returns how many it took. */
  async run(): Promise<number> {
    let total = 0;
    for (;;) {
      const db = this.db();
      if (!db || !this.config.enabled) return total;
      const taken = this.chunk(db);
      total += taken;
      if (taken < this.chunkRows) return total;
      await yieldToLoop();
    }
  }

  /** One chunk: the buckets and the cursor move together, in one transaction. */
  private chunk(db: Database.Database): number {
    return db.transaction(() => {
      const from = this.cursor(db);
      const { to, n } = db
        .prepare(
          `SELECT max(id) AS "to", count(*) AS n
           FROM (SELECT id FROM readings WHERE id > ? ORDER BY id LIMIT ?)`,
        )
        .get(from, this.chunkRows) as { to: number | null; n: number };
      if (to === null) return 0;

      db.prepare(UPSERT).run({ bucketMs: this.config.bucketMs, from, to });
      db.prepare(
        `INSERT INTO meta (key, value) VALUES (?, ?)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
      ).run(CURSOR_KEY, String(to));
      return n;
    })();
  }

  private cursor(db: Database.Database): number {
    const row = db.prepare("SELECT value FROM meta WHERE key = ?").get(CURSOR_KEY) as
      | { value: string }
      | undefined;
    return Number(row?.value ?? 0);
  }
}
