// Request rate on one Modbus TCP connection: our transport, with and without pipelining,
// against modbus-serial's client reading the same registers in a sequential loop (the way
// most Node gateways poll). Each run cycles through the tag map's planned requests.

import ModbusRTU from "modbus-serial";
import { silentLogger } from "../core/logger.js";
import { TcpTransport } from "../sources/modbus/tcp-transport.js";
import { FunctionCode, type PduRequest } from "../sources/modbus/transport.js";

/** Callers of our transport: more than any maxInFlight, so its queue never runs dry. */
const CALLERS = 32;

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

/** Requests per second through TcpTransport with `maxInFlight` outstanding at most. */
export async function transportRate(
  port: number,
  requests: readonly PduRequest[],
  seconds: number,
  maxInFlight: number,
): Promise<number> {
  const transport = new TcpTransport({
    host: "127.0.0.1",
    port,
    reconnect: { initialDelayMs: 500, maxDelayMs: 5000 },
    connectTimeoutMs: 3000,
    logger: silentLogger(),
    maxInFlight,
  });
  await transport.start();

  let next = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  const caller = async () => {
    while (performance.now() < until) {
      await transport.request(requests[next++ % requests.length] as PduRequest);
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, caller));
  const elapsed = (performance.now() - t0) / 1000;
  const done = Number(transport.health().requests);
  await transport.stop();
  return done / elapsed;
}
