import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { storeSchema } from "../../src/config/schema.js";
import { systemClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/logger.js";
import { GOOD, type Reading } from "../../src/core/reading.js";
import { SCHEMA_VERSION } from "../../src/store/migrations.js";
import { Store } from "../../src/store/store.js";

const open: Store[] = [];

async function newStore(extra: Record<string, unknown> = {}) {
  const path = join(mkdtempSync(join(tmpdir(), "pg-store-")), "t.db");
  const store = new Store({
    path,
    config: storeSchema.parse({ flushIntervalMs: 60_000, ...extra }),
    tags: [{ name: "m.a", device: "m", type: "float32", unit: "bar" }],
    clock: systemClock,
    logger: silentLogger(),
  });
  await store.start();
  open.push(store);
  return { store, path };
}

const good = (tag: string, ts: number, value: Reading["value"]): Reading => ({
  tag,
  ts,
  value,
  quality: GOOD,
});

afterEach(async () => {
  while (open.length) await open.pop()?.stop();
});

describe("store", () => {
  it("creates the schema with WAL, incremental auto_vacuum and an epoch id", async () => {
    const { store, path } = await newStore();
    await store.stop();
    const db = new Database(path, { readonly: true });
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("auto_vacuum", { simple: true })).toBe(2);
    const epoch = db.prepare("SELECT value FROM meta WHERE key = 'epoch_id'").get() as {
      value: string;
    };
    expect(epoch.value).toMatch(/^[0-9a-f-]{36}$/);
    expect(store.epoch).toBe(epoch.value);
    db.close();
  });

  it("keeps every kind of value exactly, and bad readings with their reason", async () => {
    const { store, path } = await newStore();
    const big = 2n ** 60n + 7n;
    store.write([
      good("m.a", 1, 1.5),
      good("m.big", 2, big),
      good("m.flag", 3, true),
      good("m.name", 4, "PRESS-2"),
      {
        tag: "m.a",
        ts: 5,
        value: null,
        quality: { status: "bad", reason: "exception", exceptionCode: 2 },
      },
    ]);
    store.flush();

    const db = new Database(path, { readonly: true });
    db.defaultSafeIntegers(true);
    const rows = db
      .prepare(
        `SELECT t.name, r.value, r.quality, r.reason, r.exception_code AS code
         FROM readings r JOIN tags t ON t.id = r.tag_id ORDER BY r.id`,
      )
      .all() as Array<Record<string, unknown>>;
    db.close();
    expect(rows.map((r) => r.value)).toEqual([1.5, big, 1n, "PRESS-2", null]);
    expect(rows[4]).toMatchObject({ quality: "bad", reason: "exception", code: 2n });
  });

  it("gives the good numeric history of a tag in time order", async () => {
    const { store } = await newStore();
    store.write([good("m.a", 30, 3), good("m.a", 10, 1), good("m.a", 20, 2)]);
    store.write([
      { tag: "m.a", ts: 25, value: null, quality: { status: "bad", reason: "timeout" } },
    ]);
    store.flush();
    const h = store.history(["m.a", "m.none"], 0, 30);
    expect(h.get("m.a")).toEqual({ ts: [10, 20], values: [1, 2] });
    expect(h.get("m.none")).toEqual({ ts: [], values: [] });
  });

  it("drops the oldest readings when its queue overflows, and says so", async () => {
    const { store, path } = await newStore({ queueCapacity: 10, batchSize: 1000 });
    store.write(Array.from({ length: 25 }, (_, i) => good("m.a", i, i)));
    expect(store.health()).toMatchObject({ dropped: 15, queued: 10 });
    store.flush();

    const db = new Database(path, { readonly: true });
    const kept = db.prepare("SELECT min(ts) AS first, count(*) AS n FROM readings").get();
    const incidents = db.prepare("SELECT count(*) AS n FROM events WHERE kind = 'store.incident'");
    expect(kept).toEqual({ first: 15, n: 10 });
    expect((incidents.get() as { n: number }).n).toBe(1);
    db.close();
  });

  it("keeps readings in memory while the disk is full, and writes them later", async () => {
    const { store, path } = await newStore();
    store.write([good("m.a", 1, 1)]);
    store.flush();

    // max_page_count at the current size stands in for a full disk.
    const db = (store as unknown as { conn: { db: Database.Database } }).conn.db;
    const pages = db.pragma("page_count", { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    const many = Array.from({ length: 5000 }, (_, i) => good("m.a", 100 + i, i));
    store.write(many);
    store.flush();
    expect(store.health()).toMatchObject({ status: "degraded", queued: 5000 });
    expect(String(store.health().lastError)).toMatch(/full/i);

    db.pragma("max_page_count = 1073741823");
    store.flush();
    expect(store.health()).toMatchObject({ status: "ok", queued: 0, written: 5001 });
    await store.stop();

    const check = new Database(path, { readonly: true });
    expect(check.prepare("SELECT count(*) AS n FROM readings").get()).toEqual({ n: 5001 });
    check.close();
  });

  it("stores predictions with their band", async () => {
    const { store, path } = await newStore();
    store.writePrediction({
      ts: 7,
      target: "m.eff",
      value: 80,
      lower: 77,
      upper: 83,
      modelVersion: "v000002",
    });
    store.writePrediction({ ts: 8, target: "m.eff", value: 81, modelVersion: "v000002" });
    await store.stop();
    const db = new Database(path, { readonly: true });
    const rows = db
      .prepare("SELECT ts, value, lower, upper, model_version AS v FROM predictions ORDER BY ts")
      .all();
    db.close();
    expect(rows).toEqual([
      { ts: 7, value: 80, lower: 77, upper: 83, v: "v000002" },
      { ts: 8, value: 81, lower: null, upper: null, v: "v000002" },
    ]);
  });
});
