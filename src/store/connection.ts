// The store's one SQLite connection, and what it takes to keep one usable on a gateway's
// storage: a file system that refuses (read-only, full, missing) never stops the daemon.
// Opening and the first writes after it (tag registration) are retried; after an I/O error
// or a read-only refusal the connection is closed and opened afresh, because a connection
// that SQLite opened read-only stays so even once the mount is writable again, and after an
// I/O error a new connection is the sure way back. The integrity check runs at the first
// open of the process only: a reopen every second on a broken disk must stay cheap.

import type Database from "better-sqlite3";
import type { StoreConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import { lastReadingId } from "./batch.js";
import { getMeta, setMeta } from "./meta.js";
import { openDatabase } from "./open.js";
import type { TagIds, TagInfo } from "./tag-ids.js";

const RETRY_MS = 1000;
/**
 * How far the newest stored reading may be ahead of the clock at start before that counts
 * as the clock having gone back while stopped: the clock monitor's default threshold, so
 * that a restart within a second of a small correction does not cut history off.
 */
const RESTART_JUMP_MARGIN_MS = 2000;

/** SQLite codes after which the connection is reopened rather than reused. */
const REOPEN = ["SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN"];

export interface ConnectionDeps {
  path: string;
  config: StoreConfig;
  tags: readonly TagInfo[];
  clock: Clock;
  logger: Logger;
  tagIds: TagIds;
  /** The file failed its integrity check and was moved aside: record the incident. */
  onMovedAside(moved: { path: string; reason: string }, epochId: string): void;
  /** The newest stored reading is later than now: the clock went back while stopped. */
  onClockBehind(aheadMs: number, segmentStartId: number): void;
}

export class StoreConnection {
  /** Open for reading; writable once `ready`. */
  db?: Database.Database;
  epochId = "";
  /** Rows up to this id were written before the last backwards clock jump. */
  segmentStartId = 0;
  private ready = false;
  private reopen = false;
  private nextAttempt = 0;
  private opens = 0;

  constructor(private readonly deps: ConnectionDeps) {}

  /**
   * A connection ready for writing; undefined while waiting to retry. Throws why it cannot
   * be had now (the caller reports it as a write failure).
   */
  writable(force = false): Database.Database | undefined {
    // `force`: the last chance at stop, whatever the retry schedule says.
    const now = force ? Number.POSITIVE_INFINITY : this.deps.clock.monotonic();
    if (this.db && this.reopen) {
      if (now < this.nextAttempt) return undefined;
      this.close();
    }
    if (!this.db) {
      if (now < this.nextAttempt) return undefined;
      this.open();
    }
    if (!this.ready) this.prepare(this.db as Database.Database);
    return this.db;
  }

  /** After a failed write: decides whether the next attempt needs a fresh connection. */
  failed(err: unknown): void {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== "string" || !REOPEN.some((c) => code.startsWith(c))) return;
    this.reopen = true;
    this.nextAttempt = this.deps.clock.monotonic() + RETRY_MS;
  }

  close(): void {
    try {
      this.db?.close();
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, "closing the database failed");
    }
    this.db = undefined;
    this.ready = false;
    this.reopen = false;
  }

  private open(): void {
    const { path, config, clock, logger, tagIds } = this.deps;
    let opened: ReturnType<typeof openDatabase>;
    try {
      opened = openDatabase(path, config, clock.now(), { check: this.opens === 0 });
    } catch (err) {
      this.nextAttempt = clock.monotonic() + RETRY_MS;
      throw new Error(`cannot open ${path}: ${(err as Error).message}`);
    }
    this.opens++;
    this.db = opened.db;
    this.ready = false;
    tagIds.clear();
    this.epochId = getMeta(opened.db, "epoch_id") ?? "";
    this.segmentStartId = Number(getMeta(opened.db, "segment_start_id") ?? 0);
    const { schemaFrom, schemaTo } = opened;
    logger.info({ path, schemaFrom, schemaTo, epochId: this.epochId }, "store opened");
    if (opened.movedAside) this.deps.onMovedAside(opened.movedAside, this.epochId);
  }

  /** The first writes of a connection; on a full disk they fail and are tried again. */
  private prepare(db: Database.Database): void {
    const { tagIds, tags, clock } = this.deps;
    let behind: { id: number; aheadMs: number } | undefined;
    try {
      behind = db.transaction(() => {
        tagIds.register(db, tags);
        return this.segmentAfterRestart(db, clock.now());
      })();
    } catch (err) {
      tagIds.clear();
      this.failed(err);
      throw err;
    }
    this.ready = true;
    if (!behind) return;
    this.segmentStartId = behind.id;
    this.deps.onClockBehind(behind.aheadMs, behind.id);
  }

  /**
   * A gateway without a real-time clock can restart with its clock behind the newest
   * stored reading: that is a backwards jump the clock monitor could not see.
   */
  private segmentAfterRestart(db: Database.Database, now: number) {
    const newest = db.prepare("SELECT max(ts) FROM readings").pluck().get() as number | null;
    if (newest === null || newest - now <= RESTART_JUMP_MARGIN_MS) return undefined;
    const id = lastReadingId(db);
    if (id <= this.segmentStartId) return undefined;
    setMeta(db, "segment_start_id", String(id));
    return { id, aheadMs: newest - now };
  }
}
