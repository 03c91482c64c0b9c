// A second daemon started on a state directory already in use must stop before it touches
// anything: not the first daemon's outputs (on real GPIO: its lamps and relay), not its
// buffer. The control socket is the lock, taken first.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { deriveConfig } from "../support/config.js";
import { freePort } from "../support/ports.js";
import { type Proc, startPlantgate } from "../support/process.js";

describe("two daemons on one state directory", () => {
  const dir = mkdtempSync(join(tmpdir(), "pg-two-"));
  let first: Proc | undefined;
  let second: Proc | undefined;

  afterAll(async () => {
    await second?.stop(1000);
    await first?.stop(2000);
    rmSync(dir, { recursive: true, force: true });
  });

  /** The simulator config on the shared state directory, with its own simulator port. */
  async function config(): Promise<string> {
    const port = String(await freePort());
    return deriveConfig("simulator.yaml", { PLANTGATE_SIM_PORT: port }, dir, (doc) => {
      doc.gateway.stateDir = dir;
      doc.learning = undefined;
      doc.alerts.rules = [];
      doc.outputs.lines = [{ name: "permit", gpio: 5, activeOn: ["ok"], rule: "bufferFault" }];
    });
  }

  it("refuses the second before it drives an output or writes a reading", async () => {
    first = startPlantgate(["run", "--config", await config()]);
    await first.waitFor((l) => l.msg === "output changed" && l.value === 1, 20_000, "permit on");
    const outputsBefore = readFileSync(join(dir, "outputs.json"), "utf8");

    second = startPlantgate(["run", "--config", await config()]);
    expect(await second.exited).toBe(1);
    const refused = second.lines.find((l) => l.msg === "could not start");
    expect(String(refused?.err)).toMatch(/another plantgate is running/);
    for (const msg of ["store opened", "outputs ready", "simulator started", "poller started"]) {
      expect(second.find(msg)).toEqual([]);
    }
    expect(readFileSync(join(dir, "outputs.json"), "utf8")).toBe(outputsBefore);

    expect(await first.stop()).toBe(0);
    const db = new Database(join(dir, "plantgate.db"), { readonly: true });
    const starts = "SELECT count(*) AS n FROM events WHERE kind = 'daemon.started'";
    const pids = db.prepare(starts).get();
    db.close();
    expect(pids).toEqual({ n: 1 });
  }, 60_000);
});
