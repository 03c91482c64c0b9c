// Pieces of the config schema that several sections share: names, a serial line's
// settings, and the reconnect backoff. Part of schema.ts, the root.

import { z } from "zod";

export const name = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "letters, digits, '_' or '-', starting with a letter");

/** A serial port's settings, for Modbus RTU lines and serial ASCII sensors alike. */
export const serialLine = {
  /** Device path; /dev/serial/by-id/... names survive re-plugging. */
  path: z.string().min(1),
  baudRate: z.number().int().min(50).default(9600),
  parity: z.enum(["none", "even", "odd"]).default("none"),
  dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
  stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
};

export const reconnectSchema = z.strictObject({
  initialDelayMs: z.number().int().min(1).default(500),
  maxDelayMs: z.number().int().min(1).default(30000),
});
