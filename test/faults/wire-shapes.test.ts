// Faults in the shape of what goes over the wire rather than in whether a unit answers: a
// register map wider than one Modbus read may carry, and TCP segments that do not line up
// with response frames. Same real daemon, same in-process peer as tcp-faults.test.ts.

import { afterEach, describe, expect, it } from "vitest";
import { FaultTcpPeer } from "../peers/fault-tcp-peer.js";
import { HEALTHY, PeerUnits } from "../peers/fault-units.js";
import { freePort } from "../support/ports.js";
import { expectFaultCase, expectFreshValuesOf, worstGap } from "./support/checks.js";
import {
  DaemonRun,
  DEGRADE,
  device,
  holdFault,
  POLL_MS,
  SCHEDULING_TOLERANCE_MS,
  sleep,
  type TagSpec,
  TIMEOUT_MS,
  tcpConnection,
  until,
} from "./support/harness.js";

/** The Modbus limit on registers in one read (function 3 or 4). */
const MAX_REGISTERS = 125;

/** A counter at 0, then 32-bit tags on odd addresses to 298, so some straddle each cap. */
const WIDE_MAP: TagSpec[] = [
  { name: "count", address: 0 },
  ...Array.from({ length: 149 }, (_, i) => ({
    name: `w${2 * i + 1}`,
    address: 2 * i + 1,
    type: "uint32",
  })),
];

describe("what goes over the wire", () => {
  let peer: FaultTcpPeer | undefined;
  let run: DaemonRun | undefined;

  afterEach(async () => {
    await run?.cleanup();
    await peer?.stop();
    run = undefined;
    peer = undefined;
  });

  it("reads a map wider than 125 registers in reads of at most 125, all good", async () => {
    const units = new PeerUnits([1, 2]);
    peer = new FaultTcpPeer(units, await freePort());
    await peer.start();
    run = new DaemonRun();
    const devices = [device("healthy", 1, WIDE_MAP), device("faulty", 2, WIDE_MAP)];
    await run.start([tcpConnection("plc", peer.port, devices)]);
    await until(() => units.asked(1) >= 10 && units.asked(2) >= 10, 10_000, "first polls");
    const episode = await holdFault(
      () => units.setFault(2, { kind: "silent" }),
      () => units.setFault(2, HEALTHY),
      2000,
    );
    const recoveryBoundMs = DEGRADE.maxSkipMs + POLL_MS + TIMEOUT_MS;
    await sleep(recoveryBoundMs + 500);
    expect(await run.stop()).toBe(0);

    const tooWide = units.requests.filter((r) => r.quantity > MAX_REGISTERS);
    expect(tooWide).toEqual([]);
    // The whole map was read: its last register is 298.
    expect(Math.max(...units.requests.map((r) => r.address + r.quantity))).toBe(299);
    for (const tag of WIDE_MAP) {
      const healthy = run.readings(`healthy.${tag.name}`);
      expect(healthy.length).toBeGreaterThan(10);
      expect(healthy.filter((r) => r.quality !== "good")).toEqual([]);
      // After the fault the faulty unit's every tag reads good again, on both sides of a cap.
      const faulty = run.readings(`faulty.${tag.name}`);
      expect(faulty.at(-1)?.quality).toBe("good");
    }
    const measured = expectFaultCase(run, {
      ...{ healthy: "healthy.count", healthyUnit: 1, faulty: "faulty.count", faultyUnit: 2 },
      episode,
      recoveryBoundMs,
      badReasons: ["timeout"],
    });
    console.info("wide map", measured, { requests: units.requests.length });
  });

  it("takes two responses from one segment and one response from two segments", async () => {
    const units = new PeerUnits([1, 2]);
    peer = new FaultTcpPeer(units, await freePort());
    await peer.start();
    run = new DaemonRun();
    const count = [{ name: "count", address: 0 }];
    const devices = [device("one", 1, count), device("two", 2, count)];
    await run.start([tcpConnection("plc", peer.port, devices, { maxInFlight: 2 })]);
    await until(() => units.asked(1) >= 5 && units.asked(2) >= 5, 10_000, "first polls");
    const shaping = peer;
    const episode = await holdFault(
      () => {
        shaping.coalesce = true;
        shaping.splitUnit = 2;
      },
      () => {
        shaping.coalesce = false;
        shaping.splitUnit = undefined;
      },
      3000,
    );
    await sleep(500);
    expect(await run.stop()).toBe(0);

    // The peer did bend the framing, many times.
    expect(peer.stats.coalescedWrites).toBeGreaterThan(10);
    expect(peer.stats.splitReplies).toBeGreaterThan(10);
    // Nothing was lost to it: no bad reading, no dropped connection, each unit's own values.
    for (const [tag, unitId] of [
      ["one.count", 1],
      ["two.count", 2],
    ] as const) {
      const rows = run.readings(tag);
      expect(rows.filter((r) => r.quality !== "good")).toEqual([]);
      expect(rows.filter((r) => r.ts >= episode.on && r.ts <= episode.off).length).toBeGreaterThan(
        (0.5 * (episode.off - episode.on)) / POLL_MS,
      );
      expectFreshValuesOf(rows, unitId);
      const gap = worstGap(rows.map((r) => r.ts));
      expect(gap).toBeLessThanOrEqual(POLL_MS + SCHEDULING_TOLERANCE_MS);
    }
    expect(peer.stats.connections).toBe(1);
    expect(run.gate!.find("dropping modbus connection")).toEqual([]);
    console.info("framing", peer.stats);
  });
});
