// The register contents both RTU integration tests serve, and a read of them through a
// transport decoded here by hand, independent of plantgate's codec.

import type { ModbusTransport } from "../../../src/sources/modbus/transport.js";
import type { Units } from "../../peers/rtu-peers.js";

export const UNITS = {
  1: [
    { address: 0, type: "float32", value: 21.5 },
    { address: 2, type: "int16", value: -1234 },
  ],
  2: [
    { address: 0, type: "float32", value: -3.25 },
    { address: 2, type: "int16", value: 42 },
  ],
  3: [
    { address: 0, type: "float32", value: 1234.5 },
    { address: 2, type: "int16", value: 32767 },
  ],
} satisfies Units;

export const EXPECTED = {
  1: { float: 21.5, int: -1234 },
  2: { float: -3.25, int: 42 },
  3: { float: 1234.5, int: 32767 },
};

/** Holding registers 0-2 of `unitId`: a big-endian float32 and an int16. */
export async function readUnit(
  transport: ModbusTransport,
  unitId: number,
  timeoutMs = 2000,
): Promise<{ float: number; int: number }> {
  const payload = Buffer.from([0, 0, 0, 3]);
  const reply = await transport.request({ unitId, functionCode: 3, payload, timeoutMs });
  if (reply[0] !== 6 || reply.length !== 7) throw new Error(`bad reply ${reply.toString("hex")}`);
  return { float: reply.readFloatBE(1), int: reply.readInt16BE(5) };
}
