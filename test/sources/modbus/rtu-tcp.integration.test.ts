// RTU frames over TCP, as a serial device server in transparent mode carries them, against
// pymodbus 3.0's TCP server with its RTU framer: three units behind one socket, a unit
// nobody serves, and the server going away and coming back on the same port.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionSchema } from "../../../src/config/schema.js";
import { silentLogger } from "../../../src/core/logger.js";
import * as errors from "../../../src/sources/modbus/errors.js";
import { createTransport } from "../../../src/sources/modbus/source.js";
import type { ModbusTransport } from "../../../src/sources/modbus/transport.js";
import { startRtuServer, stopAll, until } from "../../peers/rtu-peers.js";
import { requireOrSkip } from "../../support/data.js";
import { freePort } from "../../support/ports.js";
import type { Proc } from "../../support/process.js";
import { pymodbusMissing } from "../../support/pymodbus.js";
import { EXPECTED, readUnit, UNITS } from "./rtu-units.js";

const ready = requireOrSkip(pymodbusMissing());

describe.skipIf(!ready)("RtuTransport over TCP against pymodbus", () => {
  let port: number;
  let server: Proc | undefined;
  let transport: ModbusTransport | undefined;

  beforeAll(async () => {
    port = await freePort();
    server = await startRtuServer("tcp", port, UNITS);
    const connection = connectionSchema.parse({
      name: "gateway",
      type: "rtuOverTcp",
      host: "127.0.0.1",
      port,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      devices: [{ name: "d", groups: [{ tags: [{ name: "t", address: 0 }] }] }],
    });
    transport = createTransport(connection, { logger: silentLogger() });
    await transport.start();
  });

  afterAll(async () => {
    await transport?.stop();
    await stopAll(server);
  });

  it("reads three units behind one socket, and times out only on the absent one", async () => {
    expect(transport!.endpoint).toBe(`rtu+tcp://127.0.0.1:${port}`);
    const results = await Promise.allSettled([
      readUnit(transport!, 1),
      readUnit(transport!, 2),
      readUnit(transport!, 9, 300),
      readUnit(transport!, 3),
    ]);
    expect(results[0]).toEqual({ status: "fulfilled", value: EXPECTED[1] });
    expect(results[1]).toEqual({ status: "fulfilled", value: EXPECTED[2] });
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(errors.ModbusTimeoutError);
    expect(results[3]).toEqual({ status: "fulfilled", value: EXPECTED[3] });
  });

  it("fails while the server is gone and reconnects when it returns", async () => {
    await server!.stop(2000);
    await until(() => !transport!.connected, 10_000, "the transport to notice the close");
    await expect(readUnit(transport!, 1)).rejects.toBeInstanceOf(errors.ModbusDisconnectedError);

    server = await startRtuServer("tcp", port, UNITS);
    await until(() => transport!.connected, 10_000, "the transport to reconnect");
    expect(await readUnit(transport!, 3)).toEqual(EXPECTED[3]);
    expect(transport!.health().reconnects).toBe(1);
  });
});
