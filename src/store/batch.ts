// One batch of readings into SQLite, in one transaction. A value SQLite cannot take (it
// cannot be bound, or breaks a constraint) must never block the batch, nor every batch after
// it: that reading is stored as a bad `decode` reading instead and reported to the caller,
// and the rest of the batch commits. Only a failure of the database itself (full, read-only,
// I/O) fails the batch; it then rolls back whole and waits in the queue.

import Database from "better-sqlite3";
import type { Reading } from "../core/reading.js";
import { setMeta } from "./meta.js";
import type { TagIds } from "./tag-ids.js";

type SqlValue = number | string | bigint | null;

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** Row-level refusals: the row is at fault, not the database. */
const ROW_ERRORS = ["SQLITE_CONSTRAINT", "SQLITE_MISMATCH", "SQLITE_TOOBIG", "SQLITE_RANGE"];

/** True when an error concerns one row (or one value) and the rest of a batch can go on. */
export function isRowError(err: unknown): boolean {
  if (!(err instanceof Database.SqliteError)) return true; // binding: TypeError, RangeError
  return ROW_ERRORS.some((code) => err.code.startsWith(code));
}

function toSql(value: Reading["value"]): SqlValue {
  // As bigint, so SQLite stores an INTEGER, not the REAL a JS number would bind as.
  if (typeof value === "boolean") return value ? 1n : 0n;
  // SQLite's INTEGER is signed 64-bit. A uint64 above it (0xFFFF… is a common "not
  // available" marker) is kept exactly as its decimal digits; readers that need the number
  // restore it from the tag's type (export, rollups) or parse it (history).
  if (typeof value === "bigint" && (value > INT64_MAX || value < INT64_MIN)) {
    return value.toString();
  }
  return value;
}

export interface Unstorable {
  tag: string;
  ts: number;
  error: string;
  /** False when not even the bad reading standing in for it could be stored. */
  storedAsBad: boolean;
}

export interface BatchResult {
  unstorable: Unstorable[];
  /** Set when the batch crossed a backwards clock jump: rows up to this id are before it. */
  segmentStartId?: number;
}

export interface BatchOptions {
  /** How many readings at the head were taken before the clock was synchronized. */
  unsynced: number;
  /** Index in the batch where the segment after a backwards clock jump begins. */
  jumpAt?: number;
  /** Wall-clock now, standing in for a reading's own time when that cannot be stored. */
  now: number;
}

const INSERT = `INSERT INTO readings
  (ts, tag_id, value, quality, reason, exception_code, clock_synced)
  VALUES (?, ?, ?, ?, ?, ?, ?)`;

/** The newest reading id: the last row of the segment that ends here. */
export function lastReadingId(db: Database.Database): number {
  const row = db.prepare("SELECT coalesce(max(id), 0) AS id FROM readings").get() as {
    id: number;
  };
  return row.id;
}

/** Writes a batch; tags must be known to `tags` (see TagIds.ensureNames). */
export function insertBatch(
  db: Database.Database,
  tags: TagIds,
  batch: readonly Reading[],
  opts: BatchOptions,
): BatchResult {
  const insert = db.prepare(INSERT);
  const result: BatchResult = { unstorable: [] };
  const markSegment = () => {
    result.segmentStartId = lastReadingId(db);
    setMeta(db, "segment_start_id", String(result.segmentStartId));
  };

  db.transaction(() => {
    batch.forEach((r, i) => {
      if (i === opts.jumpAt) markSegment();
      const synced = i < opts.unsynced ? 0 : 1;
      const failure = insertOne(insert, tags.id(r.tag), r, synced, opts.now);
      if (failure) result.unstorable.push(failure);
    });
    if (opts.jumpAt === batch.length) markSegment();
  })();
  return result;
}

function insertOne(
  insert: Database.Statement,
  tagId: number,
  r: Reading,
  synced: number,
  now: number,
): Unstorable | undefined {
  const q = r.quality;
  const bad = q.status === "bad";
  try {
    insert.run(
      r.ts,
      tagId,
      bad ? null : toSql(r.value),
      q.status,
      bad ? q.reason : null,
      bad ? (q.exceptionCode ?? null) : null,
      synced,
    );
    return undefined;
  } catch (err) {
    if (!isRowError(err)) throw err;
    const failure = { tag: r.tag, ts: r.ts, error: (err as Error).message, storedAsBad: true };
    // The gap is stored explicitly, as every failed read is; its time if that can be stored.
    const ts = Number.isSafeInteger(r.ts) ? r.ts : now;
    try {
      insert.run(ts, tagId, null, "bad", "decode", null, synced);
    } catch (again) {
      if (!isRowError(again)) throw again;
      failure.storedAsBad = false;
    }
    return failure;
  }
}
