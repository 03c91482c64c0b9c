// The whole Modbus source (TCP transport + poller) against an independent peer: a pymodbus
// 3.0 server whose registers were written by pymodbus's own BinaryPayloadBuilder, with a hole
// in its holding-register map. Expected values are the values handed to pymodbus, never bytes
// from our encoder. Then one device pipelining its requests to the same server.

import { type ChildProcess, spawn } from "node:child_process";
import * as net from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionSchema } from "../../../src/config/schema.js";
import { silentLogger } from "../../../src/core/logger.js";
import { createTransport } from "../../../src/sources/modbus/source.js";
import type { ModbusTransport, PduRequest } from "../../../src/sources/modbus/transport.js";
import { repoRoot, requireOrSkip } from "../../support/data.js";
import { freePort } from "../../support/ports.js";
import { pymodbusMissing, SYSTEM_PYTHON } from "../../support/pymodbus.js";
import { CHECKS, entryOf, expectAsWritten, HOLES, ROWS, until } from "./payload-rows.js";
import { pollUntil } from "./poller-rig.js";

async function untilAccepting(port: number, peer: ChildProcess): Promise<void> {
  await until("pymodbus accepting connections", async () => {
    if (peer.exitCode !== null) throw new Error(`pymodbus server exited (${peer.exitCode})`);
    return new Promise<boolean>((resolve) => {
      const s = net
        .connect(port, "127.0.0.1", () => resolve(true))
        .on("error", () => resolve(false));
      s.once("connect", () => s.destroy());
    });
  });
}

/** The real transport, with a record of every request the poller made. */
function recording(inner: ModbusTransport, sent: PduRequest[]): ModbusTransport {
  return {
    name: inner.name,
    endpoint: inner.endpoint,
    get connected() {
      return inner.connected;
    },
    start: () => inner.start(),
    stop: () => inner.stop(),
    health: () => inner.health(),
    onReconnect: (listener) => inner.onReconnect(listener),
    request: (req) => {
      sent.push(req);
      return inner.request(req);
    },
  };
}

describe.runIf(requireOrSkip(pymodbusMissing()))("Modbus source against pymodbus 3.0", () => {
  let peer: ChildProcess | undefined;
  let port = 0;
  let stderr = "";

  beforeAll(async () => {
    port = await freePort();
    const script = join(repoRoot, "test/peers/pymodbus-server.py");
    const entries = ROWS.map(entryOf);
    const args = [script, String(port), JSON.stringify(entries), JSON.stringify(HOLES)];
    peer = spawn(SYSTEM_PYTHON, args, { stdio: ["ignore", "ignore", "pipe"] });
    peer.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await untilAccepting(port, peer).catch((err: Error) => {
      throw new Error(`${err.message}\n${stderr}`);
    });
  });

  /** A TCP connection to the peer with these devices. */
  const peerConnection = (devices: unknown[]) =>
    connectionSchema.parse({ name: "peer", host: "127.0.0.1", port, timeoutMs: 2000, devices });

  afterAll(async () => {
    if (peer === undefined || peer.exitCode !== null) return;
    const exited = new Promise((resolve) => peer?.once("exit", resolve));
    peer.kill("SIGTERM");
    const timer = setTimeout(() => peer?.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  });

  it("reads every type and order as pymodbus wrote them, around a hole", async () => {
    const connection = peerConnection([
      {
        name: "plc",
        unitId: 1,
        groups: [
          { pollIntervalMs: 200, tags: CHECKS.map((c) => c.tag) },
          // Beyond the server's 400 registers: exception 2 from a device that is up.
          { name: "missing", tags: [{ name: "far", address: 5000, type: "uint16" }] },
        ],
      },
      // pymodbus does not answer a unit it does not serve: a device that times out.
      {
        name: "ghost",
        unitId: 9,
        timeoutMs: 200,
        groups: [{ tags: [{ name: "x", address: 0 }] }],
      },
    ]);
    const sent: PduRequest[] = [];
    const transport = recording(createTransport(connection, { logger: silentLogger() }), sent);
    // Three readings of every tag: the later polls are planned around the hole.
    const wanted = [...CHECKS.map((c) => `plc.${c.tag.name}`), "plc.far", "ghost.x"];
    const { readings, events, poller } = await pollUntil(
      connection,
      transport,
      "three readings of every tag and the ghost down",
      (counts, run) => run.events.length > 0 && wanted.every((t) => (counts.get(t) ?? 0) >= 3),
    );

    const latest = new Map(readings.map((r) => [r.tag, r]));
    expectAsWritten(CHECKS, latest, "plc");
    expect(typeof latest.get("plc.u64_abcd")?.value).toBe("bigint");
    // The hole's neighbours were good from the first poll on, the one that found the hole.
    const neighbours = readings.filter((r) =>
      /^plc\.(below_hole|next_below|above_hole)$/.test(r.tag),
    );
    expect(neighbours.length).toBeGreaterThanOrEqual(9);
    for (const r of neighbours) expect(r.quality, r.tag).toEqual({ status: "good" });

    expect(latest.get("plc.far")).toMatchObject({
      value: null,
      quality: { status: "bad", reason: "exception", exceptionCode: 2 },
    });
    expect(latest.get("ghost.x")?.quality).toMatchObject({ status: "bad", reason: "timeout" });
    // Down first; degraded too if it failed long enough. Nothing about the healthy unit.
    expect(events[0]).toMatchObject({ kind: "device.down", source: "ghost" });
    for (const e of events) {
      expect(e.source).toBe("ghost");
      expect(["device.down", "device.degraded"]).toContain(e.kind);
    }
    expect(poller.health()).toMatchObject({
      status: "degraded",
      devices: {
        plc: { up: true, holes: { holdingRegister: { illegal: [112, 5000] } } },
        ghost: { up: false },
      },
    });

    // No read ever exceeded the protocol's 125 registers, and the wide map took several.
    const registerReads = sent.filter((r) => r.functionCode === 3 || r.functionCode === 4);
    const spans = registerReads.map((r) => [r.payload.readUInt16BE(0), r.payload.readUInt16BE(2)]);
    for (const [, quantity] of spans) expect(quantity).toBeLessThanOrEqual(125);
    const wide = new Set(
      registerReads
        .filter((r) => r.functionCode === 4 && r.payload.readUInt16BE(0) >= 100)
        .map((r) => r.payload.toString("hex")),
    );
    expect(wide.size).toBeGreaterThanOrEqual(3);
  });

  // pymodbus 3.0's TCP server reads every complete frame a segment brings and answers each
  // in turn, so it takes pipelined requests, though it serves them one after the other.
  it("pipelines one device's requests, four in flight, each with its own values", async () => {
    const connection = peerConnection([
      {
        name: "fast",
        unitId: 1,
        maxInFlight: 4,
        // Small reads: many requests a cycle, so that several are outstanding at once.
        maxRegistersPerRead: 8,
        groups: [{ pollIntervalMs: 200, tags: CHECKS.map((c) => c.tag) }],
      },
    ]);
    const sent: PduRequest[] = [];
    const transport = recording(createTransport(connection, { logger: silentLogger() }), sent);
    const { readings, poller } = await pollUntil(
      connection,
      transport,
      "three readings of every tag",
      (counts) => CHECKS.every((c) => (counts.get(`fast.${c.tag.name}`) ?? 0) >= 3),
    );

    expectAsWritten(CHECKS, new Map(readings.map((r) => [r.tag, r])), "fast");
    // Four requests of the one device went out before any answer came back, never more.
    expect(transport.health()).toMatchObject({ peakInFlight: 4, timeouts: 0, discardedFrames: 0 });
    expect(poller.health().devices).toMatchObject({ fast: { peakInFlight: 4, up: true } });
    const quantities = sent.map((r) => r.payload.readUInt16BE(2));
    expect(Math.max(...quantities)).toBeLessThanOrEqual(8);
    expect(new Set(sent.map((r) => r.payload.toString("hex"))).size).toBeGreaterThan(8);
  });
});
