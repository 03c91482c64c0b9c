// Retention during a long ingest run of the real daemon: the database stays under its size
// limit while polling keeps its cadence, and rows a consumer has not taken are kept until
// the hard cap. The consumer's cursor is written from outside, as the uplink would. Sizes
// are the database file and its WAL as they sit on disk; poll gaps are checked over every
// reading of the run, sampled as they are committed, not only the rows left at the end.

import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { deriveConfig } from "../support/config.js";
import { freePort } from "../support/ports.js";
import { type Proc, startPlantgate } from "../support/process.js";

const MB = 1024 * 1024;
/**
 * The WAL beside the file: up to SQLite's auto-checkpoint (1000 pages) and the commit that
 * crossed it; retention truncates it after each pass that deleted rows.
 */
const WAL_ALLOWANCE = 4.5 * MB;
const POLL_MS = 5;
/** Poll gaps may exceed the interval by this much on a loaded two-core machine. */
const SCHEDULING_TOLERANCE_MS = 150;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("retention during ingest", () => {
  const dir = mkdtempSync(join(tmpdir(), "pg-retention-"));
  const dbPath = join(dir, "plantgate.db");
  let gate: Proc | undefined;

  afterAll(async () => {
    await gate?.stop(2000);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The file and its WAL, as they take space on the disk. */
  function onDisk(): { file: number; total: number } {
    const file = statSync(dbPath).size;
    const wal = existsSync(`${dbPath}-wal`) ? statSync(`${dbPath}-wal`).size : 0;
    return { file, total: file + wal };
  }

  /** Every line.temperature reading committed so far, read before retention can take it. */
  const seen = { lastId: 0, maxId: 0, ts: [] as number[] };
  function sample(): void {
    const db = new Database(dbPath, { readonly: true });
    try {
      db.transaction(() => {
        const rows = db
          .prepare(
            `SELECT r.id, r.ts FROM readings r JOIN tags t ON t.id = r.tag_id
             WHERE t.name = 'line.temperature' AND r.id > ? ORDER BY r.id`,
          )
          .raw()
          .all(seen.lastId) as Array<[number, number]>;
        for (const [id, ts] of rows) {
          seen.ts.push(ts);
          seen.lastId = id;
        }
        const max = db.prepare("SELECT max(id) FROM readings").pluck().get() as number | null;
        seen.maxId = Math.max(seen.maxId, max ?? 0);
      })();
    } finally {
      db.close();
    }
  }

  /** The uplink takes every row sampled so far, and no more. */
  function setCursor(): number {
    sample();
    const db = new Database(dbPath);
    db.prepare(
      `INSERT INTO consumers (name, last_id, updated_ts) VALUES ('uplink', ?, 0)
       ON CONFLICT(name) DO UPDATE SET last_id = excluded.last_id`,
    ).run(seen.maxId);
    db.close();
    return seen.maxId;
  }

  function minId(): number {
    const db = new Database(dbPath, { readonly: true });
    const { id } = db.prepare("SELECT min(id) AS id FROM readings").get() as { id: number };
    db.close();
    return id;
  }

  async function watch(times: number, everyMs: number) {
    const sizes: Array<{ file: number; total: number }> = [];
    for (let i = 0; i < times; i++) {
      await sleep(everyMs);
      sample();
      sizes.push(onDisk());
    }
    return {
      file: Math.max(...sizes.map((s) => s.file)),
      total: Math.max(...sizes.map((s) => s.total)),
    };
  }

  it("stays under maxSizeMb, spares untaken rows until the hard cap, keeps cadence", async () => {
    const port = String(await freePort());
    const config = deriveConfig("simulator.yaml", { PLANTGATE_SIM_PORT: port }, dir, (doc) => {
      doc.gateway.stateDir = dir;
      doc.log.statusIntervalMs = 0;
      doc.learning = undefined;
      doc.alerts.rules = [];
      doc.outputs.lines = doc.outputs.lines.filter(
        (l: { rule: string }) => l.rule === "bufferFault",
      );
      doc.simulator.stepMs = 10;
      doc.connections[0].devices[0].groups[0].pollIntervalMs = POLL_MS;
      doc.store.retention = { maxSizeMb: 1, hardCapMb: 4, checkIntervalMs: 250, chunkRows: 2000 };
    });
    gate = startPlantgate(["run", "--config", config]);
    await gate.waitFor((l) => l.msg === "started", 20_000);

    await watch(6, 500);
    const cursor = setCursor();
    const growing = await watch(40, 500);
    // Past maxSizeMb, only taken rows went: the first untaken row is the oldest left.
    expect(growing.file).toBeGreaterThan(1 * MB);
    expect(growing.file).toBeLessThan(4 * MB);
    expect(growing.total).toBeLessThan(4 * MB + WAL_ALLOWANCE);
    expect(minId()).toBe(cursor + 1);

    // Once the uplink has taken everything, the database shrinks back under the limit.
    setCursor();
    await watch(10, 300);
    const settled = await watch(10, 300);
    // One retention chunk may land between checks: allow its size on top of the limit.
    expect(settled.file).toBeLessThan(1.25 * MB);
    expect(settled.total).toBeLessThan(1.25 * MB + WAL_ALLOWANCE);
    expect(minId()).toBeGreaterThan(cursor + 1);

    expect(await gate.stop()).toBe(0);
    gate = undefined;
    sample();

    const db = new Database(dbPath, { readonly: true });
    const events = db
      .prepare("SELECT kind, count(*) AS n FROM events WHERE kind LIKE 'store.%' GROUP BY kind")
      .all();
    const left = db.prepare("SELECT count(*) FROM readings").pluck().get() as number;
    db.close();
    const ts = seen.ts;
    const gaps = ts.slice(1).map((t, i) => t - (ts[i] as number));
    const worstGap = Math.max(...gaps);
    console.log(
      `worst poll gap ${worstGap} ms over ${ts.length} polls of the whole run ` +
        `(${left} rows left at the end); sizes ${JSON.stringify({ growing, settled })}; ` +
        `events ${JSON.stringify(events)}`,
    );
    expect(ts.length).toBeGreaterThan(1000);
    expect(Math.min(...gaps)).toBeGreaterThan(0); // sampled once each, in order
    expect(worstGap).toBeLessThanOrEqual(POLL_MS + SCHEDULING_TOLERANCE_MS);
    expect(events).toContainEqual({ kind: "store.retention", n: expect.any(Number) });
    expect(events.find((e) => (e as { kind: string }).kind === "store.incident")).toBeUndefined();
  }, 90_000);
});
