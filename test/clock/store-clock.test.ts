// The store, the in-memory windows and the clock monitor together, on a fake clock whose
// wall time is stepped apart from its monotonic time: jumps back and forward, a jump while
// the disk is full, a jump before the database could ever be opened, and a restart with
// the clock behind. Nothing committed is lost, nothing queued is lost, and training
// windows (history) never mix readings from the two sides of a backwards jump. Then the
// store told directly: the clock_synced mark, and history after a jump reported at once.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ClockMonitor, clockListeners } from "../../src/clock/clock-monitor.js";
import { clockSchema } from "../../src/config/schema.js";
import { LatestValues } from "../../src/store/latest.js";
import type { Store } from "../../src/store/store.js";
import {
  FakeClock,
  fillUp,
  good,
  makeRoom,
  query,
  type TestStore,
  testStore,
} from "../store/support.js";

const POLL_MS = 100;
const open: Store[] = [];
afterEach(async () => {
  while (open.length) await open.pop()?.stop();
});

/** Polls two tags every POLL_MS into the store and the windows; the monitor checks each second. */
class Rig {
  readonly latest = new LatestValues(60_000);
  readonly monitor: ClockMonitor;
  seq = 0;
  /** seq of every reading, by the side of the last backwards step it was taken on. */
  readonly side: number[] = [];
  private step = 0;

  constructor(readonly t: TestStore) {
    this.monitor = new ClockMonitor(
      clockSchema.parse({ jumpThresholdMs: 1000, checkIntervalMs: 1000, syncedFile: "" }),
      t.clock,
      clockListeners(t.store, this.latest),
      t.store,
      t.logger,
    );
  }

  async start() {
    await this.monitor.start();
    await this.monitor.stop(); // the test calls check() itself
  }

  poll(ms: number) {
    for (let done = 0; done < ms; done += POLL_MS) {
      this.t.clock.advance(POLL_MS);
      const ts = this.t.clock.now();
      const batch = ["m.a", "m.b"].map((tag) => good(tag, ts, this.seq++));
      for (const _ of batch) this.side.push(this.step);
      this.t.store.write(batch);
      this.latest.write(batch);
      if (this.t.clock.mono % 1000 === 0) this.monitor.check();
    }
  }

  stepBack(ms: number) {
    this.t.clock.wall -= ms;
    this.step++;
  }

  /** The seq values in the store's history, all tags, and whether each tag is in time order. */
  history() {
    const h = this.t.store.history(["m.a", "m.b"], 0, Number.MAX_SAFE_INTEGER);
    const values = [...h.values()].flatMap((s) => s.values);
    const inOrder = (ts: number[]) => ts.every((t, i) => i === 0 || (ts[i - 1] as number) <= t);
    const sorted = [...h.values()].every((s) => inOrder(s.ts));
    return { values, sorted };
  }
}

function committed(path: string): bigint {
  return query<{ n: bigint }>(path, "SELECT count(*) AS n FROM readings")[0]!.n;
}

describe("store and clock monitor on a fake clock", () => {
  it("separates history at a backwards jump, not at a forward one; loses nothing", async () => {
    const t = await testStore();
    open.push(t.store);
    t.store.clockSynchronized();
    const rig = new Rig(t);
    await rig.start();

    rig.poll(5000);
    rig.t.store.flush();
    rig.stepBack(3000); // NTP steps the clock back 3 s, between two monitor checks
    rig.poll(5000);
    t.clock.wall += 86_400_000; // and forward a day: history goes on across it
    rig.poll(3000);
    t.store.flush();

    expect(committed(t.path)).toBe(BigInt(rig.seq)); // every reading committed
    const { values, sorted } = rig.history();
    expect(sorted).toBe(true);
    expect(values.length).toBeGreaterThan((2 * (8000 - 1000)) / POLL_MS - 1);
    // Not one reading from before the step is in the window.
    expect(values.every((seq) => rig.side[seq] === 1)).toBe(true);
    const kinds = query<{ kind: string }>(t.path, "SELECT kind FROM events ORDER BY id");
    expect(kinds.filter((k) => k.kind === "clock.jump")).toHaveLength(2);

    // The in-memory windows separate the same way.
    const recent = rig.latest.recent(["m.a"], 0).get("m.a")!;
    expect(recent.values.every((seq) => rig.side[seq] === 1)).toBe(true);
    expect(rig.latest.latest("m.a")?.value).toBe(rig.seq - 2);
  });

  it("takes a jump while the disk is full in its stride, and places it exactly", async () => {
    const t = await testStore();
    open.push(t.store);
    t.store.clockSynchronized();
    const rig = new Rig(t);
    await rig.start();
    rig.poll(2000);
    t.store.flush();

    fillUp(t.db());
    rig.poll(10_000); // these wait in the queue: from before the jump
    t.store.flush();
    expect(t.store.health()).toMatchObject({ status: "degraded", queued: 200 });
    const queuedBefore = 200;
    rig.stepBack(10_000);
    expect(() => rig.poll(2000)).not.toThrow(); // the monitor's check reaches the store
    expect(t.store.health().queued).toBe(queuedBefore + 40);

    makeRoom(t.db());
    t.store.flush();
    expect(t.store.health()).toMatchObject({ status: "ok", queued: 0 });
    expect(committed(t.path)).toBe(BigInt(rig.seq));
    // The boundary is right after the last reading queued before the monitor noticed the
    // jump, at its next check a second (20 readings) after the step: 40 + 200 + 20.
    const lastBefore = query<{ id: bigint }>(
      t.path,
      `SELECT max(id) AS id FROM readings WHERE value < ${40 + 200 + 20}`,
    )[0]!.id;
    expect(t.store.health().segmentStartId).toBe(Number(lastBefore));
    const { values } = rig.history();
    expect(values.every((seq) => rig.side[seq] === 1)).toBe(true);
    expect(values.length).toBe(40 - 2 * (1000 / POLL_MS)); // the second before the check
  });

  it("places a jump that came before the database could be opened", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pg-clk-"));
    const blocker = join(dir, "state");
    writeFileSync(blocker, "a file where the state directory should be");
    const t = await testStore({}, [], join(blocker, "t.db"));
    open.push(t.store);
    t.store.clockSynchronized();
    const rig = new Rig(t);
    await rig.start();
    rig.poll(2000);
    rig.stepBack(5000);
    rig.poll(2000);
    expect(t.store.health()).toMatchObject({ status: "degraded", queued: 80 });

    rmSync(blocker);
    t.clock.mono += 1000; // the store tries to open again once a second
    t.store.flush();
    expect(t.store.health()).toMatchObject({ status: "ok", queued: 0 });
    expect(committed(t.path)).toBe(80n);
    const { values } = rig.history();
    expect(values.length).toBeGreaterThan(0);
    expect(values.every((seq) => rig.side[seq] === 1)).toBe(true);
  });

  it("starts a new segment when it restarts with the clock behind its readings", async () => {
    const first = await testStore();
    first.store.write([
      good("m.a", first.clock.now() - 1000, 1),
      good("m.a", first.clock.now(), 2),
    ]);
    await first.store.stop();

    const behind = new FakeClock();
    behind.wall -= 3_600_000; // no real-time clock: the gateway boots an hour behind
    const t = await testStore({}, [], first.path, behind);
    open.push(t.store);
    t.store.write([good("m.a", behind.now(), 3)]);
    t.store.flush();
    const h = t.store.history(["m.a"], 0, Number.MAX_SAFE_INTEGER);
    expect(h.get("m.a")?.values).toEqual([3]);
    expect(committed(t.path)).toBe(3n);
    const events = query<{ kind: string; source: string }>(
      t.path,
      "SELECT kind, source FROM events WHERE kind = 'clock.jump'",
    );
    expect(events).toEqual([{ kind: "clock.jump", source: "store" }]);
  });

  it("keeps history across a restart when the clock is behind by less than 2 s", async () => {
    const first = await testStore();
    first.store.write([good("m.a", first.clock.now(), 1)]);
    await first.store.stop();
    const behind = new FakeClock();
    behind.wall -= 1000; // a small correction between two runs
    const t = await testStore({}, [], first.path, behind);
    open.push(t.store);
    t.store.write([good("m.a", behind.now() + 1500, 2)]);
    t.store.flush();
    const h = t.store.history(["m.a"], 0, Number.MAX_SAFE_INTEGER);
    expect(h.get("m.a")?.values).toEqual([1, 2]);
  });
});

describe("store and clock, told directly", () => {
  it("marks readings taken before the clock was synchronized", async () => {
    const t = await testStore();
    open.push(t.store);
    t.store.write([good("m.a", 1, 1)]);
    t.store.clockSynchronized();
    t.store.write([good("m.a", 2, 2)]);
    t.store.flush();
    const rows = query(t.path, "SELECT ts, clock_synced AS s FROM readings ORDER BY id");
    expect(rows).toEqual([
      { ts: 1n, s: 0n },
      { ts: 2n, s: 1n },
    ]);
  });

  it("keeps exactly the readings after a reported backwards jump in history", async () => {
    const t = await testStore();
    open.push(t.store);
    t.store.clockSynchronized();
    t.store.write([1000, 2000, 3000].map((ts) => good("m.a", ts, ts)));
    t.store.clockJumped(-2500);
    t.store.write([1500, 2500].map((ts) => good("m.a", ts, -ts)));
    t.store.flush();
    expect(t.store.history(["m.a"], 0, 10_000).get("m.a")).toEqual({
      ts: [1500, 2500],
      values: [-1500, -2500],
    });
  });
});
