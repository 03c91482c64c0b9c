// Nothing is lost silently, and losses do not flood: a full queue drops the oldest readings
// with an exact count, reports the first drop at once and then one summary per interval;
// the event and prediction queues are bounded the same way; what a stop cannot write is
// counted. A full batch is committed after the poll that filled it, not inside write().

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LOSS_REPORT_INTERVAL_MS } from "../../src/store/loss-report.js";
import type { Store } from "../../src/store/store.js";
import { fillUp, good, makeRoom, query, testStore } from "./support.js";

const open: Store[] = [];
afterEach(async () => {
  while (open.length) await open.pop()?.stop();
});

const series = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => good("m.a", from + i, i));

function incidents(path: string): string[] {
  return query<{ message: string }>(
    path,
    "SELECT message FROM events WHERE kind = 'store.incident' ORDER BY id",
  ).map((e) => e.message);
}

describe("losses", () => {
  it("drops the oldest from a full queue: counted exactly, reported, no flood", async () => {
    const t = await testStore({ queueCapacity: 10, batchSize: 1000 });
    open.push(t.store);
    fillUp(t.db()); // readings wait in the queue

    for (let i = 0; i < 50; i++) t.store.write(series(3, i * 3)); // 150 in, 10 kept
    expect(t.store.health()).toMatchObject({ dropped: 140, queued: 10, status: "degraded" });
    const drops = () => t.lines.filter((l) => l.msg.startsWith("store queue full"));
    expect(drops()).toHaveLength(1); // the first drop at once, not one per write
    expect(drops()[0]).toMatchObject({ dropped: 2, droppedTotal: 2 }); // the 4th write

    t.clock.advance(LOSS_REPORT_INTERVAL_MS);
    t.store.flush(); // the timer's tick: the summary of the rest
    expect(drops()).toHaveLength(2);
    expect(drops()[1]).toMatchObject({ dropped: 138, droppedTotal: 140 });
    t.clock.advance(LOSS_REPORT_INTERVAL_MS);
    t.store.flush();
    expect(drops()).toHaveLength(2); // nothing more dropped: nothing more said

    makeRoom(t.db());
    t.store.flush();
    expect(t.store.health()).toMatchObject({ status: "ok", queued: 0, dropped: 140 });
    const kept = query(t.path, "SELECT min(ts) AS first, count(*) AS n FROM readings");
    expect(kept).toEqual([{ first: 140n, n: 10n }]);
    expect(incidents(t.path)).toEqual([
      "queue full: dropped the oldest 2 readings (2 since start)",
      "queue full: dropped the oldest 138 readings (140 since start)",
    ]);
  });

  it("reports the losses it held back for a summary when it stops", async () => {
    const t = await testStore({ queueCapacity: 10 });
    open.push(t.store);
    fillUp(t.db());
    t.store.write(series(13)); // 3 dropped, said at once
    t.store.write(series(5, 13)); // 5 more, held for the minute's summary
    makeRoom(t.db());
    await t.store.stop();
    const drops = t.lines.filter((l) => l.msg.startsWith("store queue full"));
    expect(drops.map((l) => [l.dropped, l.droppedTotal])).toEqual([
      [3, 3],
      [5, 8],
    ]);
    expect(incidents(t.path)).toEqual([
      "queue full: dropped the oldest 3 readings (3 since start)",
      "queue full: dropped the oldest 5 readings (8 since start)",
    ]);
  });

  it("bounds the event queue while the database is away, and counts what it drops", async () => {
    const t = await testStore();
    open.push(t.store);
    fillUp(t.db());
    t.store.write([good("m.a", 1, 1)]);
    t.store.flush(); // fails: the events below wait
    for (let i = 0; i < 10_500; i++) {
      t.store.event({ ts: i, kind: "device.down", source: "d", message: `e${i}` });
    }
    const h = t.store.health();
    // 500 over the bound, and one more for the report of the loss itself, which is kept.
    expect(h.droppedEvents).toBe(501);
    expect(t.lines.filter((l) => l.msg.startsWith("store event queue full"))).toHaveLength(1);
  });

  it("bounds the prediction queue and counts a prediction SQLite refuses", async () => {
    const t = await testStore();
    open.push(t.store);
    fillUp(t.db());
    t.store.write([good("m.a", 1, 1)]);
    t.store.flush();
    for (let i = 0; i < 10_003; i++) {
      t.store.writePrediction({ ts: i, target: "m.eff", value: i, modelVersion: "v1" });
    }
    expect(t.store.health().droppedPredictions).toBe(3);

    makeRoom(t.db());
    const nan = { ts: 20_000, target: "m.eff", value: Number.NaN, modelVersion: "v1" };
    t.store.writePrediction(nan);
    t.store.flush();
    // One more pushed out by the NaN one, which SQLite then refuses (value NOT NULL).
    expect(t.store.health()).toMatchObject({ droppedPredictions: 5, status: "degraded" });
    const n = query(t.path, "SELECT count(*) AS n, min(ts) AS first FROM predictions");
    expect(n).toEqual([{ n: 9_999n, first: 4n }]);
  });

  it("counts what a stop could not write", async () => {
    const t = await testStore();
    open.push(t.store);
    fillUp(t.db());
    t.store.write(series(3000));
    t.store.writePrediction({ ts: 1, target: "m.eff", value: 1, modelVersion: "v1" });
    await t.store.stop();
    expect(t.store.health().unwrittenAtStop).toMatchObject({ readings: 3000, predictions: 1 });
    const line = t.lines.find((l) => l.msg.startsWith("store stopped with unwritten data"));
    expect(line).toMatchObject({ readings: 3000, predictions: 1 });
  });

  it("tries the disk once more at stop, before its next retry is due", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pg-loss-"));
    const blocker = join(dir, "state");
    writeFileSync(blocker, "a file where the state directory should be");
    const t = await testStore({}, [], join(blocker, "t.db"));
    t.store.write(series(10));
    expect(t.store.health()).toMatchObject({ status: "degraded", queued: 10 });
    rmSync(blocker); // space for the directory now, but the retry is a second away
    await t.store.stop();
    expect(t.store.health().unwrittenAtStop).toBeUndefined();
    expect(query(t.path, "SELECT count(*) AS n FROM readings")).toEqual([{ n: 10n }]);
  });

  it("commits a full batch after the poll cycle that filled it, not inside write()", async () => {
    const t = await testStore({ batchSize: 100 });
    open.push(t.store);
    t.store.write(series(150));
    expect(t.store.health()).toMatchObject({ queued: 150, written: 0 });
    await new Promise((r) => setImmediate(r));
    expect(t.store.health()).toMatchObject({ queued: 0, written: 150 });
  });
});
