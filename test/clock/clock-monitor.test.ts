// The clock monitor alone: jumps both ways past its threshold, and the synchronized flag.
// With the store and the in-memory windows it tells: store-clock.test.ts.

import { describe, expect, it } from "vitest";
import { ClockMonitor } from "../../src/clock/clock-monitor.js";
import { clockSchema } from "../../src/config/schema.js";
import type { GatewayEvent } from "../../src/core/events.js";
import { silentLogger } from "../../src/core/logger.js";
import { FakeClock } from "../store/support.js";

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
