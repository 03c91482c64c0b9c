// Faults in the shape of what goes over the wire rather than in whether a unit answers: a
// register map wider than one Modbus read may carry, and TCP segments that do not line up
// with response frames. Same real daemon, same in-process peer as tcp-faults.test.ts.

import { afterEach, describe, expect, it } from "vitest";
import { PeerUnits } from "../peers/fault-units.js";
import { expectFaultCase, expectFreshValuesOf, TIMING_OUT, worstGap } from "./support/checks.js";
import {
  device,
  holdFault,
  POLL_MS,
  SCHEDULING_TOLERANCE_MS,
  SILENT_RECOVERY_MS,
  type TagSpec,
  tcpConnection,
} from "./support/harness.js";
import { FaultRig, holdUnitFault, untilAsked } from "./support/rig.js";

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
  const rig = new FaultRig();
  afterEach(() => rig.cleanup());

  it("reads a map wider than 125 registers in reads of at most 125, all good", async () => {
    const { units } = await rig.tcpPair(WIDE_MAP, 10);
    const episode = await holdUnitFault(units, 2, { kind: "silent" }, 2000);
    const run = await rig.stopCleanlyAfter(SILENT_RECOVERY_MS + 500);

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
    const measured = expectFaultCase(run, { episode, ...TIMING_OUT });
    console.info("wide map", measured, { requests: units.requests.length });
  });

  it("takes two responses from one segment and one response from two segments", async () => {
    const units = new PeerUnits([1, 2]);
    const peer = await rig.tcpPeer(units);
    const count = [{ name: "count", address: 0 }];
    const devices = [device("one", 1, count), device("two", 2, count)];
    await rig.run.start([tcpConnection("plc", peer.port, devices, { maxInFlight: 2 })]);
    await untilAsked(units, [1, 2]);
    const episode = await holdFault(
      () => {
        peer.coalesce = true;
        peer.splitUnit = 2;
      },
      () => {
        peer.coalesce = false;
        peer.splitUnit = undefined;
      },
      3000,
    );
    const run = await rig.stopCleanlyAfter(500);

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
