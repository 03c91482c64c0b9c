// The buffer: every reading, prediction and event lands in one SQLite file (WAL). One
// writer drains a bounded in-memory queue in batched transactions, so polling never waits
// on the disk. When the database refuses writes, readings wait in the queue; when the queue
// overflows, the oldest are dropped — counted, logged and recorded, never silently.

import type Database from "better-sqlite3";
import type { ClockListener } from "../clock/clock-monitor.js";
import type { StoreConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { EventSink, GatewayEvent } from "../core/events.js";
import type { Component, Health } from "../core/lifecycle.js";
import type { Logger } from "../core/logger.js";
import type { Reading, ReadingSink } from "../core/reading.js";
import type { HistorySource, Prediction, TimeSeries } from "../core/series.js";
import { readHistory } from "./history.js";
import { openDatabase } from "./open.js";
import { Retention, usedBytes } from "./retention.js";

const MAX_QUEUED_EVENTS = 10_000;

export interface TagInfo {
  name: string;
  device: string;
  type: string;
  unit?: string;
}

export interface StoreDeps {
  path: string;
  config: StoreConfig;
  tags: TagInfo[];
  clock: Clock;
  logger: Logger;
}

type SqlValue = number | string | bigint | null;

function toSql(value: Reading["value"]): SqlValue {
  // As bigint, so SQLite stores an INTEGER, not the REAL a JS number would bind as.
  if (typeof value === "boolean") return value ? 1n : 0n;
  return value;
}

export class Store implements Component, ReadingSink, EventSink, HistorySource, ClockListener {
  readonly name = "store";
  private db?: Database.Database;
  private queue: Reading[] = [];
  private predictions: Prediction[] = [];
  private events: GatewayEvent[] = [];
  private tagIds = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private written = 0;
  private dropped = 0;
  private failing?: string;
  private epochId = "";
  private retention?: Retention;
  private retentionTimer?: NodeJS.Timeout;
  /** Readings at the head of the queue taken before the clock was known to be synchronized. */
  private unsyncedQueued = 0;
  private clockSynced = false;
  /** Rows up to this id were written before the last backwards clock jump. */
  private segmentStartId = 0;
  private nextOpenAttempt = 0;

  constructor(private readonly deps: StoreDeps) {}

  get epoch(): string {
    return this.epochId;
  }

  async start(): Promise<void> {
    const { config, clock, logger } = this.deps;
    this.retention = new Retention(() => this.db, config, clock, this, logger);
    this.tryOpen();
    this.timer = setInterval(() => this.flush(), config.flushIntervalMs);
    this.retentionTimer = setInterval(
      () => void this.runRetention(),
      config.retention.checkIntervalMs,
    );
  }

  /**
   * Opens the database. A file system that refuses (read-only, full, missing) does not stop
   * the daemon: readings wait in the queue and every flush tries again.
   */
  private tryOpen(): void {
    const { path, config, logger, clock } = this.deps;
    if (this.db || clock.monotonic() < this.nextOpenAttempt) return;
    let opened: ReturnType<typeof openDatabase>;
    try {
      opened = openDatabase(path, config, clock.now());
    } catch (err) {
      this.nextOpenAttempt = clock.monotonic() + 1000;
      this.writeFailed(new Error(`cannot open ${path}: ${(err as Error).message}`));
      return;
    }

    this.db = opened.db;
    this.epochId = this.meta("epoch_id") ?? "";
    this.segmentStartId = Number(this.meta("segment_start_id") ?? 0);
    for (const tag of this.deps.tags) this.tagId(tag);
    logger.info(
      { path, schemaFrom: opened.schemaFrom, schemaTo: opened.schemaTo, epochId: this.epochId },
      "store opened",
    );
    if (opened.movedAside) this.recordRecovery(opened.movedAside);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.retentionTimer);
    this.flush();
    if (this.queue.length) {
      this.deps.logger.error({ lost: this.queue.length }, "store closed with unwritten readings");
    }
    this.db?.close();
    this.db = undefined;
  }

  health(): Health {
    const forced = this.retention?.totals.forced ?? 0;
    return {
      status: this.failing || forced ? "degraded" : "ok",
      queued: this.queue.length,
      written: this.written,
      dropped: this.dropped,
      retention: this.retention?.totals,
      sizeBytes: this.db ? usedBytes(this.db) : undefined,
      lastError: this.failing,
      epochId: this.epochId,
      clockSynced: this.clockSynced,
    };
  }

  // Writing

  write(readings: readonly Reading[]): void {
    for (const r of readings) this.queue.push(r);
    if (!this.clockSynced) this.unsyncedQueued += readings.length;
    const overflow = this.queue.length - this.deps.config.queueCapacity;
    if (overflow > 0) this.dropOldest(overflow);
    if (this.queue.length >= this.deps.config.batchSize && !this.failing) this.flush();
  }

  writePrediction(p: Prediction): void {
    this.predictions.push(p);
  }

  /** Events are queued like readings; a bounded number wait while the database is away. */
  event(e: GatewayEvent): void {
    this.events.push(e);
    if (this.events.length > MAX_QUEUED_EVENTS) {
      const lost = this.events.splice(0, this.events.length - MAX_QUEUED_EVENTS);
      this.deps.logger.error({ lost: lost.length }, "event queue full: dropped oldest events");
    }
  }

  private flushEvents(db: Database.Database): void {
    if (!this.events.length) return;
    const insert = db.prepare(
      "INSERT INTO events (ts, kind, source, message, data) VALUES (?, ?, ?, ?, ?)",
    );
    db.transaction(() => {
      for (const e of this.events) {
        insert.run(e.ts, e.kind, e.source, e.message, e.data ? JSON.stringify(e.data) : null);
      }
    })();
    this.events = [];
  }

  /** Commits everything queued, in transactions of at most batchSize readings. */
  flush(): void {
    this.tryOpen();
    const db = this.db;
    if (!db) return;
    try {
      while (this.queue.length) {
        const batch = this.queue.slice(0, this.deps.config.batchSize);
        this.insertBatch(db, batch);
        this.queue.splice(0, batch.length);
        this.written += batch.length;
      }
      this.flushPredictions(db);
      this.flushEvents(db);
      this.recovered();
    } catch (err) {
      this.writeFailed(err as Error);
    }
  }

  private insertBatch(db: Database.Database, batch: Reading[]): void {
    const insert = db.prepare(
      `INSERT INTO readings (ts, tag_id, value, quality, reason, exception_code, clock_synced)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    let unsynced = Math.min(this.unsyncedQueued, batch.length);
    db.transaction(() => {
      for (const r of batch) {
        const q = r.quality;
        const bad = q.status === "bad";
        insert.run(
          r.ts,
          this.tagIdByName(r.tag),
          bad ? null : toSql(r.value),
          q.status,
          bad ? q.reason : null,
          bad ? (q.exceptionCode ?? null) : null,
          unsynced-- > 0 ? 0 : 1,
        );
      }
    })();
    this.unsyncedQueued = Math.max(0, this.unsyncedQueued - batch.length);
  }

  private flushPredictions(db: Database.Database): void {
    if (!this.predictions.length) return;
    const insert = db.prepare(
      `INSERT INTO predictions (ts, target, value, model_version, lower, upper)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    db.transaction(() => {
      for (const p of this.predictions) {
        insert.run(p.ts, p.target, p.value, p.modelVersion, p.lower ?? null, p.upper ?? null);
      }
    })();
    this.predictions = [];
  }

  private dropOldest(count: number): void {
    this.queue.splice(0, count);
    this.unsyncedQueued = Math.max(0, this.unsyncedQueued - count);
    this.dropped += count;
    const { logger, clock } = this.deps;
    logger.error(
      { dropped: count, droppedTotal: this.dropped },
      "store queue full: dropped oldest",
    );
    this.event({
      ts: clock.now(),
      kind: "store.incident",
      source: "store",
      message: `queue full: ${count} oldest readings dropped`,
      data: { dropped: count, droppedTotal: this.dropped },
    });
  }

  private writeFailed(err: Error): void {
    if (this.failing === err.message) return;
    this.failing = err.message;
    this.deps.logger.error(
      { err: err.message, queued: this.queue.length },
      "store cannot write; readings wait in memory",
    );
  }

  private recovered(): void {
    if (!this.failing) return;
    this.deps.logger.warn({ previousError: this.failing }, "store writing again");
    this.failing = undefined;
  }

  // Tags

  private tagId(tag: TagInfo): number {
    const db = this.db as Database.Database;
    db.prepare(
      `INSERT INTO tags (name, device, type, unit) VALUES (?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET device = excluded.device, type = excluded.type,
       unit = excluded.unit`,
    ).run(tag.name, tag.device, tag.type, tag.unit ?? null);
    const row = db.prepare("SELECT id FROM tags WHERE name = ?").get(tag.name) as { id: number };
    this.tagIds.set(tag.name, row.id);
    return row.id;
  }

  private tagIdByName(name: string): number {
    const id = this.tagIds.get(name);
    if (id !== undefined) return id;
    const device = name.split(".")[0] ?? name;
    return this.tagId({ name, device, type: "unknown" });
  }

  private meta(key: string): string | undefined {
    const row = this.db?.prepare("SELECT value FROM meta WHERE key = ?").get(key) as
      | { value: string }
      | undefined;
    return row?.value;
  }

  // Reading

  history(tags: readonly string[], fromTs: number, toTs: number): Map<string, TimeSeries> {
    if (!this.db) return new Map();
    return readHistory(this.db, this.tagIds, this.segmentStartId, tags, fromTs, toTs);
  }

  // Time

  clockSynchronized(): void {
    this.clockSynced = true;
  }

  /** After a backwards jump, history starts afresh: windows never mix the two sides. */
  clockJumped(deltaMs: number): void {
    if (deltaMs >= 0) return;
    this.flush();
    const row = this.db?.prepare("SELECT max(id) AS id FROM readings").get() as
      | { id: number | null }
      | undefined;
    this.segmentStartId = row?.id ?? 0;
    this.setMeta("segment_start_id", String(this.segmentStartId));
  }

  // Consumers

  /** A consumer (the uplink) records the last reading id it has taken. */
  setConsumerCursor(name: string, lastId: number): void {
    this.db
      ?.prepare(
        `INSERT INTO consumers (name, last_id, updated_ts) VALUES (?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET last_id = excluded.last_id, updated_ts = excluded.updated_ts`,
      )
      .run(name, lastId, this.deps.clock.now());
  }

  // Retention and recovery

  async runRetention(): Promise<void> {
    try {
      await this.retention?.run();
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message }, "retention failed");
    }
  }

  private recordRecovery(moved: { path: string; reason: string }): void {
    const message = `database failed its integrity check: moved aside to ${moved.path}; new epoch`;
    this.deps.logger.error(
      { movedTo: moved.path, reason: moved.reason, epochId: this.epochId },
      message,
    );
    this.event({
      ts: this.deps.clock.now(),
      kind: "store.incident",
      source: "store",
      message,
      data: { movedTo: moved.path, reason: moved.reason, epochId: this.epochId },
    });
  }

  private setMeta(key: string, value: string): void {
    this.db
      ?.prepare(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      )
      .run(key, value);
  }
}
