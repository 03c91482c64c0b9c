import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { storeSchema } from "../../src/config/schema.js";
import type { Clock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/logger.js";
import { GOOD, type Reading } from "../../src/core/reading.js";
import { type RetentionCounts, usedBytes } from "../../src/store/retention.js";
import { Store } from "../../src/store/store.js";

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const open: Store[] = [];
const now = 1_000 * HOUR;
const clock: Clock = { now: () => now, monotonic: () => now };

async function newStore(retention: Record<string, unknown>, rollup: Record<string, unknown> = {}) {
  const path = join(mkdtempSync(join(tmpdir(), "pg-ret-")), "t.db");
  const store = new Store({
    path,
    config: storeSchema.parse({
      flushIntervalMs: 60_000,
      retention: { checkIntervalMs: 60_000, chunkRows: 500, ...retention },
      rollup,
    }),
    tags: [],
    clock,
    logger: silentLogger(),
  });
  await store.start();
  open.push(store);
  return { store, path, db: (store as unknown as { conn: { db: Database.Database } }).conn.db };
}

function fill(store: Store, count: number, fromTs: number, stepMs: number): void {
  const batch: Reading[] = [];
  for (let i = 0; i < count; i++) {
    // A long string value makes each row big enough that size limits bite quickly.
    batch.push({
      tag: `m.t${i % 10}`,
      ts: fromTs + i * stepMs,
      value: `v${i}`.padEnd(200, "x"),
      quality: GOOD,
    });
  }
  store.write(batch);
  store.flush();
}

function ids(db: Database.Database): { min: number; max: number; n: number } {
  const sql = "SELECT min(id) AS min, max(id) AS max, count(*) AS n FROM readings";
  return db.prepare(sql).get() as {
    min: number;
    max: number;
    n: number;
  };
}

function events(db: Database.Database, kind: string): number {
  return (db.prepare("SELECT count(*) AS n FROM events WHERE kind = ?").get(kind) as { n: number })
    .n;
}

afterEach(async () => {
  while (open.length) await open.pop()?.stop();
});

describe("retention", () => {
  it("deletes readings older than maxAgeHours, oldest first, and records it", async () => {
    const { store, db } = await newStore({ maxAgeHours: 1 });
    fill(store, 3000, now - 2 * HOUR, (2 * HOUR) / 3000); // two hours of readings
    await store.runRetention();
    store.flush();
    const left = db.prepare("SELECT min(ts) AS first, count(*) AS n FROM readings").get() as {
      first: number;
      n: number;
    };
    expect(left.first).toBeGreaterThanOrEqual(now - HOUR);
    expect(left.n).toBeGreaterThan(1400);
    expect(left.n).toBeLessThan(1600);
    expect(store.health().retention).toMatchObject({ byAge: 3000 - left.n, forced: 0 });
    expect(events(db, "store.retention")).toBe(1);
  });

  it("keeps the database under maxSizeMb", async () => {
    const { store, db } = await newStore({ maxAgeHours: 0, maxSizeMb: 1, hardCapMb: 4 });
    for (let round = 0; round < 5; round++) {
      fill(store, 4000, now + round * 4000, 1);
      await store.runRetention();
      store.flush();
      expect(usedBytes(db)).toBeLessThanOrEqual(1024 * 1024);
    }
    const { max, n } = ids(db);
    expect(max).toBe(20_000); // the newest rows are the ones kept
    expect(n).toBeGreaterThan(1000);
  });

  it("never deletes rows a consumer has not taken, until the hard cap", async () => {
    const { store, db } = await newStore({ maxAgeHours: 0, maxSizeMb: 1, hardCapMb: 3 });
    store.setConsumerCursor("uplink", 1000);
    fill(store, 8000, now, 1); // about 2.5 MB: over maxSize, under the hard cap
    await store.runRetention();
    store.flush();
    expect(ids(db).min).toBe(1001); // taken rows went, untaken stayed
    expect(store.health()).toMatchObject({ status: "ok", retention: { forced: 0 } });

    fill(store, 8000, now + 8000, 1); // past the hard cap
    await store.runRetention();
    store.flush();
    expect(usedBytes(db)).toBeLessThanOrEqual(3 * 1024 * 1024);
    const health = store.health() as { status: string; retention: { forced: number } };
    expect(health.retention.forced).toBeGreaterThan(0);
    expect(health.status).toBe("degraded");
    expect(events(db, "store.incident")).toBe(1);
  });

  it("deletes events past eventsMaxAgeDays, then the oldest past maxEvents, counted", async () => {
    const { store, db } = await newStore({ maxAgeHours: 0, eventsMaxAgeDays: 1, maxEvents: 50 });
    const down = (ts: number) => ({ ts, kind: "device.down" as const, source: "m", message: "" });
    for (let i = 0; i < 20; i++) store.event(down(now - 2 * DAY + i));
    for (let i = 0; i < 100; i++) store.event(down(now - HOUR + i));
    store.flush();
    await store.runRetention();
    store.flush();

    const left = db
      .prepare("SELECT min(ts) AS first, count(*) AS n FROM events WHERE kind = 'device.down'")
      .get();
    expect(left).toEqual({ first: now - HOUR + 50, n: 50 }); // the newest 50
    expect(store.health().retention).toMatchObject({ events: 70, byAge: 0 });
    const recorded = db
      .prepare("SELECT data FROM events WHERE kind = 'store.retention'")
      .pluck()
      .get() as string;
    expect(JSON.parse(recorded)).toMatchObject({ events: 70, totals: { events: 70 } });
  });

  it("deletes predictions by age, and past maxSizeMb those older than every reading", async () => {
    const { store, db } = await newStore({ maxAgeHours: 1, maxSizeMb: 1, hardCapMb: 4 });
    const predict = (ts: number) =>
      store.writePrediction({ ts, target: "m.t0", value: 1, modelVersion: "v000001" });
    for (let i = 0; i < 5; i++) predict(now - 2 * HOUR + i); // past maxAgeHours
    for (let i = 0; i < 3; i++) predict(now - 10 + i); // before every reading
    for (let i = 0; i < 2; i++) predict(now + 7999); // beside the newest readings
    fill(store, 8000, now, 1); // about 2.5 MB: the oldest readings go
    await store.runRetention();

    expect(ids(db).min).toBeGreaterThan(1);
    const left = db.prepare("SELECT ts FROM predictions").pluck().all();
    expect(left).toEqual([now + 7999, now + 7999]);
    expect(store.health().retention).toMatchObject({ predictions: 8 });
  });

  it("past maxSizeMb deletes the oldest rollups before any untaken reading", async () => {
    const { store, db } = await newStore(
      { maxAgeHours: 0, maxSizeMb: 2, hardCapMb: 8 },
      { bucketMs: 1000 },
    );
    store.setConsumerCursor("uplink", 0); // nothing taken: every reading must stay
    const n = 40_000;
    const batch: Reading[] = [];
    for (let i = 0; i < n; i++) {
      // A bucket each.
      batch.push({ tag: `m.t${i % 10}`, ts: now + i * 1000, value: i, quality: GOOD });
    }
    store.write(batch);
    store.flush();
    await store.runRetention();

    const counts = store.health().retention as RetentionCounts;
    expect(counts.rollupsBySize).toBeGreaterThan(0);
    expect(counts).toMatchObject({ bySize: 0, forced: 0 });
    expect(ids(db).n).toBe(n);
    const rollups = db.prepare("SELECT min(ts) AS first, count(*) AS n FROM rollups").get();
    expect(rollups).toEqual({
      first: now + counts.rollupsBySize * 1000,
      n: n - counts.rollupsBySize,
    });
    expect(usedBytes(db)).toBeLessThanOrEqual(2 * 1024 * 1024);
  });
});
