// Crash safety with a real peer: the real `plantgate run` is killed with SIGKILL at random
// moments during ingest, again and again. Before each kill a separate read-only connection
// records which readings are committed; after each restart every one of them must still be
// there exactly once, equal to what the peer served, and the file must pass integrity_check.

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

function readAll(path: string): Row[] {
  const db = new Database(path, { readonly: true });
  const rows = db
    .prepare(
      `SELECT r.id, r.ts, t.name, r.value FROM readings r JOIN tags t ON t.id = r.tag_id
       WHERE r.quality = 'good' ORDER BY r.id`,
    )
    .all() as Row[];
  db.close();
  return rows;
}

function integrity(path: string): string {
  const db = new Database(path, { readonly: true });
  const result = db.pragma("integrity_check", { simple: true }) as string;
  db.close();
  return result;
}

describe.runIf(ready)("SIGKILL during ingest", () => {
  const dir = mkdtempSync(join(tmpdir(), "pg-crash-"));
  const dbPath = join(dir, "plantgate.db");
  let peer: Proc | undefined;
  let gate: Proc | undefined;

  afterAll(async () => {
    await gate?.stop(1000);
    await peer?.stop(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it(`keeps every committed reading through ${KILLS} kills`, async () => {
    const port = await freePort();
    peer = startProcess(SYSTEM_PYTHON, [
      join(repoRoot, "test/peers/ccpp_server.py"),
      ...["--csv", csv.path, "--port", String(port), "--log", join(dir, "served.jsonl")],
      ...["--step-ms", "20", "--normal-rows", "9000", "--low-rows", "0", "--tail-rows", "0"],
    ]);
    await peer.waitFor((l) => l.msg === "listening", 20_000, "pymodbus listening");
    const file = config(dir, port);
    const committed = new Map<number, Row>();

    for (let kill = 0; kill < KILLS; kill++) {
      gate = startPlantgate(["run", "--config", file]);
      await gate.waitFor((l) => l.msg === "started", 20_000, "plantgate started");
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 800));

      for (const row of readAll(dbPath)) committed.set(row.id, row);
      gate.child.kill("SIGKILL");
      expect(await gate.exited).toBeNull();
      expect(integrity(dbPath)).toBe("ok");

      // Everything recorded before any kill is still there, unchanged.
      const now = new Map(readAll(dbPath).map((r) => [r.id, r]));
      for (const [id, row] of committed) expect(now.get(id)).toEqual(row);
    }
    gate = undefined;

    // Exactly once: one poll per timestamp and tag.
    const rows = readAll(dbPath);
    const keys = new Set(rows.map((r) => `${r.name}@${r.ts}`));
    expect(keys.size).toBe(rows.length);
    expect(committed.size).toBeGreaterThan(KILLS * 50);

    // Equal to what the peer served: each poll's values are the CSV row it names.
    const data = readFileSync(csv.path, "utf8").trim().split("\n").slice(1);
    const polls = new Map<number, Record<string, number>>();
    for (const r of rows) {
      const poll = polls.get(r.ts) ?? {};
      poll[r.name.slice("plant.".length)] = r.value;
      polls.set(r.ts, poll);
    }
    for (const poll of polls.values()) {
      const values = (data[poll.csvRow as number] as string).split(",").map(Number);
      FIELDS.forEach((f, i) => expect(poll[f]).toBe(Math.fround(values[i] as number)));
      expect(poll.step).toBe((poll.csvRow as number) + 1);
    }
  }, 300_000);
});
