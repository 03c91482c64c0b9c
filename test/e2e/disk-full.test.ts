// The real daemon on a state directory that fills up: polling goes on, readings wait in
// memory, the built-in bufferFault rule lights its lamp, and when space returns the store
// writes everything it held — the stored poll timestamps show no gap — and the lamp goes out.
// Also: the daemon killed mid-ingest and started again on the full disk, its WAL still
// there, starts, polls, queues, and writes once space returns.

import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deriveConfig } from "../support/config.js";
import { requireOrSkip } from "../support/data.js";
import { TmpfsMount } from "../support/mount.js";
import { freePort } from "../support/ports.js";
import { type Proc, startPlantgate } from "../support/process.js";

const POLL_MS = 20;
/** Poll gaps may exceed the interval by this much on a loaded two-core machine. */
const SCHEDULING_TOLERANCE_MS = 150;

const probe = new TmpfsMount();
const ready = requireOrSkip(probe.mount(64));
probe.unmount();

interface ConfigOptions {
  /** One tag more than before, as after an engineer's edit: the restart must write. */
  newTag?: boolean;
  /** Output lines, their state file off the full disk so that the test can read it. */
  lines?: unknown[];
}

function config(dir: string, stateDir: string, port: string, opts: ConfigOptions = {}): string {
  return deriveConfig("simulator.yaml", { PLANTGATE_SIM_PORT: port }, dir, (doc) => {
    const group = doc.connections[0].devices[0].groups[0];
    if (opts.newTag) {
      group.tags.push({
        name: "goodPartsLow",
        table: "inputRegister",
        address: 13,
        type: "uint16",
      });
    }
    doc.gateway.stateDir = stateDir;
    doc.log.statusIntervalMs = 0;
    doc.learning = undefined;
    doc.alerts.rules = [];
    const lines = opts.lines ?? [];
    doc.outputs = { driver: "virtual", stateFile: join(dir, "outputs.json"), lines };
    doc.simulator.stepMs = 10;
    group.pollIntervalMs = POLL_MS;
    doc.store.flushIntervalMs = 200;
  });
}

/** Fills the mount: the filler is refused its last bytes with ENOSPC. */
function fillDisk(mnt: TmpfsMount): string {
  const filler = join(mnt.dir, "filler");
  expect(() => writeFileSync(filler, Buffer.alloc(16 * 1024 * 1024))).toThrow(/ENOSPC/);
  return filler;
}

/** The stored poll timestamps of line.temperature from `fromTs` on, in order. */
function temperatureTimes(dbPath: string, fromTs = 0): number[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db
      .prepare(
        `SELECT r.ts FROM readings r JOIN tags t ON t.id = r.tag_id
         WHERE t.name = 'line.temperature' AND r.ts >= ? ORDER BY r.ts`,
      )
      .pluck()
      .all(fromTs) as number[];
  } finally {
    db.close();
  }
}

/** The largest step between consecutive timestamps. */
function worstGap(ts: readonly number[]): number {
  return Math.max(...ts.slice(1).map((t, i) => t - (ts[i] as number)));
}

describe.runIf(ready)("a full disk", () => {
  let dir: string;
  let mnt: TmpfsMount;
  let gate: Proc | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "pg-full-"));
    mnt = new TmpfsMount();
    expect(mnt.mount(6 * 1024)).toBeUndefined();
  });

  afterEach(async () => {
    await gate?.stop(2000);
    gate = undefined;
    mnt.unmount();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps polling, raises bufferFault, and writes everything once space returns", async () => {
    const port = String(await freePort());
    const lamp = { name: "faultLamp", gpio: 24, activeOn: ["alarm"], rule: "bufferFault" };
    const file = config(dir, mnt.dir, port, { lines: [lamp] });
    gate = startPlantgate(["run", "--config", file]);
    await gate.waitFor((l) => l.msg === "started", 20_000);
    await new Promise((r) => setTimeout(r, 1500)); // the lamp starts at its safe level, off
    expect(gate.find("output changed")).toEqual([]);

    const filler = fillDisk(mnt);
    const full = await gate.waitFor((l) => String(l.msg).startsWith("store cannot write"), 20_000);
    await gate.waitFor((l) => l.msg === "output changed" && l.value === 1, 10_000, "lamp on");
    await new Promise((r) => setTimeout(r, 2000)); // polling goes on while the disk is full

    rmSync(filler);
    const back = await gate.waitFor((l) => l.msg === "store writing again", 20_000);
    const lampOff = (l: { msg?: string; value?: unknown; time?: string }) =>
      l.msg === "output changed" && l.value === 0 && String(l.time) > String(back.time);
    await gate.waitFor(lampOff, 10_000, "lamp off again");
    expect(await gate.stop()).toBe(0);
    gate = undefined;

    const ts = temperatureTimes(join(mnt.dir, "plantgate.db"));
    const fullAt = Date.parse(String(full.time));
    const backAt = Date.parse(String(back.time));
    const during = ts.filter((t) => t > fullAt && t < backAt);
    const gap = worstGap(ts);
    console.log(`${during.length} polls stored from the full-disk spell; worst gap ${gap}`);
    expect(during.length).toBeGreaterThan(2000 / POLL_MS / 2);
    expect(gap).toBeLessThanOrEqual(POLL_MS + SCHEDULING_TOLERANCE_MS);
  }, 90_000);

  it("restarts on a full disk with a crashed run's WAL, polls, writes later", async () => {
    const port = String(await freePort());
    const file = config(dir, mnt.dir, port);
    const dbPath = join(mnt.dir, "plantgate.db");
    const first = startPlantgate(["run", "--config", file]);
    gate = first;
    await first.waitFor((l) => l.msg === "started", 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    first.child.kill("SIGKILL");
    await first.exited;
    expect(statSync(`${dbPath}-wal`).size).toBeGreaterThan(0);
    expect(existsSync(`${dbPath}-shm`)).toBe(true);

    const filler = fillDisk(mnt);
    const newTag = config(dir, mnt.dir, port, { newTag: true });
    const second = startPlantgate(["run", "--config", newTag]);
    gate = second;
    const started = await second.waitFor((l) => l.msg === "started", 20_000, "started");
    await second.waitFor((l) => String(l.msg).startsWith("store cannot write"), 20_000);
    await new Promise((r) => setTimeout(r, 2000)); // polling goes on, into the queue

    rmSync(filler);
    const back = await second.waitFor((l) => l.msg === "store writing again", 20_000);
    expect(await second.stop()).toBe(0);
    gate = undefined;

    const ts = temperatureTimes(dbPath, Date.parse(String(started.time)));
    const during = ts.filter((t) => t < Date.parse(String(back.time)));
    const gap = worstGap(ts);
    console.log(`${during.length} polls stored from before space returned; worst gap ${gap}`);
    expect(during.length).toBeGreaterThan(2000 / POLL_MS / 2);
    expect(gap).toBeLessThanOrEqual(POLL_MS + SCHEDULING_TOLERANCE_MS);
  }, 90_000);
});
