// A TCP socket as a byte line: Modbus RTU frames carried unchanged over TCP to a serial
// device server (the "RTU over TCP" or "transparent" mode of Moxa, USR and similar boxes).

import * as net from "node:net";
import type { ByteLine, LineHandlers } from "./byte-line.js";

export interface SocketLineOptions {
  host: string;
  port: number;
  /** A connection attempt that has not succeeded by then is abandoned. */
  connectTimeoutMs: number;
}

// A device server that loses power sends no FIN; keepalive probes notice it, so the line
// closes and reconnects instead of timing out every request forever.
const KEEPALIVE_MS = 10_000;

export class SocketLine implements ByteLine {
  readonly endpoint: string;
  private socket: net.Socket | undefined;

  constructor(private readonly options: SocketLineOptions) {
    this.endpoint = `rtu+tcp://${options.host}:${options.port}`;
  }

  open(handlers: LineHandlers): Promise<void> {
    const { host, port, connectTimeoutMs } = this.options;
    const socket = net.createConnection({ host, port });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    socket.setTimeout(connectTimeoutMs, () => {
      socket.destroy(new Error(`connect timed out after ${connectTimeoutMs} ms`));
    });
    let lastError: string | undefined;
    socket.on("error", (err) => {
      lastError = err.message;
    });

    return new Promise<void>((resolve, reject) => {
      socket.once("connect", () => {
        socket.setTimeout(0);
        this.socket = socket;
        socket.on("data", (chunk: Buffer) => handlers.data(chunk));
        resolve();
      });
      socket.once("close", () => {
        if (this.socket !== socket) {
          reject(new Error(lastError ?? "connection closed"));
          return;
        }
        this.socket = undefined;
        handlers.closed(lastError ?? "connection closed by peer");
      });
    });
  }

  write(bytes: Buffer): void {
    this.socket?.write(bytes);
  }

  close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined || socket.destroyed) return Promise.resolve();
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.destroy();
    return closed;
  }
}
