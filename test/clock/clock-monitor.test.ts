import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { ClockMonitor } from "../../src/clock/clock-monitor.js";
import { clockSchema, storeSchema } from "../../src/config/schema.js";
import type { GatewayEvent } from "../../src/core/events.js";
import { silentLogger } from "../../src/core/logger.js";
import { GOOD } from "../../src/core/reading.js";
import { Store } from "../../src/store/store.js";

/** A clock whose wall time can be stepped independently of its monotonic time. */
class FakeClock {
  wall = 1_700_000_000_000;
  mono = 0;
  now = () => this.wall;
  monotonic = () => this.mono;
  advance(ms: number) {
    this.wall += ms;
    this.mono += ms;
  }
}

describe("clock monitor", () => {
  it("notices jumps both ways, and when the clock becomes synchronized", async () => {
    const clock = new FakeClock();
    const events: GatewayEvent[] = [];
    const jumps: number[] = [];
    let synced = 0;
    let flag = false;
    const monitor = new ClockMonitor(
      clockSchema.parse({ jumpThresholdMs: 1000, syncedFile: "/run/ts/synchronized" }),
      clock,
      { clockJumped: (d) => jumps.push(d), clockSynchronized: () => synced++ },
      { event: (e) => events.push(e) },
      silentLogger(),
      (p) => p === "/run/ts" || (flag && p === "/run/ts/synchronized"),
    );
    await monitor.start();
    expect(monitor.synchronized).toBe(false);

    clock.advance(1000);
    clock.wall += 500; // drift under the threshold: no jump
    monitor.check();
    clock.advance(1000);
    clock.wall -= 3_600_000; // NTP steps the clock back an hour
    monitor.check();
    clock.advance(1000);
    clock.wall += 86_400_000; // and forward a day
    flag = true;
    monitor.check();
    await monitor.stop();

    expect(jumps).toEqual([-3_600_000, 86_400_000]);
    expect(events.filter((e) => e.kind === "clock.jump")).toHaveLength(2);
    expect(synced).toBe(1);
    expect(monitor.synchronized).toBe(true);
  });
});

describe("store and clock", () => {
  async function newStore() {
    const path = join(mkdtempSync(join(tmpdir(), "pg-clk-")), "t.db");
    const store = new Store({
      path,
      config: storeSchema.parse({ flushIntervalMs: 60_000 }),
      tags: [],
      clock: new FakeClock(),
      logger: silentLogger(),
    });
    await store.start();
    return { store, path };
  }

  it("marks readings taken before the clock was synchronized", async () => {
    const { store, path } = await newStore();
    store.write([{ tag: "m.a", ts: 1, value: 1, quality: GOOD }]);
    store.clockSynchronized();
    store.write([{ tag: "m.a", ts: 2, value: 2, quality: GOOD }]);
    await store.stop();
    const db = new Database(path, { readonly: true });
    const rows = db.prepare("SELECT ts, clock_synced AS s FROM readings ORDER BY id").all();
    db.close();
    expect(rows).toEqual([
      { ts: 1, s: 0 },
      { ts: 2, s: 1 },
    ]);
  });

  it("never mixes readings across a backwards jump in history windows", async () => {
    const { store } = await newStore();
    store.clockSynchronized();
    store.write([1000, 2000, 3000].map((ts) => ({ tag: "m.a", ts, value: ts, quality: GOOD })));
    store.clockJumped(-2500);
    store.write([1500, 2500].map((ts) => ({ tag: "m.a", ts, value: -ts, quality: GOOD })));
    store.flush();
    expect(store.history(["m.a"], 0, 10_000).get("m.a")).toEqual({
      ts: [1500, 2500],
      values: [-1500, -2500],
    });
    await store.stop();
  });
});
