// Values at the edge of what SQLite takes: uint64 past 2^63 kept exactly through the store,
// history, export and rollups; a value that cannot be bound stored as a bad reading without
// holding up the rest; a batch that fails leaves no stale tag id behind.

import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import type { Value } from "../../src/core/reading.js";
import { ReadingExport } from "../../src/store/export.js";
import type { Store } from "../../src/store/store.js";
import { fillUp, good, makeRoom, query, testStore } from "./support.js";

const open: Store[] = [];
afterEach(async () => {
  while (open.length) await open.pop()?.stop();
});

async function exported(path: string, fmt: "csv" | "jsonl"): Promise<string> {
  const exp = new ReadingExport(path);
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on("data", (c) => chunks.push(String(c)));
  await exp.write({ includeBad: true }, fmt, out);
  exp.close();
  return chunks.join("");
}

const TAGS = [
  { name: "m.u", device: "m", type: "uint64" },
  { name: "m.s", device: "m", type: "string" },
];
const MAX = 2n ** 64n - 1n;
const HALF = 2n ** 63n;

describe("values SQLite cannot take as they are", () => {
  it("keeps uint64 2^64-1 and 2^63 exactly: store, history, export, rollups", async () => {
    // Old timestamps: nothing may go by age here.
    const keepAll = { retention: { maxAgeHours: 0 }, rollup: { maxAgeDays: 0 } };
    const t = await testStore(keepAll, TAGS);
    open.push(t.store);
    const values = [MAX, HALF, HALF - 1n, 5n];
    t.store.write(values.map((v, i) => good("m.u", 60_000 + i, v)));
    t.store.write([good("m.s", 60_010, MAX.toString())]);
    t.store.flush();
    expect(t.store.health()).toMatchObject({ status: "ok", written: 5, unstorable: 0 });

    const rows = query<{ v: unknown }>(t.path, "SELECT value AS v FROM readings ORDER BY id");
    // Past 2^63 as decimal text; within int64 as INTEGER; the string tag as its text.
    const stored = [MAX.toString(), HALF.toString(), HALF - 1n, 5n, MAX.toString()];
    expect(rows.map((r) => r.v)).toEqual(stored);

    const h = t.store.history(["m.u"], 0, 100_000).get("m.u");
    expect(h?.values).toEqual(values.map((v) => Number(v)));

    const jsonl = (await exported(t.path, "jsonl")).trim().split("\n");
    expect(jsonl[0]).toContain('"value":18446744073709551615,');
    expect(jsonl[1]).toContain('"value":9223372036854775808,');
    expect(jsonl[2]).toContain('"value":9223372036854775807,');
    // A string tag's digits stay a string.
    expect(jsonl[4]).toContain('"value":"18446744073709551615",');
    const csv = (await exported(t.path, "csv")).trim().split("\n");
    expect(csv[1]).toContain(",m.u,18446744073709551615,good,");

    await t.store.runRetention();
    const [bucket] = query<{ count: bigint; max: number; min: number }>(
      t.path,
      "SELECT r.count, r.max, r.min FROM rollups r JOIN tags t ON t.id = r.tag_id " +
        "WHERE t.name = 'm.u'",
    );
    expect(bucket).toEqual({ count: 4n, max: Number(MAX), min: 5 });
  });

  it("stores a value that cannot be bound as a bad reading, and commits the rest", async () => {
    const t = await testStore();
    open.push(t.store);
    const unbindable = { not: "a value" } as unknown as Value;
    t.store.write([good("m.a", 1, 1), good("m.a", 2, unbindable), good("m.a", 3, 3)]);
    t.store.flush();
    t.store.write([good("m.a", 4, 4)]);
    t.store.flush();

    const rows = query(t.path, "SELECT ts, value, quality, reason FROM readings ORDER BY id");
    expect(rows).toEqual([
      { ts: 1n, value: 1, quality: "good", reason: null },
      { ts: 2n, value: null, quality: "bad", reason: "decode" },
      { ts: 3n, value: 3, quality: "good", reason: null },
      { ts: 4n, value: 4, quality: "good", reason: null },
    ]);
    const h = t.store.health();
    expect(h).toMatchObject({ unstorable: 1, written: 4, queued: 0, status: "degraded" });
    expect(h.lastError).toBeUndefined();
    const logged = t.lines.filter((l) => l.msg.startsWith("store could not store"));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ unstorable: 1, sample: { tag: "m.a", ts: 2 } });

    await t.store.stop();
    const events = query<{ message: string }>(
      t.path,
      "SELECT message FROM events WHERE kind = 'store.incident'",
    );
    expect(events.map((e) => e.message)).toEqual([
      "could not store the value of 1 readings (1 since start)",
    ]);
  });

  it("caches a new tag's id only once it is committed", async () => {
    const t = await testStore();
    open.push(t.store);
    t.store.write([good("m.a", 1, 1)]);
    t.store.flush();
    fillUp(t.db());
    // A tag never seen before, and enough readings that the batch cannot fit.
    t.store.write(Array.from({ length: 3000 }, (_, i) => good("m.new", 10 + i, i)));
    t.store.flush();
    expect(t.store.health()).toMatchObject({ status: "degraded", queued: 3000 });

    makeRoom(t.db());
    t.store.flush();
    expect(t.store.health()).toMatchObject({ queued: 0, written: 3001 });
    const rows = query(
      t.path,
      `SELECT t.name, count(*) AS n FROM readings r JOIN tags t ON t.id = r.tag_id
       GROUP BY t.name ORDER BY t.name`,
    );
    expect(rows).toEqual([
      { name: "m.a", n: 1n },
      { name: "m.new", n: 3000n },
    ]);
  });
});
