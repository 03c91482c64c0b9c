// Retention during a long ingest run of the real daemon: the database stays under its size
// limit while polling keeps its cadence, and rows a consumer has not taken are kept until
// the hard cap. The consumer's cursor is written from outside, as the uplink would.

import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { deriveConfig } from "../support/config.js";
import { freePort } from "../support/ports.js";
import { type Proc, startPlantgate } from "../support/process.js";

const MB = 1024 * 1024;
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

  function setCursor(): number {
    const db = new Database(dbPath);
    const { id } = db.prepare("SELECT max(id) AS id FROM readings").get() as { id: number };
    db.prepare(
      `INSERT INTO consumers (name, last_id, updated_ts) VALUES ('uplink', ?, 0)
       ON CONFLICT(name) DO UPDATE SET last_id = excluded.last_id`,
    ).run(id);
    db.close();
    return id;
  }

  function minId(): number {
    const db = new Database(dbPath, { readonly: true });
    const { id } = db.prepare("SELECT min(id) AS id FROM readings").get() as { id: number };
    db.close();
    return id;
  }

  it("stays under maxSizeMb, spares untaken rows until the hard cap, keeps the cadence", async () => {
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

    await sleep(3000);
    const cursor = setCursor();
    let biggest = 0;
    for (let i = 0; i < 40; i++) {
      await sleep(500);
      biggest = Math.max(biggest, statSync(dbPath).size);
    }
    // Past maxSizeMb, only taken rows went: the first untaken row is the oldest left.
    expect(biggest).toBeGreaterThan(1 * MB);
    expect(biggest).toBeLessThan(4 * MB);
    expect(minId()).toBe(cursor + 1);

    // Once the uplink has taken everything, the database shrinks back under the limit.
    setCursor();
    await sleep(3000);
    const sizes: number[] = [];
    for (let i = 0; i < 10; i++) {
      await sleep(300);
      sizes.push(statSync(dbPath).size);
    }
    // One retention chunk may land between checks: allow its size on top of the limit.
    expect(Math.max(...sizes)).toBeLessThan(1.25 * MB);
    expect(minId()).toBeGreaterThan(cursor + 1);

    expect(await gate.stop()).toBe(0);
    gate = undefined;

    const db = new Database(dbPath, { readonly: true });
    const ts = db
      .prepare(
        `SELECT r.ts FROM readings r JOIN tags t ON t.id = r.tag_id
         WHERE t.name = 'line.temperature' ORDER BY r.id`,
      )
      .pluck()
      .all() as number[];
    const events = db
      .prepare("SELECT kind, count(*) AS n FROM events WHERE kind LIKE 'store.%' GROUP BY kind")
      .all();
    db.close();
    const worstGap = Math.max(...ts.slice(1).map((t, i) => t - (ts[i] as number)));
    console.log(
      `worst poll gap ${worstGap} ms over ${ts.length} polls; events ${JSON.stringify(events)}`,
    );
    expect(ts.length).toBeGreaterThan(1000);
    expect(worstGap).toBeLessThanOrEqual(POLL_MS + SCHEDULING_TOLERANCE_MS);
    expect(events).toContainEqual({ kind: "store.retention", n: expect.any(Number) });
    expect(events.find((e) => (e as { kind: string }).kind === "store.incident")).toBeUndefined();
  }, 90_000);
});
