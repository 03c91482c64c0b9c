// Modbus exceptions from one unit while its neighbour on the same TCP connection keeps
// answering: every code a field device sends in practice. An exception is an answer, so
// the unit is neither reported down nor degraded; each failed read is stored as bad with
// reason `exception` and its code, and the next poll after the fault reads good again.
// Except a gateway's 10 and 11: the device behind the gateway is not there, so the unit is
// down and degraded as if silent, and comes back within the same bound as a silent unit.

import { afterEach, describe, expect, it } from "vitest";
import { expectFaultCase } from "./support/checks.js";
import { POLL_MS, SILENT_RECOVERY_MS } from "./support/harness.js";
import { FaultRig, holdUnitFault } from "./support/rig.js";

/** Long enough for a dozen polls, short enough for eight cases in the suite's budget. */
const HOLD_MS = 1500;

// 1 illegal function, 2 illegal data address, 3 illegal data value, 4 server device failure,
// 6 server device busy, 10 gateway path unavailable, 11 gateway target device failed to
// respond.
const CODES = [1, 2, 3, 4, 6, 10, 11];
const GATEWAY = new Set([10, 11]);

describe("Modbus exceptions from one unit", () => {
  const rig = new FaultRig();
  afterEach(() => rig.cleanup());

  it.each(CODES)("stores exception %i as bad with its code, unit 1 read on", async (code) => {
    const gateway = GATEWAY.has(code);
    const recoveryBoundMs = gateway ? SILENT_RECOVERY_MS : POLL_MS;
    const { units } = await rig.tcpPair();
    const episode = await holdUnitFault(units, 2, { kind: "exception", code }, HOLD_MS);
    const run = await rig.stopCleanlyAfter(recoveryBoundMs + 500);

    const fault = { badReasons: ["exception"], exceptionCode: code };
    // Both tags of the faulty unit: with code 2 the poller reads them apart to find the hole.
    for (const faulty of ["faulty.count", "faulty.next"]) {
      const measured = expectFaultCase(run, { faulty, episode, recoveryBoundMs, ...fault });
      if (faulty === "faulty.count") console.info(`exception ${code}`, measured);
    }
    // A gateway's no-answer takes the unit down and degrades it, each logged once; any
    // other exception is an answer and logs nothing.
    const warnings = run.warnings("faulty").map((l) => l.msg);
    expect(warnings).toEqual(gateway ? ["device down", "device degraded"] : []);
  });
});
