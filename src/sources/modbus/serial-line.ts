// A serial port as a byte line, through node-serialport. `/dev/serial/by-id/...` paths are
// opened as given: they are symlinks udev recreates when the same adapter is plugged back,
// so reopening the same path finds it again.

import { stat } from "node:fs/promises";
import { SerialPort } from "serialport";
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

const DEFAULT_PRESENCE_CHECK_MS = 1000;

interface OpenPort {
  port: SerialPort;
  /** Device number the path led to when opened: a replugged adapter gets a new node. */
  rdev: number;
  handlers: LineHandlers;
  presenceTimer: NodeJS.Timeout;
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
    const { rdev } = await stat(path).catch(() => ({ rdev: -1 }));
    const checkMs = this.options.presenceCheckMs ?? DEFAULT_PRESENCE_CHECK_MS;
    const presenceTimer = setInterval(() => void this.checkPresence(), checkMs);
    presenceTimer.unref();
    const current: OpenPort = { port, rdev, handlers, presenceTimer };
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
    clearInterval(current.presenceTimer);
    if (!current.port.isOpen) return Promise.resolve();
    return new Promise<void>((resolve) => current.port.close(() => resolve()));
  }

  // Workaround: after a USB adapter is unplugged, the hung-up tty returns zero-byte reads,
  // which @serialport/bindings-cpp retries forever instead of reporting a disconnect
  // (serialport/bindings-cpp#162), so no close event comes until the next write fails. The
  // device node disappears with the adapter, so watching the path notices the loss.
  // LIMITATION: an adapter replugged within one check onto the same device number goes
  // unnoticed until the next write fails with EIO, which node-serialport does report.
  private async checkPresence(): Promise<void> {
    const current = this.current;
    if (current === undefined) return;
    const now = await stat(this.options.path).catch(() => undefined);
    if (now !== undefined && now.rdev === current.rdev) return;
    const reason = now === undefined ? "device path vanished" : "device node replaced";
    this.lost(current, reason);
    if (current.port.isOpen) current.port.close(() => {});
  }

  /** Reports the loss of `lost` once, unless it was closed on request or already reported. */
  private lost(lost: OpenPort, reason: string): void {
    if (this.current !== lost) return;
    this.current = undefined;
    clearInterval(lost.presenceTimer);
    lost.handlers.closed(reason);
  }
}
