// Acquisition faults on Modbus TCP, against the real `plantgate run` and a fault-injecting
// peer in this process: a healthy unit (1) and a faulty one (2) on one connection. Each case
// switches the fault on, holds it, switches it off, stops the daemon with SIGTERM and reads
// the stored timestamps (see support/checks.ts for what every case asserts).

import { afterEach, describe, expect, it } from "vitest";
import { FaultTcpPeer } from "../peers/fault-tcp-peer.js";
import { HEALTHY, PeerUnits } from "../peers/fault-units.js";
import { freePort } from "../support/ports.js";
import { expectFaultCase } from "./support/checks.js";
import {
  DaemonRun,
  DEGRADE,
  device,
  holdFault,
  POLL_MS,
  RECONNECT,
  sleep,
  TIMEOUT_MS,
  tcpConnection,
  until,
} from "./support/harness.js";

const TAGS = [
  { name: "count", address: 0 },
  { name: "next", address: 1 },
];
const HOLD_MS = 3000;
/**
 * A unit that stopped answering is probed every maxSkipMs; a probe sent just before the
 * fault ended still times out, and the next comes one skip and one poll later.
 */
const SILENT_RECOVERY_MS = DEGRADE.maxSkipMs + POLL_MS + TIMEOUT_MS;

describe("acquisition faults over Modbus TCP", () => {
  let peer: FaultTcpPeer | undefined;
  let run: DaemonRun | undefined;

  afterEach(async () => {
    await run?.cleanup();
    await peer?.stop();
    run = undefined;
    peer = undefined;
  });

  /** Peer and daemon with units 1 and 2 on one connection, both answering. */
  async function startBoth(extra: Record<string, unknown> = {}): Promise<PeerUnits> {
    const units = new PeerUnits([1, 2]);
    peer = new FaultTcpPeer(units, await freePort());
    await peer.start();
    run = new DaemonRun();
    const devices = [device("healthy", 1, TAGS), device("faulty", 2, TAGS)];
    await run.start([tcpConnection("plc", peer.port, devices, extra)]);
    await until(() => units.asked(1) >= 5 && units.asked(2) >= 5, 10_000, "first polls");
    return units;
  }

  it("keeps reading unit 1 while unit 2 does not answer at all", async () => {
    const units = await startBoth();
    const episode = await holdFault(
      () => units.setFault(2, { kind: "silent" }),
      () => units.setFault(2, HEALTHY),
      HOLD_MS,
    );
    await sleep(SILENT_RECOVERY_MS + 500);
    expect(await run?.stop()).toBe(0);

    const measured = expectFaultCase(run!, {
      ...{ healthy: "healthy.count", healthyUnit: 1, faulty: "faulty.count", faultyUnit: 2 },
      episode,
      recoveryBoundMs: SILENT_RECOVERY_MS,
      badReasons: ["timeout"],
    });
    expect(run!.warnings("faulty").map((l) => l.msg)).toEqual(["device down", "device degraded"]);
    console.info("tcp silent", measured);
  });

  it("never takes a reply that came after its timeout for the answer to a later request", async () => {
    const units = await startBoth();
    const episode = await holdFault(
      () => units.setFault(2, { kind: "late", delayMs: TIMEOUT_MS + 60 }),
      () => units.setFault(2, HEALTHY),
      HOLD_MS,
    );
    await sleep(SILENT_RECOVERY_MS + 500);
    expect(await run?.stop()).toBe(0);

    const measured = expectFaultCase(run!, {
      ...{ healthy: "healthy.count", healthyUnit: 1, faulty: "faulty.count", faultyUnit: 2 },
      episode,
      recoveryBoundMs: SILENT_RECOVERY_MS,
      badReasons: ["timeout"],
    });
    // The late replies did go out, and none of their values was stored as a reading.
    expect(units.lateValues.size).toBeGreaterThan(0);
    for (const tag of ["healthy.count", "faulty.count", "faulty.next"]) {
      const stored = run!.readings(tag).map((r) => r.value);
      expect(stored.filter((v) => units.lateValues.has(v as number))).toEqual([]);
    }
    console.info("tcp late", measured);
  });

  it("reconnects after the server restarts, reading the other connection throughout", async () => {
    const units = new PeerUnits([1, 2]);
    const healthyPeer = new FaultTcpPeer(new PeerUnits([1]), await freePort());
    peer = new FaultTcpPeer(units, await freePort());
    await Promise.all([peer.start(), healthyPeer.start()]);
    try {
      run = new DaemonRun();
      await run.start([
        tcpConnection("line", healthyPeer.port, [device("healthy", 1, TAGS)]),
        tcpConnection("plc", peer.port, [device("faulty", 2, TAGS)]),
      ]);
      await until(() => units.asked(2) >= 5, 10_000, "first polls");
      const restarting = peer;
      const episode = await holdFault(
        () => restarting.stop(),
        () => restarting.start(),
        HOLD_MS,
      );
      // Reconnected within maxDelayMs; a probe that failed just before waits one more skip.
      const recoveryBoundMs = RECONNECT.maxDelayMs + DEGRADE.maxSkipMs + POLL_MS;
      await sleep(recoveryBoundMs + 500);
      expect(await run.stop()).toBe(0);

      const measured = expectFaultCase(run, {
        ...{ healthy: "healthy.count", healthyUnit: 1, faulty: "faulty.count", faultyUnit: 2 },
        episode,
        recoveryBoundMs,
        badReasons: ["disconnected", "timeout"],
        healthyGapBoundMs: POLL_MS,
      });
      const lost = run.gate!.lines.filter((l) =>
        /modbus (disconnected|connect failed)/.test(`${l.msg}`),
      );
      expect(lost.length).toBeLessThanOrEqual(2);
      expect(peer.stats.connections).toBe(2);
      console.info("tcp restart", measured);
    } finally {
      await healthyPeer.stop();
    }
  });
});
