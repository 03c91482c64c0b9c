// Ctrl-C (SIGINT) stops the daemon as SIGTERM does: sources first, then the rules, then the
// outputs to their safe level, the buffer flushed last, exit 0.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { deriveConfig } from "../support/config.js";
import { freePort } from "../support/ports.js";
import { type Proc, startPlantgate } from "../support/process.js";

describe("SIGINT", () => {
  const dir = mkdtempSync(join(tmpdir(), "pg-int-"));
  let proc: Proc | undefined;

  afterAll(async () => {
    await proc?.stop(1000, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("stops in reverse start order, outputs safe, buffer flushed, exit 0", async () => {
    const port = String(await freePort());
    const config = deriveConfig("simulator.yaml", { PLANTGATE_SIM_PORT: port }, dir, (doc) => {
      doc.gateway.stateDir = dir;
      doc.learning = undefined;
      doc.alerts.rules = [];
      // Energized while the buffer is healthy: it must be de-energized (safe) after the stop.
      doc.outputs.lines = [{ name: "permit", gpio: 5, activeOn: ["ok"], rule: "bufferFault" }];
      doc.connections[0].devices[0].groups[0].pollIntervalMs = 100;
    });
    proc = startPlantgate(["run", "--config", config]);
    await proc.waitFor((l) => l.msg === "output changed" && l.value === 1, 20_000, "permit on");
    await proc.waitFor((l) => l.msg === "started", 20_000);

    expect(await proc.stop(15_000, "SIGINT")).toBe(0);
    const order = ["stopping", "poller stopped", "outputs in safe state", "stopped"];
    const at = order.map((msg) => proc?.lines.findIndex((l) => l.msg === msg) ?? -1);
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(proc.lines.at(-1)?.msg).toBe("stopped");

    const state = JSON.parse(readFileSync(join(dir, "outputs.json"), "utf8"));
    expect(state.lines.permit.level).toBe(0);
    const db = new Database(join(dir, "plantgate.db"), { readonly: true });
    const readings = db.prepare("SELECT count(*) AS n FROM readings").get() as { n: number };
    const stopped = db.prepare("SELECT count(*) AS n FROM events WHERE kind = 'daemon.stopped'");
    const n = (stopped.get() as { n: number }).n;
    db.close();
    expect(readings.n).toBeGreaterThan(0);
    expect(n).toBe(1);
  }, 60_000);
});
