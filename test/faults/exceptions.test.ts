// Modbus exceptions from one unit while its neighbour on the same TCP connection keeps
// answering: every code a field device sends in practice. An exception is an answer, so
// the unit is neither reported down nor degraded; each failed read is stored as bad with
// reason `exception` and its code, and the next poll after the fault reads good again.

import { afterEach, describe, expect, it } from "vitest";
import { expectFaultCase } from "./support/checks.js";
import { POLL_MS } from "./support/harness.js";
import { FaultRig, holdUnitFault } from "./support/rig.js";

/** Long enough for a dozen polls, short enough for six cases in the suite's budget. */
const HOLD_MS = 1500;

// 1 illegal function, 2 illegal data address, 3 illegal data value, 4 server device failure,
// 6 server device busy, 11 gateway target device failed to respond.
const CODES = [1, 2, 3, 4, 6, 11];

describe("Modbus exceptions from one unit", () => {
  const rig = new FaultRig();
  afterEach(() => rig.cleanup());

  it.each(CODES)("stores exception %i as bad with its code and keeps unit 1 read", async (code) => {
    const { units } = await rig.tcpPair();
    const episode = await holdUnitFault(units, 2, { kind: "exception", code }, HOLD_MS);
    const run = await rig.stopCleanlyAfter(1000);

    const common = { episode, recoveryBoundMs: POLL_MS };
    const fault = { badReasons: ["exception"], exceptionCode: code };
    // Both tags of the faulty unit: with code 2 the poller reads them apart to find the hole.
    for (const faulty of ["faulty.count", "faulty.next"]) {
      const measured = expectFaultCase(run, { faulty, ...common, ...fault });
      expect(measured.warnings).toBe(0);
      if (faulty === "faulty.count") console.info(`exception ${code}`, measured);
    }
  });
});
