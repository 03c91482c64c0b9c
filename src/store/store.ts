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
import { insertBatch, lastReadingId } from "./batch.js";
import { StoreConnection } from "./connection.js";
import { readHistory } from "./history.js";
import { LossReport } from "./loss-report.js";
import { setMeta } from "./meta.js";
import { ReadingQueue } from "./queue.js";
import { Retention, usedBytes } from "./retention.js";
import { insertEvents, insertPredictions } from "./side-tables.js";
import { TagIds, type TagInfo } from "./tag-ids.js";

export type { TagInfo } from "./tag-ids.js";

type LossKind = "readings" | "unstorable" | "events" | "predictions";

const MAX_QUEUED_EVENTS = 10_000;
/** A day of one prediction a second would not fit; hours of it do. */
const MAX_QUEUED_PREDICTIONS = 10_000;

export interface StoreDeps {
  path: string;
  config: StoreConfig;
  tags: TagInfo[];
  clock: Clock;
  logger: Logger;
}

// LIMITATION: the writer runs on the main thread. Flushes are scheduled (setImmediate), so a
// commit never extends the poll cycle that filled the batch, but a slow commit (an fsync
// on a worn SD card under `synchronous: full`) still delays the next timer by its length.
// Moving the writer to a worker thread with its own connection would lift it, at the cost
// of copying every reading across threads; commits measured so far take milliseconds.
export class Store implements Component, ReadingSink, EventSink, HistorySource, ClockListener {
  readonly name = "store";
  private readonly tagIds = new TagIds();
  private readonly conn: StoreConnection;
  private readonly queue: ReadingQueue;
  private predictions: Prediction[] = [];
  private events: GatewayEvent[] = [];
  private readonly losses: Record<LossKind, LossReport>;
  private timer?: NodeJS.Timeout;
  private flushSoon?: NodeJS.Immediate;
  private retentionTimer?: NodeJS.Timeout;
  private retention?: Retention;
  private written = 0;
  private failing?: string;
  private clockSynced = false;
  private unwrittenAtStop?: { readings: number; predictions: number; events: number };

  constructor(private readonly deps: StoreDeps) {
    this.queue = new ReadingQueue(deps.config.queueCapacity);
    this.conn = new StoreConnection({
      ...deps,
      tagIds: this.tagIds,
      onMovedAside: (moved, epochId) => this.recordRecovery(moved, epochId),
      onClockBehind: (aheadMs, id) => this.recordClockBehind(aheadMs, id),
    });
    const loss = (key: string, what: string, unit: string) =>
      new LossReport({ key, what, unit, clock: deps.clock, logger: deps.logger, events: this });
    this.losses = {
      readings: loss("dropped", "queue full: dropped the oldest", "readings"),
      unstorable: loss("unstorable", "could not store the value of", "readings"),
      events: loss("droppedEvents", "event queue full: dropped the oldest", "events"),
      predictions: loss("droppedPredictions", "could not store", "predictions"),
    };
  }

  get epoch(): string {
    return this.conn.epochId;
  }

  async start(): Promise<void> {
    const { config, clock, logger } = this.deps;
    this.retention = new Retention(() => this.conn.db, config, clock, this, logger);
    this.flush();
    this.timer = setInterval(() => this.flush(), config.flushIntervalMs);
    this.retentionTimer = setInterval(
      () => void this.runRetention(),
      config.retention.checkIntervalMs,
    );
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.retentionTimer);
    for (const loss of Object.values(this.losses)) loss.reportPending();
    this.flush(true);
    const lost = {
      readings: this.queue.drain().length,
      predictions: this.predictions.splice(0).length,
      events: this.events.splice(0).length,
    };
    if (lost.readings || lost.predictions || lost.events) {
      this.unwrittenAtStop = lost;
      this.deps.logger.error(
        { ...lost, lastError: this.failing },
        "store stopped with unwritten data: it is lost",
      );
    }
    this.conn.close();
  }

  health(): Health {
    const forced = this.retention?.totals.forced ?? 0;
    const losing = Object.values(this.losses).some((l) => l.recent());
    return {
      status: this.failing || forced || losing ? "degraded" : "ok",
      queued: this.queue.length,
      written: this.written,
      dropped: this.losses.readings.total,
      unstorable: this.losses.unstorable.total,
      droppedEvents: this.losses.events.total,
      droppedPredictions: this.losses.predictions.total,
      unwrittenAtStop: this.unwrittenAtStop,
      retention: this.retention?.totals,
      sizeBytes: this.sizeBytes(),
      lastError: this.failing,
      epochId: this.conn.epochId,
      clockSynced: this.clockSynced,
      segmentStartId: this.conn.segmentStartId,
    };
  }

  // Writing

  write(readings: readonly Reading[]): void {
    const dropped = this.queue.push(readings, this.clockSynced);
    if (dropped) this.losses.readings.add(dropped, { capacity: this.deps.config.queueCapacity });
    if (this.queue.length >= this.deps.config.batchSize && !this.failing) this.scheduleFlush();
  }

  writePrediction(p: Prediction): void {
    this.predictions.push(p);
    const over = this.predictions.length - MAX_QUEUED_PREDICTIONS;
    if (over > 0) {
      this.predictions.splice(0, over);
      const sample = { reason: "queue full", capacity: MAX_QUEUED_PREDICTIONS };
      this.losses.predictions.add(over, sample);
    }
  }

  /** Events are queued like readings; a bounded number wait while the database is away. */
  event(e: GatewayEvent): void {
    this.events.push(e);
    const over = this.events.length - MAX_QUEUED_EVENTS;
    if (over > 0) {
      const lost = this.events.splice(0, over);
      this.losses.events.add(over, { kind: lost[0]?.kind, capacity: MAX_QUEUED_EVENTS });
    }
  }

  /**
   * Commits everything queued, in transactions of at most batchSize readings. `final`: at
   * stop, try the disk now even if the next retry is not due yet.
   */
  flush(final = false): void {
    if (this.flushSoon) clearImmediate(this.flushSoon);
    this.flushSoon = undefined;
    for (const loss of Object.values(this.losses)) loss.tick();
    let db: Database.Database | undefined;
    try {
      db = this.conn.writable(final);
      if (!db) return;
      this.flushReadings(db);
      this.flushSegment(db);
      this.flushPredictions(db);
      this.flushEvents(db);
      this.recovered();
    } catch (err) {
      if (db) this.conn.failed(err);
      this.writeFailed(err as Error);
    }
  }

  /** A full batch is committed soon, after the poll cycle that filled it has finished. */
  private scheduleFlush(): void {
    this.flushSoon ??= setImmediate(() => this.flush());
  }

  private flushReadings(db: Database.Database): void {
    const { batchSize } = this.deps.config;
    while (this.queue.length) {
      const batch = this.queue.head(batchSize);
      this.tagIds.ensureNames(db, new Set(batch.map((r) => r.tag)));
      const result = insertBatch(db, this.tagIds, batch, {
        unsynced: this.queue.unsyncedIn(batch.length),
        jumpAt: this.queue.jumpWithin(batch.length),
        now: this.deps.clock.now(),
      });
      this.queue.committed(batch.length);
      this.written += batch.length;
      if (result.segmentStartId !== undefined) this.segmentStarted(result.segmentStartId);
      for (const u of result.unstorable) this.losses.unstorable.add(1, { ...u });
    }
  }

  /** A backwards jump with no reading queued after it: the segment starts at the next id. */
  private flushSegment(db: Database.Database): void {
    if (this.queue.jumpWithin(0) === undefined) return;
    const id = db.transaction(() => {
      const last = lastReadingId(db);
      setMeta(db, "segment_start_id", String(last));
      return last;
    })();
    this.segmentStarted(id);
  }

  private segmentStarted(id: number): void {
    this.conn.segmentStartId = id;
    this.queue.jumpRecorded();
    this.deps.logger.info({ segmentStartId: id }, "history starts a new segment");
  }

  private flushPredictions(db: Database.Database): void {
    const bad = insertPredictions(db, this.predictions);
    this.predictions = [];
    for (const b of bad) this.losses.predictions.add(1, { ...b });
  }

  private flushEvents(db: Database.Database): void {
    const events = this.events;
    this.events = [];
    // A stored event that reports its own loss would loop: report them after the commit.
    try {
      const bad = insertEvents(db, events);
      for (const b of bad) this.losses.events.add(1, { ...b });
    } catch (err) {
      this.events = [...events, ...this.events];
      throw err;
    }
  }

  private writeFailed(err: Error): void {
    if (this.failing === err.message) return;
    this.failing = err.message;
    this.deps.logger.error(
      { err: err.message, code: (err as { code?: string }).code, queued: this.queue.length },
      "store cannot write; readings wait in memory",
    );
  }

  private recovered(): void {
    if (!this.failing) return;
    this.deps.logger.warn({ previousError: this.failing }, "store writing again");
    this.failing = undefined;
  }

  private sizeBytes(): number | undefined {
    try {
      return this.conn.db ? usedBytes(this.conn.db) : undefined;
    } catch {
      return undefined; // a broken connection: lastError says why
    }
  }

  // Reading

  history(tags: readonly string[], fromTs: number, toTs: number): Map<string, TimeSeries> {
    const db = this.conn.db;
    if (!db) return new Map(tags.map((t) => [t, { ts: [], values: [] }]));
    const segment = this.conn.segmentStartId;
    return readHistory(db, this.tagIds.map, segment, tags, fromTs, toTs);
  }

  // Time

  clockSynchronized(): void {
    this.clockSynced = true;
  }

  /**
   * After a backwards jump, history starts afresh: windows never mix the two sides. The
   * boundary is marked in the queue now and reaches the disk with the first commit after
   * it, so a jump while the disk refuses writes still falls between the right readings.
   * LIMITATION: the monitor notices a jump at its next check (clock.checkIntervalMs), so
   * readings taken in between count with the old side: they stay out of training windows
   * rather than mixing into them. Stamping each reading with the monotonic clock would let
   * the store place the boundary at the step itself.
   */
  clockJumped(deltaMs: number): void {
    if (deltaMs >= 0) return;
    this.queue.markJump();
    this.scheduleFlush();
  }

  // Consumers

  /** A consumer (the uplink) records the last reading id it has taken. */
  setConsumerCursor(name: string, lastId: number): void {
    this.conn.db
      ?.prepare(
        `INSERT INTO consumers (name, last_id, updated_ts) VALUES (?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET
           last_id = excluded.last_id, updated_ts = excluded.updated_ts`,
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

  private recordRecovery(moved: { path: string; reason: string }, epochId: string): void {
    const message = `database failed its integrity check: moved aside to ${moved.path}; new epoch`;
    const data = { movedTo: moved.path, reason: moved.reason, epochId };
    this.deps.logger.error(data, message);
    this.event({
      ts: this.deps.clock.now(),
      kind: "store.incident",
      source: "store",
      message,
      data,
    });
  }

  private recordClockBehind(aheadMs: number, segmentStartId: number): void {
    const message =
      `the newest stored reading is ${aheadMs} ms ahead of the wall clock at start: ` +
      "the clock went back while plantgate was stopped; history starts a new segment";
    const data = { deltaMs: -aheadMs, segmentStartId };
    this.deps.logger.warn(data, "wall clock behind the stored readings at start");
    this.event({ ts: this.deps.clock.now(), kind: "clock.jump", source: "store", message, data });
  }
}
