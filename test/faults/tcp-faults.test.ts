// Acquisition faults on Modbus TCP, against the real `plantgate run` and a fault-injecting
// peer in this process: a healthy unit (1) and a faulty one (2) on one connection. Each case
// switches the fault on, holds it, switches it off, stops the daemon with SIGTERM and reads
// the stored timestamps (see support/checks.ts for what every case asserts).

import { afterEach, describe, expect, it } from "vitest";
import { type Fault, PeerUnits } from "../peers/fault-units.js";
import { CONNECTION_LOST, expectFaultCase, TIMING_OUT } from "./support/checks.js";
import {
  device,
  holdFault,
  RECONNECT_RECOVERY_MS,
  SILENT_RECOVERY_MS,
  TIMEOUT_MS,
  tcpConnection,
} from "./support/harness.js";
import { FaultRig, holdUnitFault, TAGS } from "./support/rig.js";

const HOLD_MS = 3000;

describe("acquisition faults over Modbus TCP", () => {
  const rig = new FaultRig();
  afterEach(() => rig.cleanup());

  it("keeps reading unit 1 while unit 2 does not answer at all", async () => {
    const { units } = await rig.tcpPair();
    const episode = await holdUnitFault(units, 2, { kind: "silent" }, HOLD_MS);
    const run = await rig.stopCleanlyAfter(SILENT_RECOVERY_MS + 500);

    const measured = expectFaultCase(run, { episode, ...TIMING_OUT });
    expect(run.warnings("faulty").map((l) => l.msg)).toEqual(["device down", "device degraded"]);
    console.info("tcp silent", measured);
  });

  it("never takes a reply that came after its timeout for a later request's", async () => {
    const { units } = await rig.tcpPair();
    const late: Fault = { kind: "late", delayMs: TIMEOUT_MS + 60 };
    const episode = await holdUnitFault(units, 2, late, HOLD_MS);
    const run = await rig.stopCleanlyAfter(SILENT_RECOVERY_MS + 500);

    const measured = expectFaultCase(run, { episode, ...TIMING_OUT });
    // The late replies did go out, and none of their values was stored as a reading.
    expect(units.lateValues.size).toBeGreaterThan(0);
    for (const tag of ["healthy.count", "faulty.count", "faulty.next"]) {
      const stored = run.readings(tag).map((r) => r.value);
      expect(stored.filter((v) => units.lateValues.has(v as number))).toEqual([]);
    }
    console.info("tcp late", measured);
  });

  it("reconnects after the server restarts, reading the other connection throughout", async () => {
    const units = new PeerUnits([1, 2]);
    const peer = await rig.tcpPeer(units);
    const plc = tcpConnection("plc", peer.port, [device("faulty", 2, TAGS)]);
    await rig.startWithHealthyLine(plc, units);
    const episode = await holdFault(
      () => peer.stop(),
      () => peer.start(),
      HOLD_MS,
    );
    const run = await rig.stopCleanlyAfter(RECONNECT_RECOVERY_MS + 500);

    const measured = expectFaultCase(run, { episode, ...CONNECTION_LOST });
    const lost = run.gate!.lines.filter((l) =>
      /modbus (disconnected|connect failed)/.test(`${l.msg}`),
    );
    expect(lost.length).toBeLessThanOrEqual(2);
    expect(peer.stats.connections).toBe(2);
    console.info("tcp restart", measured);
  });
});
