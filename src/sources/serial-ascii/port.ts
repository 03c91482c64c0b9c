// The one thing a sensor needs from a serial port: open it, read its bytes, close it. A
// test hands in another factory; the daemon uses node-serialport, with the same presence
// check as the Modbus RTU line.

import type { Readable } from "node:stream";
import { SerialPort } from "serialport";
import type { SensorConfig } from "../../config/schema.js";
import { watchPresence } from "../serial/presence.js";

export type SensorPortOptions = Pick<
  SensorConfig,
  "path" | "baudRate" | "parity" | "dataBits" | "stopBits"
>;

/** An open port: a byte stream that emits "error" and "close" and can be closed. */
export interface SensorPort extends Readable {
  close(callback?: (err: Error | null) => void): void;
}

/** Opens a port, or rejects (ENOENT while a USB adapter is unplugged, EACCES, EBUSY). */
export type OpenPort = (options: SensorPortOptions) => Promise<SensorPort>;

/** What node-serialport's own disconnect errors look like: `disconnected` set. */
class DisconnectedError extends Error {
  override name = "DisconnectedError";
  readonly disconnected = true;
}

/** Opens a port through node-serialport, watched for its device node vanishing. */
export const openSerialPort: OpenPort = async (options) => {
  const port = new SerialPort({
    path: options.path,
    baudRate: options.baudRate,
    parity: options.parity,
    dataBits: options.dataBits,
    stopBits: options.stopBits,
    autoOpen: false,
  });
  await new Promise<void>((resolve, reject) => {
    port.open((err) => (err ? reject(err) : resolve()));
  });
  const presence = await watchPresence(options.path, (reason) => {
    // A sensor only reads, so an unplugged adapter brings no close event (serial/presence.ts):
    // close the port, with the reason as the close's disconnect error, as node-serialport
    // itself reports a lost device.
    if (port.isOpen) port.close(undefined, new DisconnectedError(reason));
  });
  port.once("close", () => presence.stop());
  return port;
};

/** Closes a port and waits for it; a port that is already closed is fine. */
export function closePort(port: SensorPort): Promise<void> {
  return new Promise((resolve) => port.close(() => resolve()));
}
