// A serial port as a byte line, through node-serialport. `/dev/serial/by-id/...` paths are
// opened as given: they are symlinks udev recreates when the same adapter is plugged back,
// so reopening the same path finds it again.

import { SerialPort } from "serialport";
import type { ByteLine, LineHandlers } from "./byte-line.js";

export interface SerialLineOptions {
  path: string;
  baudRate: number;
  parity: "none" | "even" | "odd";
  dataBits: 7 | 8;
  stopBits: 1 | 2;
}

export class SerialLine implements ByteLine {
  readonly endpoint: string;
  private port: SerialPort | undefined;
  private lastError: string | undefined;

  constructor(private readonly options: SerialLineOptions) {
    this.endpoint = `serial://${options.path}`;
  }

  open(handlers: LineHandlers): Promise<void> {
    const { path, baudRate, parity, dataBits, stopBits } = this.options;
    // A fresh SerialPort per open: one whose device vanished is not reused.
    const port = new SerialPort({ path, baudRate, parity, dataBits, stopBits, autoOpen: false });
    return new Promise<void>((resolve, reject) => {
      port.open((err) => {
        if (err) {
          reject(err);
          return;
        }
        this.port = port;
        this.lastError = undefined;
        port.on("data", (chunk: Buffer) => handlers.data(chunk));
        // Without a listener an error event would be thrown; the close that follows carries it.
        port.on("error", (e: Error) => {
          this.lastError = e.message;
        });
        port.once("close", (e: Error | null) => {
          if (this.port !== port) return;
          this.port = undefined;
          handlers.closed(e?.message ?? this.lastError ?? "port closed");
        });
        resolve();
      });
    });
  }

  write(bytes: Buffer): void {
    // A write to a vanished device fails and node-serialport closes the port; the close
    // event reports it, so the callback has nothing to add.
    this.port?.write(bytes, () => {});
  }

  close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    if (port === undefined || !port.isOpen) return Promise.resolve();
    return new Promise<void>((resolve) => port.close(() => resolve()));
  }
}
