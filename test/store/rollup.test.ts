import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { storeSchema } from "../../src/config/schema.js";
import type { Clock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/logger.js";
import { GOOD, type Reading } from "../../src/core/reading.js";
import { migrate, SCHEMA_VERSION } from "../../src/store/migrations.js";
import { Rollup } from "../../src/store/rollup.js";
import { Store } from "../../src/store/store.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const now = 20_000 * DAY;
const clock: Clock = { now: () => now, monotonic: () => now };
const open: Store[] = [];

function newPath(): string {
  return join(mkdtempSync(join(tmpdir(), "pg-rollup-")), "t.db");
}

async function newStore(config: Record<string, unknown>, path = newPath()) {
  const parsed = storeSchema.parse({ flushIntervalMs: 60_000, ...config });
  const store = new Store({ path, config: parsed, tags: [], clock, logger: silentLogger() });
  await store.start();
  open.push(store);
  return { store, path, db: (store as unknown as { conn: { db: Database.Database } }).conn.db };
}

afterEach(async () => {
  while (open.length) await open.pop()?.stop();
});

/** A seeded mix: floats, booleans, exact 64-bit integers, strings, and bad readings. */
function readings(count: number, fromTs: number, stepMs: number, seed = 1): Reading[] {
  let s = seed;
  const random = () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  const value = (i: number): Reading["value"] => {
    if (i % 4 === 0) return random() * 200 - 100;
    if (i % 4 === 1) return random() < 0.5;
    if (i % 4 === 2) return 2n ** 40n + BigInt(i);
    return `text ${i}`;
  };
  const out: Reading[] = [];
  for (let i = 0; i < count; i++) {
    const reading = { tag: `m.k${i % 4}`, ts: fromTs + i * stepMs };
    if (random() < 0.1) {
      out.push({ ...reading, value: null, quality: { status: "bad", reason: "timeout" } });
    } else out.push({ ...reading, value: value(i), quality: GOOD });
  }
  return out;
}

interface Bucket {
  count: number;
  bad: number;
  min: number | null;
  mean: number | null;
  max: number | null;
}

/** The buckets, computed here independently of SQL from the readings written. */
function expected(written: Reading[], bucketMs: number): Map<string, Bucket> {
  const acc = new Map<string, { count: number; bad: number; sum: number; values: number[] }>();
  for (const r of written) {
    const key = `${r.ts - (r.ts % bucketMs)} ${r.tag}`;
    const b = acc.get(key) ?? { count: 0, bad: 0, sum: 0, values: [] };
    if (r.quality.status === "bad") b.bad++;
    else if (typeof r.value === "string" || r.value === null) continue;
    else {
      const v = Number(r.value);
      b.count++;
      b.sum += v;
      b.values.push(v);
    }
    acc.set(key, b);
  }
  const out = new Map<string, Bucket>();
  for (const [key, b] of acc) {
    const some = b.values.length > 0;
    out.set(key, {
      count: b.count,
      bad: b.bad,
      min: some ? Math.min(...b.values) : null,
      mean: some ? b.sum / b.count : null,
      max: some ? Math.max(...b.values) : null,
    });
  }
  return out;
}

function stored(db: Database.Database): Map<string, Bucket> {
  const rows = db
    .prepare(
      `SELECT r.ts, t.name, r.count, r.bad, r.sum, r.min, r.max
       FROM rollups r JOIN tags t ON t.id = r.tag_id`,
    )
    .all() as Array<{ ts: number; name: string; sum: number } & Bucket>;
  const out = new Map<string, Bucket>();
  for (const r of rows) {
    const mean = r.count ? r.sum / r.count : null;
    out.set(`${r.ts} ${r.name}`, { count: r.count, bad: r.bad, min: r.min, mean, max: r.max });
  }
  return out;
}

function expectSame(actual: Map<string, Bucket>, want: Map<string, Bucket>): void {
  expect([...actual.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [key, w] of want) {
    const a = actual.get(key) as Bucket;
    expect({ key, count: a.count, bad: a.bad }).toEqual({ key, count: w.count, bad: w.bad });
    for (const f of ["min", "mean", "max"] as const) {
      if (w[f] === null) expect(a[f], `${key} ${f}`).toBeNull();
      else expect(a[f], `${key} ${f}`).toBeCloseTo(w[f] as number, 6);
    }
  }
}

describe("rollups", () => {
  it("equal an aggregate made here, with late readings and chunks under a bucket", async () => {
    const { store, db } = await newStore({
      retention: { maxAgeHours: 0, chunkRows: 7 },
      rollup: { bucketMs: MINUTE },
    });
    const first = readings(2000, now - 2 * HOUR, 997);
    store.write(first);
    store.flush();
    await store.runRetention();
    expectSame(stored(db), expected(first, MINUTE));

    // Late readings land in buckets that already hold rows, and in ones that are new.
    const late = readings(300, now - 2 * HOUR + 30_000, 3001, 7);
    store.write(late);
    store.flush();
    await store.runRetention();
    const all = [...first, ...late];
    expectSame(stored(db), expected(all, MINUTE));

    // Strings are not aggregated; a 64-bit integer counts as a number.
    const k2 = stored(db).get(`${now - 2 * HOUR} m.k2`) as Bucket;
    expect(k2.min).toBeGreaterThanOrEqual(2 ** 40);
    expect([...stored(db).keys()].some((k) => k.endsWith("m.k3"))).toBe(true); // its bad ones
    const k3good = all.filter((r) => r.tag === "m.k3" && r.quality.status === "good").length;
    expect(k3good).toBeGreaterThan(0);
    const k3 = [...stored(db).entries()].filter(([k]) => k.endsWith("m.k3"));
    expect(k3.every(([, b]) => b.count === 0 && b.min === null)).toBe(true);
  });

  it("counts nothing twice when a pass stops half-way and the database is reopened", async () => {
    const { store, path } = await newStore({ rollup: { bucketMs: 5000 } });
    const written = readings(3000, now - HOUR, 211, 3);
    store.write(written);
    await store.stop();

    // The database goes away after a few chunks, as in a crash between two transactions.
    const config = storeSchema.parse({ rollup: { bucketMs: 5000 } }).rollup;
    let db = new Database(path);
    let chunksLeft = 5;
    const partial = new Rollup(() => (chunksLeft-- > 0 ? db : undefined), config, 100);
    expect(await partial.run()).toBe(500);
    db.close();

    db = new Database(path);
    const rest = new Rollup(() => db, config, 100);
    expect(rest.rolledUpTo()).toBe(500);
    expect(await rest.run()).toBe(2500);
    expect(await rest.run()).toBe(0);
    expectSame(stored(db), expected(written, 5000));
    db.close();
  });

  it("are made before retention deletes raw rows, and still cover the deleted time", async () => {
    const { store, db } = await newStore({ retention: { maxAgeHours: 1, chunkRows: 500 } });
    const written = readings(4000, now - 3 * HOUR, (3 * HOUR) / 4000, 5);
    store.write(written);
    store.flush();
    await store.runRetention();

    const first = db.prepare("SELECT min(ts) AS ts FROM readings").pluck().get() as number;
    expect(first).toBeGreaterThanOrEqual(now - HOUR);
    expect(store.health().retention).toMatchObject({ byAge: expect.any(Number) });
    const deletedTime = [...stored(db).keys()].filter((k) => Number(k.split(" ")[0]) < now - HOUR);
    expect(deletedTime.length).toBeGreaterThan(100);
    expectSame(stored(db), expected(written, MINUTE));
  });

  it("are deleted after rollup.maxAgeDays, counted", async () => {
    const { store, db } = await newStore({
      retention: { maxAgeHours: 0 },
      rollup: { maxAgeDays: 2 },
    });
    store.write(readings(40, now - 3 * DAY, MINUTE, 9)); // 40 minutes, 3 days ago
    store.write(readings(40, now - DAY, MINUTE, 9));
    store.flush();
    await store.runRetention();

    const old = [...stored(db).keys()].filter((k) => Number(k.split(" ")[0]) < now - 2 * DAY);
    expect(old).toEqual([]);
    const kept = stored(db).size;
    expect(kept).toBeGreaterThan(20);
    const retention = store.health().retention as { rollupsByAge: number };
    expect(retention.rollupsByAge).toBe(kept); // both days had the same buckets, one per row
  });

  it("merge into a v2 database's history after the migration, which keeps its data", async () => {
    const path = newPath();
    const v2 = new Database(path);
    migrate(v2, 2);
    expect(v2.pragma("user_version", { simple: true })).toBe(2);
    v2.exec("INSERT INTO tags (id, name, device, type) VALUES (1, 'm.a', 'm', 'float32')");
    const insert = v2.prepare(
      "INSERT INTO readings (ts, tag_id, value, quality) VALUES (?, 1, ?, 'good')",
    );
    for (let i = 0; i < 100; i++) insert.run(now - HOUR + i * 1000, i);
    v2.prepare("INSERT INTO events (ts, kind, source, message) VALUES (?, 'x', '', '')").run(now);
    v2.prepare("INSERT INTO consumers (name, last_id, updated_ts) VALUES ('uplink', 40, 0)").run();
    v2.close();

    const { store, db } = await newStore({}, path);
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare("SELECT count(*) FROM readings").pluck().get()).toBe(100);
    expect(db.prepare("SELECT count(*) FROM events WHERE kind = 'x'").pluck().get()).toBe(1);
    expect(db.prepare("SELECT last_id FROM consumers").pluck().get()).toBe(40);

    await store.runRetention();
    const buckets = stored(db);
    expect([...buckets.values()].reduce((n, b) => n + b.count, 0)).toBe(100);
    expect(buckets.get(`${now - HOUR} m.a`)).toMatchObject({ count: 60, min: 0, max: 59 });
  });
});
