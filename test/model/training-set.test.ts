import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { learningSchema, storeSchema } from "../../src/config/schema.js";
import type { Clock } from "../../src/core/clock.js";
import type { GatewayEvent } from "../../src/core/events.js";
import { silentLogger } from "../../src/core/logger.js";
import type { TimeSeries } from "../../src/core/series.js";
import {
  type AlarmSpanSource,
  StoreAlarmSpans,
  spansFromAlertEvents,
} from "../../src/model/alarm-spans.js";
import { StoreBadReadings } from "../../src/model/bad-readings.js";
import { Reservoir } from "../../src/model/reservoir.js";
import { TrainingSet } from "../../src/model/training-set.js";
import { Store } from "../../src/store/store.js";
import { FakeHistory } from "./support/fakes.js";

const GRID = 1000;

/** n rows, one a second: a = i, y = 2i; so y tells each row's origin. */
function history(n: number): Map<string, TimeSeries> {
  const ts = Array.from({ length: n }, (_, i) => i * GRID + 100);
  return new Map([
    ["m.a", { ts, values: ts.map((_, i) => i) }],
    ["m.y", { ts, values: ts.map((_, i) => 2 * i) }],
  ]);
}

function trainingSet(n: number, extra: object, alarmSpans?: AlarmSpanSource) {
  const config = learningSchema.parse({ target: "m.y", gridMs: GRID, minRows: 10, ...extra });
  return new TrainingSet({
    config,
    features: ["m.a"],
    history: new FakeHistory(history(n)),
    alarmSpans,
    logger: silentLogger(),
  });
}

describe("TrainingSet", () => {
  it("adds a reservoir of older rows and holds out the window's newest rows only", async () => {
    const set = trainingSet(600, { windowRows: 100, reservoirRows: 20, holdoutFraction: 0.2 });

    const data = await set.build(600 * GRID);

    const { x, y, holdoutRows } = data.request;
    expect(data).toMatchObject({ windowRows: 100, reservoirRows: 20, excludedRows: 0 });
    expect(x).toHaveLength(120);
    expect(holdoutRows).toBe(20);
    expect(y.slice(-20)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * (580 + i)));
    // Reservoir rows come from before the window, in time order, ahead of it.
    const older = y.slice(0, 20).map((v) => v / 2);
    expect(older.every((i) => i < 500)).toBe(true);
    expect(older).toEqual([...older].sort((a, b) => a - b));
    expect(data.fromTs).toBe(500 * GRID);
  });

  it("counts each value dropped or repaired once, not again in a slice's look-back", async () => {
    // 1,200 s read in slices of 250 cells: a duplicate every 10 s, a lost poll every 15 s.
    const data = history(1200);
    const a = data.get("m.a") as TimeSeries;
    const lost = new Set(a.ts.filter((_, i) => i % 15 === 7));
    const dup = (s: TimeSeries): TimeSeries => {
      const out: TimeSeries = { ts: [], values: [] };
      s.ts.forEach((t, i) => {
        if (lost.has(t)) return;
        const n = i % 10 === 0 ? 2 : 1;
        for (let k = 0; k < n; k++) {
          out.ts.push(t);
          out.values.push(s.values[i] as number);
        }
      });
      return out;
    };
    data.set("m.a", dup(a));
    const config = learningSchema.parse({
      target: "m.y",
      gridMs: GRID,
      minRows: 10,
      windowRows: 1200,
      reservoirRows: 0,
    });
    const set = new TrainingSet({
      config,
      features: ["m.a"],
      history: new FakeHistory(data),
      logger: silentLogger(),
    });

    const built = await set.build(1200 * GRID);

    expect(built.counts.tags["m.a"]).toMatchObject({ duplicate: 120, filled: 80 });
    expect(built.counts.tags["m.y"]).toMatchObject({ duplicate: 0, filled: 0 });
    expect(built.counts.rows).toMatchObject({ kept: 1200, missing: 0 });
  });

  it("leaves out the rows taken while a rule was in alarm", async () => {
    const spans = { alarmSpans: () => [{ fromTs: 550 * GRID, toTs: 560 * GRID }] };
    const config = { windowRows: 100, reservoirRows: 0, excludeAlarms: true };

    const data = await trainingSet(600, config, spans).build(600 * GRID);
    const ignoring = await trainingSet(600, { ...config, excludeAlarms: false }, spans).build(
      600 * GRID,
    );

    const rows = data.request.y.map((v) => v / 2);
    expect(data.excludedRows).toBe(10);
    expect(data.windowRows).toBe(90);
    expect(rows.some((i) => i >= 550 && i < 560)).toBe(false);
    expect(ignoring.windowRows).toBe(100);
  });
});

describe("TrainingSet on the buffer: a device down", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "plantgate-bad-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** 600 s of readings in a real SQLite file; from 300 s to 310 s every poll was bad. */
  async function buffer(): Promise<{ store: Store; path: string }> {
    const clock: Clock = { now: () => 600 * GRID, monotonic: () => performance.now() };
    const path = join(dir, "plantgate.db");
    const tags = ["m.a", "m.y"].map((name) => ({ name, device: "m", type: "float32" }));
    const store = new Store({
      path,
      config: storeSchema.parse({}),
      tags,
      clock,
      logger: silentLogger(),
    });
    await store.start();
    for (let i = 0; i < 600; i++) {
      const down = i >= 300 && i < 310;
      for (const [tag, value] of [
        ["m.a", i],
        ["m.y", 2 * i],
      ] as const) {
        store.write([
          down
            ? {
                tag,
                ts: i * GRID + 100,
                value: null,
                quality: { status: "bad", reason: "timeout" },
              }
            : { tag, ts: i * GRID + 100, value, quality: { status: "good" } },
        ]);
      }
    }
    store.flush();
    return { store, path };
  }

  it("trains on none of the fault's cells: the fill stops at the first bad reading", async () => {
    const { store, path } = await buffer();
    const config = learningSchema.parse({
      target: "m.y",
      gridMs: GRID,
      minRows: 10,
      windowRows: 1000,
      reservoirRows: 0,
    });
    const options = { config, features: ["m.a"], history: store, logger: silentLogger() };
    try {
      const withBad = await new TrainingSet({
        ...options,
        badReadings: new StoreBadReadings(path),
      }).build(600 * GRID);
      const blind = await new TrainingSet(options).build(600 * GRID);

      const rows = (y: number[]) => y.map((v) => v / 2);
      // Without the bad readings, the first maxFillSteps (3) cells of the fault are filled
      // with the value from before it, target included.
      expect(blind.windowRows).toBe(593);
      expect(blind.request.y.filter((v) => v === 2 * 299)).toHaveLength(4);
      expect(withBad.windowRows).toBe(590);
      expect(rows(withBad.request.y).some((i) => i >= 300 && i < 310)).toBe(false);
      expect(withBad.request.y.filter((v) => v === 2 * 299)).toHaveLength(1);
    } finally {
      await store.stop();
    }
  });

  it("reads each tag's bad readings from the buffer", async () => {
    const { store, path } = await buffer();
    await store.stop();

    const bad = new StoreBadReadings(path).badReadings(["m.a", "m.y", "m.z"], 0, 305 * GRID);

    expect(bad.get("m.a")).toEqual([300, 301, 302, 303, 304].map((i) => i * GRID + 100));
    expect(bad.get("m.y")).toHaveLength(5);
    expect(bad.get("m.z")).toEqual([]);
  });
});

describe("Reservoir", () => {
  it("keeps a uniform sample of everything offered", () => {
    const r = new Reservoir(1000, 7);
    for (let i = 0; i < 20_000; i++) r.offer({ ts: i, x: [i], y: i });

    const sample = r.sample();
    const mean = sample.reduce((s, row) => s + row.ts, 0) / sample.length;
    const firstHalf = sample.filter((row) => row.ts < 10_000).length;
    expect(sample).toHaveLength(1000);
    expect(r.offered).toBe(20_000);
    // Uniform over 0..19999: mean 10000, sd of the mean about 180.
    expect(Math.abs(mean - 10_000)).toBeLessThan(700);
    expect(firstHalf).toBeGreaterThan(430);
    expect(firstHalf).toBeLessThan(570);
  });
});

describe("alarm spans", () => {
  const ev = (ts: number, kind: string, source: string, severity?: string) => ({
    ts,
    kind,
    source,
    severity,
  });

  it("spans a rule's time in alarm, ended by its next event or a daemon restart", () => {
    const spans = spansFromAlertEvents(
      [
        ev(10, "alert.raised", "low", "warning"),
        ev(20, "alert.raised", "low", "alarm"),
        ev(30, "alert.cleared", "low", "warning"),
        ev(40, "alert.raised", "hot", "alarm"),
        ev(50, "daemon.stopped", "gw"),
        ev(60, "alert.raised", "low", "alarm"),
      ],
      0,
      100,
    );
    expect(spans).toEqual([
      { fromTs: 20, toTs: 30 },
      { fromTs: 40, toTs: 50 },
      { fromTs: 60, toTs: 100 },
    ]);
  });

  describe("from the buffer's events table", () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "plantgate-spans-"));
    });
    afterEach(() => rm(dir, { recursive: true, force: true }));

    it("reads what the alert engine recorded, in a real SQLite file", async () => {
      const clock: Clock = { now: () => 1_000, monotonic: () => performance.now() };
      const path = join(dir, "plantgate.db");
      const store = new Store({
        path,
        config: storeSchema.parse({}),
        tags: [],
        clock,
        logger: silentLogger(),
      });
      await store.start();
      const alert = (ts: number, kind: GatewayEvent["kind"], severity: string): GatewayEvent => ({
        ts,
        kind,
        source: "lowEfficiency",
        message: "x",
        data: { from: "ok", severity, value: 1 },
      });
      store.event(alert(5_000, "alert.raised", "alarm"));
      store.event(alert(9_000, "alert.cleared", "ok"));
      store.event(alert(12_000, "alert.raised", "alarm"));
      await store.stop();

      const spans = new StoreAlarmSpans(path).alarmSpans(0, 20_000);

      expect(spans).toEqual([
        { fromTs: 5_000, toTs: 9_000 },
        { fromTs: 12_000, toTs: 20_000 },
      ]);
    });
  });
});
