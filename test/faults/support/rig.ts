// What a fault case starts and must stop again: the fault-injecting peers, the pty pair that
// stands in for a serial cable, and the daemon under test. One rig per describe block, with
// `cleanup()` in its afterEach: whatever the case started is stopped even when it failed.

import { join } from "node:path";
import { expect } from "vitest";
import { FaultRtuPeer } from "../../peers/fault-rtu-peer.js";
import { FaultTcpPeer } from "../../peers/fault-tcp-peer.js";
import { type Fault, HEALTHY, PeerUnits } from "../../peers/fault-units.js";
import { startPtyPair } from "../../peers/pty-pair.js";
import { freePort } from "../../support/ports.js";
import type { Proc } from "../../support/process.js";
import {
  DaemonRun,
  type Doc,
  device,
  holdFault,
  rtuConnection,
  sleep,
  type TagSpec,
  tcpConnection,
  until,
} from "./harness.js";

/** The tags each unit is polled for unless a case names its own. */
export const TAGS: TagSpec[] = [
  { name: "count", address: 0 },
  { name: "next", address: 1 },
];

/** The pair of checks.ts: device `healthy` on unit 1, device `faulty` on unit 2. */
function pairDevices(tags: TagSpec[]): Doc[] {
  return [device("healthy", 1, tags), device("faulty", 2, tags)];
}

/** Resolves once each of `unitIds` has been asked at least `times` reads. */
export function untilAsked(units: PeerUnits, unitIds: number[], times = 5): Promise<void> {
  const asked = () => unitIds.every((id) => units.asked(id) >= times);
  return until(asked, 10_000, "first polls");
}

/** Unit `unitId` acts out `fault` for holdMs, then answers normally again. */
export function holdUnitFault(units: PeerUnits, unitId: number, fault: Fault, holdMs: number) {
  return holdFault(
    () => units.setFault(unitId, fault),
    () => units.setFault(unitId, HEALTHY),
    holdMs,
  );
}

/** The peers and the daemon of one fault case at a time. */
export class FaultRig {
  private daemon: DaemonRun | undefined;
  private tcpPeers: FaultTcpPeer[] = [];
  private bus: FaultRtuPeer | undefined;
  private socat: Proc | undefined;

  /** This case's daemon run; its state dir exists from the first use on. */
  get run(): DaemonRun {
    this.daemon ??= new DaemonRun();
    return this.daemon;
  }

  /** The end of the pty pair the daemon opens. */
  get busPath(): string {
    return join(this.run.dir, "a");
  }

  /** Units 1 and 2 on one TCP connection, polled by the daemon; resolves once both answered. */
  async tcpPair(tags = TAGS, polls = 5): Promise<{ units: PeerUnits; peer: FaultTcpPeer }> {
    const units = new PeerUnits([1, 2]);
    const peer = await this.tcpPeer(units);
    await this.run.start([tcpConnection("plc", peer.port, pairDevices(tags))]);
    await untilAsked(units, [1, 2], polls);
    return { units, peer };
  }

  /** Units 1 and 2 on one RTU bus, polled by the daemon; resolves once both answered. */
  async rtuPair(): Promise<{ units: PeerUnits; bus: FaultRtuPeer }> {
    const units = new PeerUnits([1, 2]);
    const bus = await this.rtuBus(units);
    await this.run.start([rtuConnection("bus", this.busPath, pairDevices(TAGS))]);
    await untilAsked(units, [1, 2]);
    return { units, bus };
  }

  /** A TCP peer serving `units` on a free port, listening. */
  async tcpPeer(units: PeerUnits): Promise<FaultTcpPeer> {
    const peer = new FaultTcpPeer(units, await freePort());
    this.tcpPeers.push(peer);
    await peer.start();
    return peer;
  }

  /** A pty pair in the run's dir, and an RTU peer serving `units` on the end opposite busPath. */
  async rtuBus(units: PeerUnits): Promise<FaultRtuPeer> {
    this.socat = await startPtyPair(this.run.dir);
    this.bus = new FaultRtuPeer(units, join(this.run.dir, "b"));
    await this.bus.open();
    return this.bus;
  }

  /** Pulls the serial adapter: the peer lets go of its end and the pty links vanish. */
  async unplugBus(): Promise<void> {
    await this.bus?.close();
    await this.socat?.stop(2000);
  }

  /** Plugs it back: new pty links at the same paths, the peer on its end again. */
  async replugBus(): Promise<void> {
    this.socat = await startPtyPair(this.run.dir);
    await this.bus?.open();
  }

  /**
   * For a fault that takes a whole connection away: the daemon polling `faulty` on
   * `connection`, and `healthy` on a TCP line of its own with a peer serving unit 1.
   * Resolves once unit 2 of `units` has answered.
   */
  async startWithHealthyLine(connection: Doc, units: PeerUnits): Promise<void> {
    const healthyPeer = await this.tcpPeer(new PeerUnits([1]));
    const line = tcpConnection("line", healthyPeer.port, [device("healthy", 1, TAGS)]);
    await this.run.start([line, connection]);
    await untilAsked(units, [2]);
  }

  /**
   * Lets `ms` pass, so the recovery after a fault is stored, then stops the daemon with
   * SIGTERM. It must exit 0, as a daemon that crashed during the fault, or hangs on SIGTERM,
   * does not.
   */
  async stopCleanlyAfter(ms: number): Promise<DaemonRun> {
    await sleep(ms);
    expect(await this.run.stop()).toBe(0);
    return this.run;
  }

  /** Stops the daemon, then the peers, then the pty pair; removes the state dir. */
  async cleanup(): Promise<void> {
    const { daemon, tcpPeers, bus, socat } = this;
    this.daemon = this.bus = this.socat = undefined;
    this.tcpPeers = [];
    try {
      await daemon?.cleanup();
    } finally {
      await Promise.allSettled([...tcpPeers.map((p) => p.stop()), bus?.close()]);
      await socat?.stop(2000);
    }
  }
}
