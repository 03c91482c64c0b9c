// A serial port as a byte line, through node-serialport. `/dev/serial/by-id/...` paths are
// opened as given: they are symlinks udev recreates when the same adapter is plugged back,
// so reopening the same path finds it again.

import { SerialPort } from "serialport";
import { type PresenceWatch, watchPresence } from "../serial/presence.js";
import type { ByteLine, LineHandlers } from "./byte-line.js";

export interface SerialLineOptions {
  path: string;
  baudRate: number;
  parity: "none" | "even" | "odd";
  dataBits: 7 | 8;
  stopBits: 1 | 2;
  /** How often an open port's device node is checked for removal or replacement. */
  presenceCheckMs?: number;
}

interface OpenPort {
  port: SerialPort;
  handlers: LineHandlers;
  /** See serial/presence.ts: an unplugged adapter gives no close event by itself. */
  presence: PresenceWatch;
}

export class SerialLine implements ByteLine {
  readonly endpoint: string;
  private current: OpenPort | undefined;
  private lastError: string | undefined;

  constructor(private readonly options: SerialLineOptions) {
    this.endpoint = `serial://${options.path}`;
  }

  async open(handlers: LineHandlers): Promise<void> {
    const { path, baudRate, parity, dataBits, stopBits } = this.options;
    // A fresh SerialPort per open: one whose device vanished is not reused.
    const port = new SerialPort({ path, baudRate, parity, dataBits, stopBits, autoOpen: false });
    // Without a listener an error event would be thrown; the close that follows carries it.
    port.on("error", (e: Error) => {
      this.lastError = e.message;
    });
    await new Promise<void>((resolve, reject) => {
      port.open((err) => (err ? reject(err) : resolve()));
    });
    const presence = await watchPresence(
      path,
      (reason) => this.vanished(current, reason),
      this.options.presenceCheckMs,
    );
    const current: OpenPort = { port, handlers, presence };
    this.current = current;
    this.lastError = undefined;

    port.on("data", (chunk: Buffer) => handlers.data(chunk));
    port.once("close", (e: Error | null) => {
      this.lost(current, e?.message ?? this.lastError ?? "port closed");
    });
  }

  write(bytes: Buffer): void {
    // A write to a vanished device fails and node-serialport closes the port; the close
    // event reports it, so the callback has nothing to add.
    this.current?.port.write(bytes, () => {});
  }

  close(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    if (current === undefined) return Promise.resolve();
    current.presence.stop();
    if (!current.port.isOpen) return Promise.resolve();
    return new Promise<void>((resolve) => current.port.close(() => resolve()));
  }

  private vanished(current: OpenPort, reason: string): void {
    this.lost(current, reason);
    if (current.port.isOpen) current.port.close(() => {});
  }

  /** Reports the loss of `lost` once, unless it was closed on request or already reported. */
  private lost(lost: OpenPort, reason: string): void {
    if (this.current !== lost) return;
    this.current = undefined;
    lost.presence.stop();
    lost.handlers.closed(reason);
  }
}
