// Real data through an independent Modbus server: pymodbus serves the rows of ccpp.csv
// (a power plant's sensors and net output) and plantgate, the real `plantgate run` process,
// polls faster than the peer advances. Every served row must be in the buffer, exactly as
// served; the model must learn the plant's output; the alarm must come with the low-output
// stretch and not with the scattered low rows before it.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { dataFile, repoRoot, requireOrSkip } from "../support/data.js";
import { freePort } from "../support/ports.js";
import { type Proc, startPlantgate, startProcess } from "../support/process.js";
import { pymodbusMissing, SYSTEM_PYTHON } from "../support/pymodbus.js";

const STEP_MS = 50;
const NORMAL_ROWS = 1500;
const LOW_ROWS = 150;
const TAIL_ROWS = 100;
const FIELDS = ["AT", "V", "AP", "RH", "PE"] as const;
const ALARM_BELOW = 438;

const csv = dataFile("ccpp.csv");
const ready = requireOrSkip(csv.missing ?? pymodbusMissing());

interface Served {
  step: number;
  csvRow: number;
  phase: "normal" | "low";
  ts: number;
}

function readCsv(path: string): number[][] {
  const [, ...lines] = readFileSync(path, "utf8").trim().split("\n");
  return lines.map((l) => l.split(",").map(Number));
}

function plantConfig(dir: string, port: number): string {
  const tag = (name: string, address: number, type = "float32") => ({
    name,
    table: "holdingRegister",
    address,
    type,
  });
  const doc = {
    gateway: { name: "ccpp", stateDir: dir },
    log: { level: "info", statusIntervalMs: 0 },
    connections: [
      {
        name: "plant",
        host: "127.0.0.1",
        port,
        timeoutMs: 500,
        devices: [
          {
            name: "plant",
            groups: [
              {
                name: "all",
                pollIntervalMs: 10,
                tags: [
                  ...FIELDS.map((f, i) => tag(f, i * 2)),
                  tag("step", 10, "uint32"),
                  tag("csvRow", 12, "uint32"),
                ],
              },
            ],
          },
        ],
      },
    ],
    learning: {
      target: "plant.PE",
      features: ["plant.AT", "plant.V", "plant.AP", "plant.RH"],
      gridMs: STEP_MS,
      minRows: 1000,
      retrainIntervalMs: 600_000,
      model: { kind: "mlp", hiddenUnits: [16] },
    },
    alerts: {
      rules: [{ name: "lowOutput", below: { alarm: ALARM_BELOW }, debounceMs: 15 * STEP_MS }],
    },
    outputs: { driver: "virtual", lines: [{ name: "alarmRelay", gpio: 5, activeOn: ["alarm"] }] },
  };
  const file = join(dir, "ccpp.yaml");
  writeFileSync(file, stringify(doc));
  return file;
}

describe.runIf(ready)("CCPP rows served by pymodbus, end to end", () => {
  let dir: string;
  let peer: Proc;
  let gate: Proc;
  let served: Served[] = [];
  /** Rows the peer had to hold past its step because no poll had read them yet. */
  let held = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pg-ccpp-"));
    const port = await freePort();
    peer = startProcess(SYSTEM_PYTHON, [
      join(repoRoot, "test/peers/ccpp_server.py"),
      ...["--csv", csv.path, "--port", String(port), "--log", join(dir, "served.jsonl")],
      ...["--step-ms", String(STEP_MS), "--normal-rows", String(NORMAL_ROWS)],
      ...["--low-rows", String(LOW_ROWS), "--tail-rows", String(TAIL_ROWS)],
    ]);
    await peer.waitFor((l) => l.msg === "listening", 20_000, "pymodbus listening");
    gate = startPlantgate(["run", "--config", plantConfig(dir, port)]);

    // The peer logs {"done": true} after its last row.
    const log = join(dir, "served.jsonl");
    const deadline = Date.now() + 240_000;
    while (!readFileSync(log, "utf8").includes('"done"')) {
      if (Date.now() > deadline) throw new Error("the peer did not finish serving");
      await new Promise((r) => setTimeout(r, 500));
    }
    await new Promise((r) => setTimeout(r, 500));
    const entries = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    served = entries.filter((e) => e.step !== undefined);
    held = entries.filter((e) => e.held !== undefined).length;
  }, 300_000);

  afterAll(async () => {
    await gate?.stop(2000);
    await peer?.stop(2000);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("stops cleanly on SIGTERM", async () => {
    expect(served.length).toBe(NORMAL_ROWS + LOW_ROWS + TAIL_ROWS);
    expect(await gate.stop()).toBe(0);
  });

  it("stores every served row exactly as served, and nothing that was not served", () => {
    const rows = readCsv(csv.path);
    const db = new Database(join(dir, "plantgate.db"), { readonly: true });
    const polls = db
      .prepare(
        `SELECT r.ts, t.name, r.value FROM readings r JOIN tags t ON t.id = r.tag_id
         WHERE r.quality = 'good' ORDER BY r.id`,
      )
      .all() as Array<{ ts: number; name: string; value: number }>;
    db.close();

    // One poll = the readings sharing a timestamp; the step register names the row.
    const byTs = new Map<number, Record<string, number>>();
    for (const r of polls) {
      const poll = byTs.get(r.ts) ?? {};
      poll[r.name.slice("plant.".length)] = r.value;
      byTs.set(r.ts, poll);
    }
    const servedByStep = new Map(served.map((s) => [s.step, s]));
    const seenSteps = new Set<number>();
    for (const poll of byTs.values()) {
      const step = poll.step as number;
      expect(step, "a poll without a row number").toBeGreaterThan(0);
      const s = servedByStep.get(step);
      expect(s, `step ${step} stored but never served`).toBeDefined();
      const row = rows[(s as Served).csvRow] as number[];
      expect(poll.csvRow).toBe((s as Served).csvRow);
      FIELDS.forEach((f, i) => expect(poll[f]).toBe(Math.fround(row[i] as number)));
      seenSteps.add(step);
    }
    const missing = served.filter((s) => !seenSteps.has(s.step)).map((s) => s.step);
    expect(missing).toEqual([]);

    // Polling is faster than the peer advances: most rows were read by several polls.
    const pollsPerStep = new Map<number, number>();
    for (const poll of byTs.values()) {
      pollsPerStep.set(poll.step as number, (pollsPerStep.get(poll.step as number) ?? 0) + 1);
    }
    const counts = [...pollsPerStep.values()].sort((a, b) => a - b);
    const median = counts[Math.floor(counts.length / 2)] as number;
    console.log(`CCPP polls per served row: median ${median}; rows held for a poll: ${held}`);
    expect(median).toBeGreaterThanOrEqual(2);
  });

  it("learns the plant's output to a holdout MAE below 4.5 MW", () => {
    const trained = gate.find("model trained");
    expect(trained.length).toBeGreaterThan(0);
    const mae = Number(trained[0]?.holdoutMae);
    console.log(`CCPP holdout MAE ${mae.toFixed(3)} MW (least squares: 3.63 MW)`);
    expect(mae).toBeLessThan(4.5);
  });

  it("raises the alarm during the low-output stretch, not before it", () => {
    const db = new Database(join(dir, "plantgate.db"), { readonly: true });
    const raised = db
      .prepare("SELECT ts FROM events WHERE kind = 'alert.raised' ORDER BY id")
      .all() as Array<{ ts: number }>;
    const stepAt = db.prepare(
      `SELECT r.value FROM readings r JOIN tags t ON t.id = r.tag_id
       WHERE t.name = 'plant.step' AND r.quality = 'good' AND r.ts <= ?
       ORDER BY r.ts DESC LIMIT 1`,
    );
    expect(raised.length).toBeGreaterThan(0);
    const first = raised[0] as { ts: number };
    const step = (stepAt.get(first.ts) as { value: number }).value;
    db.close();

    const lowSteps = served.filter((s) => s.phase === "low").map((s) => s.step);
    expect(step).toBeGreaterThanOrEqual(Math.min(...lowSteps));
    expect(step).toBeLessThanOrEqual(Math.max(...lowSteps));
  });

  it("held the alarm back through scattered low predictions before the stretch", () => {
    // The debounce had work to do: before the low stretch the model predicted below the
    // alarm level now and then (the file has scattered low rows), and none of it raised.
    const firstLow = served.find((s) => s.phase === "low") as Served;
    const db = new Database(join(dir, "plantgate.db"), { readonly: true });
    const dips = db
      .prepare("SELECT count(*) AS n FROM predictions WHERE ts < ? AND value < ?")
      .get(firstLow.ts, ALARM_BELOW) as { n: number };
    const early = db
      .prepare("SELECT count(*) AS n FROM events WHERE kind = 'alert.raised' AND ts < ?")
      .get(firstLow.ts) as { n: number };
    db.close();
    console.log(`CCPP predictions below ${ALARM_BELOW} MW before the stretch: ${dips.n}`);
    expect(dips.n).toBeGreaterThan(0);
    expect(early.n).toBe(0);
  });
});
