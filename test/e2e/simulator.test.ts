// The walking skeleton end to end: the real `plantgate run` on the simulator config, on a
// shortened schedule. Its JSON log must show polls, stored readings, a trained model,
// predictions, and an output change once the degradation starts; SIGTERM must leave the
// virtual outputs in their safe state and exit 0.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { deriveConfig } from "../support/config.js";
import { repoRoot } from "../support/data.js";
import { freePort } from "../support/ports.js";
import { type LogLine, type Proc, startPlantgate } from "../support/process.js";

describe("plantgate run on the simulator", () => {
  let dir: string;
  let proc: Proc;
  let exitCode: number | null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pg-sim-"));
    const port = String(await freePort());
    const config = deriveConfig("simulator.yaml", { PLANTGATE_SIM_PORT: port }, dir, (doc) => {
      doc.gateway.stateDir = dir;
      doc.log.statusIntervalMs = 1000;
      Object.assign(doc.simulator, {
        stepMs: 100,
        firstEpisodeAfterMs: 15000,
        episodeDurationMs: 20000,
      });
      doc.connections[0].devices[0].groups[0].pollIntervalMs = 100;
      doc.learning.gridMs = 100;
      doc.alerts.rules[0].debounceMs = 500;
    });
    proc = startPlantgate(["run", "--config", config]);
  });

  afterAll(async () => {
    await proc?.stop(2000);
    rmSync(dir, { recursive: true, force: true });
  });

  it("polls, stores, trains, predicts and raises the alarm when the line degrades", async () => {
    const backend = await proc.waitFor((l) => l.msg === "tensorflow backend ready", 30_000);
    expect(["tensorflow", "wasm", "cpu"]).toContain(backend.backend);
    const trained = await proc.waitFor((l) => l.msg === "model trained", 60_000, "a model");
    expect(trained.holdoutMae).toBeTypeOf("number");
    await proc.waitFor((l) => l.msg === "first prediction", 20_000, "a prediction");

    const degrades = await proc.waitFor((l) => l.msg === "degradation begins", 60_000);
    const alarm = await proc.waitFor(
      (l) => l.msg === "output changed" && l.line === "redLamp" && l.value === 1,
      60_000,
      "the red lamp",
    );
    // The alarm follows the degradation, not the training or the start: before it, no alert
    // was raised and no warning or alarm output moved.
    expect(Date.parse(String(alarm.time))).toBeGreaterThan(Date.parse(String(degrades.time)));
    const before = proc.lines.slice(0, proc.lines.indexOf(degrades));
    expect(before.filter((l) => l.msg === "alert raised")).toEqual([]);
    const moved = before.filter((l) => l.msg === "output changed" && l.line !== "greenLamp");
    expect(moved).toEqual([]);

    const status = proc.lines.filter((l: LogLine) => l.msg === "status").at(-1);
    expect(Number(status?.polls)).toBeGreaterThan(0);
    expect(Number(status?.stored)).toBeGreaterThan(0);

    exitCode = await proc.stop();
    expect(exitCode).toBe(0);
  }, 150_000);

  it("leaves the outputs safe and the buffer holding what was polled", () => {
    const state = JSON.parse(readFileSync(join(dir, "outputs.json"), "utf8")) as {
      lines: Record<string, { level: number }>;
    };
    const shipped = loadConfig(join(repoRoot, "config/simulator.yaml"), {}).outputs.lines;
    expect(shipped.length).toBeGreaterThan(0);
    for (const line of shipped) expect(state.lines[line.name]?.level).toBe(line.safeLevel);

    const db = new Database(join(dir, "plantgate.db"), { readonly: true });
    const readings = db.prepare("SELECT count(*) AS n FROM readings").get() as { n: number };
    const predictions = db.prepare("SELECT count(*) AS n FROM predictions").get() as { n: number };
    const alerts = "SELECT count(*) AS n FROM events WHERE kind = 'alert.raised'";
    const raised = db.prepare(alerts).get();
    db.close();
    expect(readings.n).toBeGreaterThan(100);
    expect(predictions.n).toBeGreaterThan(0);
    expect((raised as { n: number }).n).toBeGreaterThan(0);
  });
});
