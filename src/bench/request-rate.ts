// Request rate on one Modbus TCP connection to one device: the poller reading its map, with
// and without pipelining, against modbus-serial's client reading the same registers in a
// sequential loop (the way most Node gateways poll), cycling through the planned requests.

import ModbusRTU from "modbus-serial";
import type { ConnectionConfig } from "../config/schema.js";
import { systemClock } from "../core/clock.js";
import { silentLogger } from "../core/logger.js";
import { createModbusSource } from "../sources/modbus/source.js";
import { FunctionCode, type PduRequest } from "../sources/modbus/transport.js";

function startOf(req: PduRequest): { address: number; quantity: number } {
  return { address: req.payload.readUInt16BE(0), quantity: req.payload.readUInt16BE(2) };
}

/** Requests per second of modbus-serial's client, one request at a time. */
export async function modbusSerialRate(
  port: number,
  requests: readonly PduRequest[],
  seconds: number,
): Promise<number> {
  const client = new ModbusRTU.default();
  await client.connectTCP("127.0.0.1", { port });
  client.setTimeout(1000);

  let done = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  while (performance.now() < until) {
    const req = requests[done % requests.length] as PduRequest;
    const { address, quantity } = startOf(req);
    client.setID(req.unitId);
    if (req.functionCode === FunctionCode.readInputRegisters) {
      await client.readInputRegisters(address, quantity);
    } else {
      await client.readHoldingRegisters(address, quantity);
    }
    done++;
  }
  const elapsed = (performance.now() - t0) / 1000;
  await new Promise<void>((resolve) => client.close(() => resolve()));
  return done / elapsed;
}

/**
 * Requests per second of the poller reading `connection` through its transport: the real
 * acquisition path (planning, lanes per device, transaction matching, decoding), readings
 * dropped once decoded so that the store does not bound the rate.
 */
export async function pollerRate(connection: ConnectionConfig, seconds: number): Promise<number> {
  const deps = {
    sink: { write() {} },
    events: { event() {} },
    clock: systemClock,
    logger: silentLogger(),
  };
  const { transport, poller } = createModbusSource(connection, deps);
  await transport.start();
  const t0 = performance.now();
  await poller.start();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await poller.stop();
  const elapsed = (performance.now() - t0) / 1000;
  const done = Number(transport.health().requests);
  await transport.stop();
  return done / elapsed;
}
