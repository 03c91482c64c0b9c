// The one thing a sensor needs from a serial port: open it, read its bytes, close it. A
// test hands in another factory; the daemon uses node-serialport.

import type { Readable } from "node:stream";
import { SerialPort } from "serialport";
import type { SensorConfig } from "../../config/schema.js";

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

export const openSerialPort: OpenPort = (options) =>
  new Promise((resolve, reject) => {
    const port = new SerialPort({
      path: options.path,
      baudRate: options.baudRate,
      parity: options.parity,
      dataBits: options.dataBits,
      stopBits: options.stopBits,
      autoOpen: false,
    });
    port.open((err) => (err ? reject(err) : resolve(port)));
  });

/** Closes a port and waits for it; a port that is already closed is fine. */
export function closePort(port: SensorPort): Promise<void> {
  return new Promise((resolve) => port.close(() => resolve()));
}
