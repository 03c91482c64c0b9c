// Faults in the shape of what goes over the wire rather than in whether a unit answers: a
// register map wider than one Modbus read may carry, and TCP segments that do not line up
// with response frames. Same real daemon, same in-process peer as tcp-faults.test.ts.

import { afterEach, describe, expect, it } from "vitest";
import { COALESCE_HOLD_MS, type FaultTcpPeer } from "../peers/fault-tcp-peer.js";
import { PeerUnits } from "../peers/fault-units.js";
import {
  type Episode,
  expectFaultCase,
  expectFreshValuesOf,
  TIMING_OUT,
  worstGap,
} from "./support/checks.js";
import {
  type DaemonRun,
  device,
  holdFault,
  MEASUREMENT_TOLERANCE_MS,
  POLL_MS,
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

  /** Units 1 and 2 as devices `one` and `two` on one connection that takes two in flight. */
  async function framingPair(): Promise<FaultTcpPeer> {
    const units = new PeerUnits([1, 2]);
    const peer = await rig.tcpPeer(units);
    const count = [{ name: "count", address: 0 }];
    const devices = [device("one", 1, count), device("two", 2, count)];
    // Two in flight on the connection (a gateway that queues), one per device: both units'
    // requests of a tick leave together, so their replies can come back together.
    await rig.run.start([tcpConnection("plc", peer.port, devices, { maxInFlight: 2 })]);
    await untilAsked(units, [1, 2]);
    return peer;
  }

  /**
   * Nothing was lost to the framing: no bad reading, no dropped link, each unit's values,
   * and no poll later than the interval and the `delayMs` the peer holds a reply back.
   */
  function expectNothingLost(
    run: DaemonRun,
    peer: FaultTcpPeer,
    episode: Episode,
    delayMs: number,
  ): number[] {
    const gaps: number[] = [];
    for (const [tag, unitId] of [
      ["one.count", 1],
      ["two.count", 2],
    ] as const) {
      const rows = run.readings(tag);
      expect(rows.filter((r) => r.quality !== "good")).toEqual([]);
      const during = rows.filter((r) => r.ts >= episode.on && r.ts <= episode.off);
      expect(during.length).toBeGreaterThan((0.5 * (episode.off - episode.on)) / POLL_MS);
      expectFreshValuesOf(rows, unitId);
      const gap = worstGap(rows.map((r) => r.ts));
      expect(gap).toBeLessThanOrEqual(POLL_MS + delayMs + MEASUREMENT_TOLERANCE_MS);
      gaps.push(gap);
    }
    expect(peer.stats.connections).toBe(1);
    expect(run.gate!.find("dropping modbus connection")).toEqual([]);
    return gaps;
  }

  it("takes two responses that arrive in one TCP segment", async () => {
    const peer = await framingPair();
    const episode = await holdFault(
      () => {
        peer.coalesce = true;
      },
      () => {
        peer.coalesce = false;
      },
      3000,
    );
    const run = await rig.stopCleanlyAfter(500);

    // The peer did put two frames in one write, many times, and split none.
    expect(peer.stats.coalescedWrites).toBeGreaterThan(10);
    expect(peer.stats.splitReplies).toBe(0);
    // A reply waits up to COALESCE_HOLD_MS for its companion.
    const worstGapsMs = expectNothingLost(run, peer, episode, COALESCE_HOLD_MS);
    console.info("two frames in one segment", peer.stats, { worstGapsMs });
  });

  it("takes one response that arrives split over two TCP segments", async () => {
    const peer = await framingPair();
    const episode = await holdFault(
      () => {
        peer.splitUnit = 2;
      },
      () => {
        peer.splitUnit = undefined;
      },
      3000,
    );
    const run = await rig.stopCleanlyAfter(500);

    // The peer did cut unit 2's replies in two writes, many times, and coalesced none.
    expect(peer.stats.splitReplies).toBeGreaterThan(10);
    expect(peer.stats.coalescedWrites).toBe(0);
    // A split reply's second half, and any reply after it, comes splitPauseMs later.
    const worstGapsMs = expectNothingLost(run, peer, episode, peer.splitPauseMs);
    console.info("one frame in two segments", peer.stats, { worstGapsMs });
  });
});
