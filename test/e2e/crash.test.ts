// Crash safety with a real peer: the real `plantgate run` is killed with SIGKILL at random
// moments during ingest, again and again. Before each kill a separate read-only connection
// records which readings are committed; after each restart (the last one too) every one of
// them must still be there exactly once, equal to what the peer's own log says it served,
// and the file must pass integrity_check.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { dataFile, repoRoot, requireOrSkip } from "../support/data.js";
import { freePort } from "../support/ports.js";
import { type Proc, startPlantgate, startProcess } from "../support/process.js";
import { pymodbusMissing, SYSTEM_PYTHON } from "../support/pymodbus.js";

const KILLS = 30;
const FIELDS = ["AT", "V", "AP", "RH", "PE"];
const csv = dataFile("ccpp.csv");
const ready = requireOrSkip(csv.missing ?? pymodbusMissing());

type Row = { id: number; ts: number; name: string; value: number };

function config(dir: string, port: number): string {
  const tags = [
    ...FIELDS.map((name, i) => ({ name, address: i * 2, type: "float32" })),
    { name: "step", address: 10, type: "uint32" },
    { name: "csvRow", address: 12, type: "uint32" },
  ];
  const doc = {
    gateway: { name: "crash", stateDir: dir },
    log: { level: "info", statusIntervalMs: 0 },
    store: { flushIntervalMs: 50, synchronous: "normal" },
    clock: { syncedFile: "" },
    connections: [
      {
        name: "plant",
        host: "127.0.0.1",
        port,
        timeoutMs: 500,
        reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
        devices: [{ name: "plant", groups: [{ pollIntervalMs: 10, tags }] }],
      },
    ],
  };
  const file = join(dir, "crash.yaml");
  writeFileSync(file, stringify(doc));
  return file;
}

/** The committed good readings, by id, through a separate read-only connection. */
function committedRows(path: string): Map<number, Row> {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db
      .prepare(
        `SELECT r.id, r.ts, t.name, r.value FROM readings r JOIN tags t ON t.id = r.tag_id
         WHERE r.quality = 'good' ORDER BY r.id`,
      )
      .all() as Row[];
    return new Map(rows.map((r) => [r.id, r]));
  } finally {
    db.close();
  }
}

/** integrity_check's verdict, and how many (tag, time) pairs are stored more than once. */
function fileCheck(path: string): { integrity: string; duplicates: number } {
  const db = new Database(path, { readonly: true });
  try {
    const integrity = db.pragma("integrity_check", { simple: true }) as string;
    const duplicates = db
      .prepare(
        `SELECT count(*) FROM (SELECT 1 FROM readings GROUP BY tag_id, ts HAVING count(*) > 1)`,
      )
      .pluck()
      .get() as number;
    return { integrity, duplicates };
  } finally {
    db.close();
  }
}

/** What the peer says it served: step → the CSV row it put in the registers. */
function served(log: string): Map<number, number> {
  const steps = new Map<number, number>();
  for (const line of readFileSync(log, "utf8").split("\n")) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line) as { step?: number; csvRow?: number };
    if (entry.step !== undefined) steps.set(entry.step, entry.csvRow as number);
  }
  return steps;
}

/**
 * Each poll (the readings of one timestamp) must be a row the peer's log says it served:
 * its step is in the log, its csvRow is the one logged for that step, and every field is
 * that CSV row's value as float32. A poll split across two transactions by a kill keeps
 * only its first readings; without its step they must match some row the peer served.
 */
function expectServed(rows: Iterable<Row>, log: Map<number, number>, data: string[]): void {
  const polls = new Map<number, Record<string, number>>();
  for (const r of rows) {
    const poll = polls.get(r.ts) ?? {};
    poll[r.name.slice("plant.".length)] = r.value;
    polls.set(r.ts, poll);
  }
  const fieldsMatch = (poll: Record<string, number>, csvRow: number) => {
    const values = (data[csvRow] as string).split(",").map(Number);
    return FIELDS.every((f, i) => poll[f] === undefined || poll[f] === Math.fround(values[i]!));
  };
  const servedRows = new Set(log.values());
  for (const [ts, poll] of polls) {
    if (poll.step !== undefined) {
      const csvRow = log.get(poll.step);
      expect(csvRow, `step ${poll.step} is in the peer's log`).toBeDefined();
      if (poll.csvRow !== undefined) expect(poll.csvRow).toBe(csvRow);
      expect(fieldsMatch(poll, csvRow as number), `poll at ${ts}`).toBe(true);
    } else if (poll.csvRow !== undefined) {
      expect(servedRows.has(poll.csvRow)).toBe(true);
      expect(fieldsMatch(poll, poll.csvRow), `poll at ${ts}`).toBe(true);
    } else {
      const some = [...servedRows].some((row) => fieldsMatch(poll, row));
      expect(some, `partial poll at ${ts} matches a served row`).toBe(true);
    }
  }
}

describe.runIf(ready)("SIGKILL during ingest", () => {
  const dir = mkdtempSync(join(tmpdir(), "pg-crash-"));
  const dbPath = join(dir, "plantgate.db");
  const servedLog = join(dir, "served.jsonl");
  let peer: Proc | undefined;
  let gate: Proc | undefined;

  afterAll(async () => {
    await gate?.stop(1000);
    await peer?.stop(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  async function startGate(file: string): Promise<Proc> {
    const started = startPlantgate(["run", "--config", file]);
    gate = started;
    await started.waitFor((l) => l.msg === "started", 20_000, "plantgate started");
    return started;
  }

  /** After a restart: every reading recorded before any kill is there once, unchanged. */
  function checkAfterRestart(committed: Map<number, Row>, data: string[]): void {
    expect(fileCheck(dbPath)).toEqual({ integrity: "ok", duplicates: 0 });
    const now = committedRows(dbPath);
    for (const [id, row] of committed) expect(now.get(id)).toEqual(row);
    expectServed(committed.values(), served(servedLog), data);
  }

  it(`keeps every committed reading through ${KILLS} kills`, async () => {
    const port = await freePort();
    peer = startProcess(SYSTEM_PYTHON, [
      join(repoRoot, "test/peers/ccpp_server.py"),
      ...["--csv", csv.path, "--port", String(port), "--log", servedLog],
      ...["--step-ms", "20", "--normal-rows", "9000", "--low-rows", "0", "--tail-rows", "0"],
    ]);
    await peer.waitFor((l) => l.msg === "listening", 20_000, "pymodbus listening");
    const file = config(dir, port);
    const data = readFileSync(csv.path, "utf8").trim().split("\n").slice(1);
    const committed = new Map<number, Row>();

    for (let kill = 0; kill < KILLS; kill++) {
      const running = await startGate(file);
      if (kill > 0) checkAfterRestart(committed, data);
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 800));

      // Recorded while the daemon runs, just before it dies: what it had committed.
      for (const [id, row] of committedRows(dbPath)) committed.set(id, row);
      running.child.kill("SIGKILL");
      expect(await running.exited).toBeNull();
    }

    // The last kill is checked after a restart too, then the daemon stops cleanly.
    const last = await startGate(file);
    checkAfterRestart(committed, data);
    expect(await last.stop()).toBe(0);
    gate = undefined;
    expect(committed.size).toBeGreaterThan(KILLS * 50);
    expect(fileCheck(dbPath)).toEqual({ integrity: "ok", duplicates: 0 });
  }, 300_000);
});
