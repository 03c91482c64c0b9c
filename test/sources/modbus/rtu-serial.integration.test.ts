// RtuTransport on a serial port against an independent RTU server: pymodbus 3.0 on the other
// end of a socat pty pair, three units on one bus, register values written by pymodbus's own
// BinaryPayloadBuilder. Then the port vanishes, as an unplugged USB adapter's does, and
// comes back under the same path.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionSchema } from "../../../src/config/schema.js";
import { silentLogger } from "../../../src/core/logger.js";
import * as errors from "../../../src/sources/modbus/errors.js";
import { createTransport } from "../../../src/sources/modbus/source.js";
import type { ModbusTransport } from "../../../src/sources/modbus/transport.js";
import {
  socatMissing,
  startPtyPair,
  startRtuServer,
  stopAll,
  type Units,
  until,
} from "../../peers/rtu-peers.js";
import { requireOrSkip } from "../../support/data.js";
import type { Proc } from "../../support/process.js";
import { pymodbusMissing } from "../../support/pymodbus.js";
import { EXPECTED, readUnit, UNITS } from "./rtu-units.js";

const ready = requireOrSkip(pymodbusMissing() ?? socatMissing());

describe.skipIf(!ready)("RtuTransport on a pty pair against pymodbus", () => {
  let dir: string;
  let socat: Proc | undefined;
  let server: Proc | undefined;
  let transport: ModbusTransport | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "plantgate-rtu-"));
    socat = await startPtyPair(dir);
    server = await startRtuServer("serial", join(dir, "b"), UNITS satisfies Units);
    const connection = connectionSchema.parse({
      name: "bus",
      type: "rtu",
      path: join(dir, "a"),
      // The pty carries bytes whatever the framing; 8E1 shows the settings reach the port.
      baudRate: 19200,
      parity: "even",
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      devices: [{ name: "d", groups: [{ tags: [{ name: "t", address: 0 }] }] }],
    });
    transport = createTransport(connection, { logger: silentLogger() });
    await transport.start();
  });

  afterAll(async () => {
    await transport?.stop();
    await stopAll(server, socat);
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads three units on one bus", async () => {
    expect(transport!.connected).toBe(true);
    for (const unitId of [1, 2, 3] as const) {
      expect(await readUnit(transport!, unitId)).toEqual(EXPECTED[unitId]);
    }
  });

  it("times out on a unit nobody serves without disturbing the others", async () => {
    const results = await Promise.allSettled([
      readUnit(transport!, 1),
      readUnit(transport!, 9, 300),
      readUnit(transport!, 2),
      readUnit(transport!, 3),
    ]);
    expect(results[1]).toMatchObject({ status: "rejected" });
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(errors.ModbusTimeoutError);
    expect(results[0]).toEqual({ status: "fulfilled", value: EXPECTED[1] });
    expect(results[2]).toEqual({ status: "fulfilled", value: EXPECTED[2] });
    expect(results[3]).toEqual({ status: "fulfilled", value: EXPECTED[3] });
    expect(transport!.health()).toMatchObject({ timeouts: 1, crcErrors: 0 });
  });

  it("fails while the port is gone and reads again once it returns", async () => {
    await socat!.stop(2000);
    expect(existsSync(join(dir, "a"))).toBe(false);
    await until(() => !transport!.connected, 10_000, "the transport to notice the lost port");
    await expect(readUnit(transport!, 1)).rejects.toBeInstanceOf(errors.ModbusDisconnectedError);
    await server!.stop(2000);

    socat = await startPtyPair(dir);
    server = await startRtuServer("serial", join(dir, "b"), UNITS);
    await until(() => transport!.connected, 10_000, "the transport to reopen the port");
    expect(await readUnit(transport!, 2)).toEqual(EXPECTED[2]);
    expect(transport!.health().reconnects).toBe(1);
  });
});
