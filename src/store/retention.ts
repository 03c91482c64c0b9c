// Retention: readings older than maxAgeHours go, then the oldest until the database is under
// maxSizeMb — but never rows a consumer (the uplink) has not taken yet, until the database
// passes hardCapMb. Deletion runs in small transactions with a yield between them, so ingest
// never waits long. Every deleted row is counted; each pass that deleted anything is
// recorded as an event, and a forced deletion of untaken rows is logged as an error.

import { setImmediate as yieldToLoop } from "node:timers/promises";
import type Database from "better-sqlite3";
import type { StoreConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { EventSink } from "../core/events.js";
import type { Logger } from "../core/logger.js";

type RetentionConfig = StoreConfig["retention"];

export interface RetentionCounts {
  byAge: number;
  bySize: number;
  /** Untaken rows deleted because the hard cap forced it. */
  forced: number;
}

const MB = 1024 * 1024;

/** Bytes the database's pages hold (what retention controls; the file follows on vacuum). */
export function usedBytes(db: Database.Database): number {
  const pageSize = db.pragma("page_size", { simple: true }) as number;
  const pages = db.pragma("page_count", { simple: true }) as number;
  const free = db.pragma("freelist_count", { simple: true }) as number;
  return (pages - free) * pageSize;
}

export class Retention {
  readonly totals: RetentionCounts = { byAge: 0, bySize: 0, forced: 0 };
  private running = false;

  constructor(
    private readonly db: () => Database.Database | undefined,
    private readonly config: RetentionConfig,
    private readonly clock: Clock,
    private readonly events: EventSink,
    private readonly logger: Logger,
  ) {}

  /** One pass. Safe to call often: a pass in progress makes the next call a no-op. */
  async run(): Promise<RetentionCounts> {
    const counts: RetentionCounts = { byAge: 0, bySize: 0, forced: 0 };
    if (this.running) return counts;
    this.running = true;
    try {
      await this.pass(counts);
    } finally {
      this.running = false;
    }
    this.record(counts);
    return counts;
  }

  private async pass(counts: RetentionCounts): Promise<void> {
    const { maxAgeHours, maxSizeMb, hardCapMb } = this.config;
    const untaken = this.firstUntakenId();

    if (maxAgeHours > 0) {
      const cutoff = this.clock.now() - maxAgeHours * 3600_000;
      counts.byAge = await this.deleteWhile(() => true, "ts < ? AND id < ?", [cutoff, untaken]);
      this.deletePredictions(cutoff);
    }
    const over = (mb: number) => () => this.size() > mb * MB;
    counts.bySize = await this.deleteWhile(over(maxSizeMb), "id < ?", [untaken]);
    counts.forced = await this.deleteWhile(over(hardCapMb), "1", []);
    this.vacuum();
  }

  /** Deletes the oldest matching rows, a chunk per transaction, while `more()` holds. */
  private async deleteWhile(more: () => boolean, where: string, args: number[]): Promise<number> {
    let total = 0;
    for (;;) {
      const db = this.db();
      if (!db || !more()) return total;
      const { changes } = db
        .prepare(
          `DELETE FROM readings WHERE id IN
           (SELECT id FROM readings WHERE ${where} ORDER BY id LIMIT ?)`,
        )
        .run(...args, this.config.chunkRows);
      total += changes;
      // A short chunk means no deletable row is left: the rest is newer or untaken.
      if (changes < this.config.chunkRows) return total;
      this.vacuum();
      await yieldToLoop();
    }
  }

  /** The oldest reading id some consumer has not taken; Infinity when there is no consumer. */
  private firstUntakenId(): number {
    const row = this.db()?.prepare("SELECT min(last_id) AS id FROM consumers").get() as
      | { id: number | null }
      | undefined;
    return row?.id == null ? Number.MAX_SAFE_INTEGER : row.id + 1;
  }

  private deletePredictions(cutoff: number): void {
    this.db()?.prepare("DELETE FROM predictions WHERE ts < ?").run(cutoff);
  }

  private size(): number {
    const db = this.db();
    return db ? usedBytes(db) : 0;
  }

  /** Returns free pages to the file system and keeps the WAL file short. */
  private vacuum(): void {
    const db = this.db();
    if (!db) return;
    db.pragma("incremental_vacuum");
    db.pragma("wal_checkpoint(TRUNCATE)");
  }

  private record(counts: RetentionCounts): void {
    const total = counts.byAge + counts.bySize + counts.forced;
    this.totals.byAge += counts.byAge;
    this.totals.bySize += counts.bySize;
    this.totals.forced += counts.forced;
    if (!total) return;

    const data = { ...counts, totals: { ...this.totals } };
    if (counts.forced) {
      this.logger.error(data, "hard size cap: deleted readings no consumer had taken");
    } else {
      this.logger.info(data, "retention deleted old readings");
    }
    this.events.event({
      ts: this.clock.now(),
      kind: counts.forced ? "store.incident" : "store.retention",
      source: "store",
      message: `retention deleted ${total} readings (${counts.forced} untaken, forced by the hard cap)`,
      data,
    });
  }
}
