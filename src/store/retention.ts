// Retention: raw readings older than maxAgeHours go, then the oldest until the database is
// under maxSizeMb — but never rows a consumer (the uplink) has not taken yet, until the
// database passes hardCapMb, and never rows not yet rolled up: each pass rolls up first.
// Rollup buckets, predictions and events have their own limits. Deletion runs in small
// transactions with a yield between them, so ingest never waits long. Every deleted row is
// counted; each pass that deleted anything is logged and recorded as an event, and a forced
// deletion of untaken rows is logged as an error.

import { setImmediate as yieldToLoop } from "node:timers/promises";
import type Database from "better-sqlite3";
import type { StoreConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { EventSink } from "../core/events.js";
import type { Logger } from "../core/logger.js";
import { Rollup } from "./rollup.js";

export interface RetentionCounts {
  /** Raw readings deleted by age (maxAgeHours). */
  byAge: number;
  /** Raw readings a consumer had taken, deleted to stay under maxSizeMb. */
  bySize: number;
  /** Untaken rows deleted because the hard cap forced it. */
  forced: number;
  /** Rollup buckets deleted by age (rollup.maxAgeDays). */
  rollupsByAge: number;
  /** Rollup buckets deleted, oldest first, to stay under maxSizeMb. */
  rollupsBySize: number;
  /** Predictions deleted by age, or by size when older than the oldest raw reading. */
  predictions: number;
  /** Events deleted by age (eventsMaxAgeDays) or count (maxEvents). */
  events: number;
}

const MB = 1024 * 1024;
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const ALL = Number.MAX_SAFE_INTEGER;

// Chunked deletes, oldest first; each takes its arguments, then the chunk size.
const READINGS_UP_TO = `DELETE FROM readings WHERE id IN
  (SELECT id FROM readings WHERE ts < ? AND id <= ? ORDER BY id LIMIT ?)`;
const PREDICTIONS_BEFORE = `DELETE FROM predictions WHERE id IN
  (SELECT id FROM predictions WHERE ts < ? ORDER BY ts LIMIT ?)`;
const ROLLUPS_BEFORE = `DELETE FROM rollups WHERE (ts, tag_id) IN
  (SELECT ts, tag_id FROM rollups WHERE ts < ? ORDER BY ts LIMIT ?)`;
const EVENTS_BEFORE = `DELETE FROM events WHERE id IN
  (SELECT id FROM events WHERE ts < ? ORDER BY ts LIMIT ?)`;
const EVENTS_UP_TO = `DELETE FROM events WHERE id IN
  (SELECT id FROM events WHERE id <= ? ORDER BY id LIMIT ?)`;

function noCounts(): RetentionCounts {
  return {
    byAge: 0,
    bySize: 0,
    forced: 0,
    rollupsByAge: 0,
    rollupsBySize: 0,
    predictions: 0,
    events: 0,
  };
}

/** Bytes the database's pages hold (what retention controls; the file follows on vacuum). */
export function usedBytes(db: Database.Database): number {
  const pageSize = db.pragma("page_size", { simple: true }) as number;
  const pages = db.pragma("page_count", { simple: true }) as number;
  const free = db.pragma("freelist_count", { simple: true }) as number;
  return (pages - free) * pageSize;
}

export class Retention {
  readonly totals: RetentionCounts = noCounts();
  /** Runs first in every pass, so raw rows are rolled up before they can go. */
  readonly rollup: Rollup;
  private running = false;

  constructor(
    private readonly db: () => Database.Database | undefined,
    private readonly config: StoreConfig,
    private readonly clock: Clock,
    private readonly events: EventSink,
    private readonly logger: Logger,
  ) {
    this.rollup = new Rollup(db, config.rollup, config.retention.chunkRows);
  }

  /** One pass. Safe to call often: a pass in progress makes the next call a no-op. */
  async run(): Promise<RetentionCounts> {
    const counts = noCounts();
    if (this.running) return counts;
    this.running = true;
    try {
      await this.rollup.run();
      await this.byAge(counts);
      await this.bySize(counts);
      // Only after deleting: otherwise SQLite's auto-checkpoint is enough, and cheaper.
      if (Object.values(counts).some((n) => n > 0)) this.vacuum();
    } finally {
      this.running = false;
    }
    this.record(counts);
    return counts;
  }

  private async byAge(counts: RetentionCounts): Promise<void> {
    const { maxAgeHours, eventsMaxAgeDays, maxEvents } = this.config.retention;
    const { maxAgeDays } = this.config.rollup;
    const now = this.clock.now();

    if (maxAgeHours > 0) {
      const cutoff = now - maxAgeHours * HOUR;
      counts.byAge = await this.deleteWhile(READINGS_UP_TO, [cutoff, this.lastDeletableId()]);
      counts.predictions += await this.deleteWhile(PREDICTIONS_BEFORE, [cutoff]);
    }
    if (maxAgeDays > 0) {
      counts.rollupsByAge = await this.deleteWhile(ROLLUPS_BEFORE, [now - maxAgeDays * DAY]);
    }
    if (eventsMaxAgeDays > 0) {
      counts.events += await this.deleteWhile(EVENTS_BEFORE, [now - eventsMaxAgeDays * DAY]);
    }
    const overCap = maxEvents > 0 ? this.lastEventOverCap(maxEvents) : undefined;
    if (overCap !== undefined) counts.events += await this.deleteWhile(EVENTS_UP_TO, [overCap]);
  }

  /**
   * Over maxSizeMb: taken raw rows first, then predictions older than every raw row left,
   * then the oldest rollup buckets; past hardCapMb, untaken raw rows too.
   */
  private async bySize(counts: RetentionCounts): Promise<void> {
    const { maxSizeMb, hardCapMb } = this.config.retention;
    const over = (mb: number) => () => this.size() > mb * MB;

    if (over(maxSizeMb)()) {
      const taken = this.lastDeletableId();
      counts.bySize = await this.deleteWhile(READINGS_UP_TO, [ALL, taken], over(maxSizeMb));
      const oldest = this.oldestReadingTs();
      if (oldest !== undefined) {
        counts.predictions += await this.deleteWhile(PREDICTIONS_BEFORE, [oldest]);
      }
      counts.rollupsBySize = await this.deleteWhile(ROLLUPS_BEFORE, [ALL], over(maxSizeMb));
    }
    const rolledUp = this.rollup.rolledUpTo();
    counts.forced = await this.deleteWhile(READINGS_UP_TO, [ALL, rolledUp], over(hardCapMb));
  }

  /** Deletes the oldest matching rows, a chunk per transaction, while `more()` holds. */
  private async deleteWhile(
    sql: string,
    args: number[],
    more: () => boolean = () => true,
  ): Promise<number> {
    const { chunkRows } = this.config.retention;
    let total = 0;
    for (;;) {
      const db = this.db();
      if (!db || !more()) return total;
      const { changes } = db.prepare(sql).run(...args, chunkRows);
      total += changes;
      // A short chunk means no deletable row is left: the rest is newer or must stay.
      if (changes < chunkRows) return total;
      // No checkpoint here: each would fsync the file once per chunk, wear on an SD card for
      // nothing. The size test counts pages in use, which a delete lowers at once; SQLite's
      // auto-checkpoint bounds the WAL meanwhile, and the pass ends with one vacuum.
      await yieldToLoop();
    }
  }

  /** The newest raw row that may go: taken by every consumer, and rolled up. */
  private lastDeletableId(): number {
    const row = this.db()?.prepare("SELECT min(last_id) AS id FROM consumers").get() as
      | { id: number | null }
      | undefined;
    return Math.min(row?.id ?? ALL, this.rollup.rolledUpTo());
  }

  /** The id of the newest event past the newest `keep`, or undefined when within the cap. */
  private lastEventOverCap(keep: number): number | undefined {
    const row = this.db()
      ?.prepare("SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?")
      .get(keep) as { id: number } | undefined;
    return row?.id;
  }

  private oldestReadingTs(): number | undefined {
    const row = this.db()?.prepare("SELECT min(ts) AS ts FROM readings").get() as
      | { ts: number | null }
      | undefined;
    return row?.ts ?? undefined;
  }

  private size(): number {
    const db = this.db();
    return db ? usedBytes(db) : 0;
  }

  /**
   * Once per pass: returns free pages to the file system and truncates the WAL (one fsync
   * of the database file a pass).
   */
  private vacuum(): void {
    const db = this.db();
    if (!db) return;
    db.pragma("incremental_vacuum");
    db.pragma("wal_checkpoint(TRUNCATE)");
  }

  private record(counts: RetentionCounts): void {
    for (const key of Object.keys(counts) as Array<keyof RetentionCounts>) {
      this.totals[key] += counts[key];
    }
    const readings = counts.byAge + counts.bySize + counts.forced;
    const rollups = counts.rollupsByAge + counts.rollupsBySize;
    if (!readings && !rollups && !counts.predictions && !counts.events) return;

    const data = { ...counts, totals: { ...this.totals } };
    if (counts.forced) {
      this.logger.error(data, "hard size cap: deleted readings no consumer had taken");
    } else {
      this.logger.info(data, "retention deleted old rows");
    }
    this.events.event({
      ts: this.clock.now(),
      kind: counts.forced ? "store.incident" : "store.retention",
      source: "store",
      message:
        `retention deleted ${readings} readings (${counts.forced} untaken, forced by the hard ` +
        `cap), ${rollups} rollup buckets, ${counts.predictions} predictions, ` +
        `${counts.events} events`,
      data,
    });
  }
}
