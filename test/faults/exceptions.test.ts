// Modbus exceptions from one unit while its neighbour on the same TCP connection keeps
// answering: every code a field device sends in practice. An exception is an answer, so
// the unit is neither reported down nor degraded; each failed read is stored as bad with
// reason `exception` and its code, and the next poll after the fault reads good again.

import { afterEach, describe, expect, it } from "vitest";
import { FaultTcpPeer } from "../peers/fault-tcp-peer.js";
import { HEALTHY, PeerUnits } from "../peers/fault-units.js";
import { freePort } from "../support/ports.js";
import { expectFaultCase } from "./support/checks.js";
import {
  DaemonRun,
  device,
  holdFault,
  POLL_MS,
  sleep,
  tcpConnection,
  until,
} from "./support/harness.js";

const TAGS = [
  { name: "count", address: 0 },
  { name: "next", address: 1 },
];
/** Long enough for a dozen polls, short enough for six cases in the suite's budget. */
const HOLD_MS = 1500;

// 1 illegal function, 2 illegal data address, 3 illegal data value, 4 server device failure,
// 6 server device busy, 11 gateway target device failed to respond.
const CODES = [1, 2, 3, 4, 6, 11];

describe("Modbus exceptions from one unit", () => {
  let peer: FaultTcpPeer | undefined;
  let run: DaemonRun | undefined;

  afterEach(async () => {
    await run?.cleanup();
    await peer?.stop();
    run = undefined;
    peer = undefined;
  });

  it.each(CODES)("stores exception %i as bad with its code and keeps unit 1 read", async (code) => {
    const units = new PeerUnits([1, 2]);
    peer = new FaultTcpPeer(units, await freePort());
    await peer.start();
    run = new DaemonRun();
    const devices = [device("healthy", 1, TAGS), device("faulty", 2, TAGS)];
    await run.start([tcpConnection("plc", peer.port, devices)]);
    await until(() => units.asked(1) >= 5 && units.asked(2) >= 5, 10_000, "first polls");

    const episode = await holdFault(
      () => units.setFault(2, { kind: "exception", code }),
      () => units.setFault(2, HEALTHY),
      HOLD_MS,
    );
    await sleep(1000);
    expect(await run.stop()).toBe(0);

    const common = { healthyUnit: 1, faultyUnit: 2, episode, recoveryBoundMs: POLL_MS };
    const fault = { badReasons: ["exception"], exceptionCode: code };
    // Both tags of the faulty unit: with code 2 the poller reads them apart to find the hole.
    for (const faulty of ["faulty.count", "faulty.next"]) {
      const measured = expectFaultCase(run, {
        healthy: "healthy.count",
        faulty,
        ...common,
        ...fault,
      });
      expect(measured.warnings).toBe(0);
      if (faulty === "faulty.count") console.info(`exception ${code}`, measured);
    }
  });
});
