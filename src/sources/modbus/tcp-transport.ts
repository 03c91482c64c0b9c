// Modbus TCP framed by hand over node:net. We do not use modbus-serial's client: it never
// prunes its transaction table and mishandles large byte counts. One transaction is in flight
// per connection; a reply whose transaction id is not the one in flight (typically one that
// arrives after its request timed out) is discarded and counted, never taken as the answer
// to a later request.
//
// LIMITATION: no pipelining. Gateways that accept several transactions at once would be
// polled faster if `inFlight` became a map keyed by transaction id with a per-connection cap.

import * as net from "node:net";
import type { Health } from "../../core/lifecycle.js";
import { type Logger, silentLogger } from "../../core/logger.js";
import {
  ModbusDisconnectedError,
  ModbusExceptionError,
  ModbusResponseError,
  ModbusTimeoutError,
} from "./errors.js";
import type { ModbusTransport, PduRequest } from "./transport.js";

/** MBAP header: transaction id, protocol id, length, unit id. */
const MBAP_LENGTH = 7;
/** Unit id + the largest PDU (253 bytes). */
const MAX_MBAP_LENGTH_FIELD = 254;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Looks the globals up at call time, so a test's fake timers apply. */
export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface TcpTransportOptions {
  host: string;
  port: number;
  reconnect: { initialDelayMs: number; maxDelayMs: number };
  /** A connection attempt that has not succeeded by then is abandoned. */
  connectTimeoutMs: number;
  logger?: Logger;
  timers?: Timers;
  /** Source of jitter in [0, 1). */
  random?: () => number;
}

export interface MbapFrame {
  transactionId: number;
  unitId: number;
  functionCode: number;
  /** PDU bytes after the function code. */
  payload: Buffer;
}

/** Splits a TCP byte stream into MBAP frames, whatever the segment boundaries. */
export class MbapParser {
  private pending: Buffer = Buffer.alloc(0);

  /** Frames completed by this chunk. Throws ModbusResponseError when framing is lost. */
  push(chunk: Buffer): MbapFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: MbapFrame[] = [];
    while (this.pending.length >= MBAP_LENGTH) {
      const protocolId = this.pending.readUInt16BE(2);
      const length = this.pending.readUInt16BE(4);
      if (protocolId !== 0 || length < 2 || length > MAX_MBAP_LENGTH_FIELD) {
        this.pending = Buffer.alloc(0);
        throw new ModbusResponseError(`bad MBAP header: protocol ${protocolId} length ${length}`);
      }
      const total = 6 + length;
      if (this.pending.length < total) break;
      frames.push({
        transactionId: this.pending.readUInt16BE(0),
        unitId: this.pending.readUInt8(6),
        functionCode: this.pending.readUInt8(7),
        payload: Buffer.from(this.pending.subarray(8, total)),
      });
      this.pending = this.pending.subarray(total);
    }
    return frames;
  }

  reset(): void {
    this.pending = Buffer.alloc(0);
  }
}

/** The MBAP frame of a request. */
export function encodeMbapFrame(transactionId: number, req: PduRequest): Buffer {
  const frame = Buffer.alloc(MBAP_LENGTH + 1 + req.payload.length);
  frame.writeUInt16BE(transactionId, 0);
  frame.writeUInt16BE(0, 2);
  frame.writeUInt16BE(2 + req.payload.length, 4);
  frame.writeUInt8(req.unitId, 6);
  frame.writeUInt8(req.functionCode, 7);
  req.payload.copy(frame, 8);
  return frame;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): doubling from initialDelayMs, capped at
 * maxDelayMs, less up to 20% jitter so that gateways restarted together do not retry in step.
 */
export function backoffDelay(
  attempt: number,
  reconnect: { initialDelayMs: number; maxDelayMs: number },
  random: () => number,
): number {
  const base = Math.min(reconnect.maxDelayMs, reconnect.initialDelayMs * 2 ** attempt);
  return Math.round(base * (1 - 0.2 * random()));
}

interface Transaction {
  req: PduRequest;
  resolve(payload: Buffer): void;
  reject(err: Error): void;
  transactionId?: number;
  timer?: unknown;
}

export class TcpTransport implements ModbusTransport {
  readonly name: string;
  readonly endpoint: string;
  private readonly log: Logger;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly parser = new MbapParser();
  private socket: net.Socket | undefined;
  private isConnected = false;
  private stopped = true;
  private queue: Transaction[] = [];
  private inFlight: Transaction | undefined;
  private nextTransactionId = 0;
  /** Failed attempts since the last connection: only the first is logged above debug. */
  private failedAttempts = 0;
  /** Index into the backoff sequence; reset by a successful connection. */
  private retries = 0;
  private everConnected = false;
  private reconnectTimer: unknown;
  private lastError: string | undefined;
  private readonly counters = {
    requests: 0,
    timeouts: 0,
    exceptions: 0,
    discardedFrames: 0,
    reconnects: 0,
  };

  constructor(private readonly options: TcpTransportOptions) {
    this.endpoint = `tcp://${options.host}:${options.port}`;
    this.name = `modbus-tcp ${this.endpoint}`;
    this.log = (options.logger ?? silentLogger()).child({ endpoint: this.endpoint });
    this.timers = options.timers ?? systemTimers;
    this.random = options.random ?? Math.random;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  /** Resolves after the first connection attempt, whether or not it succeeded. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer !== undefined) this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.failAll(new ModbusDisconnectedError(this.endpoint, "transport stopped"));
    const socket = this.socket;
    if (socket !== undefined && !socket.destroyed) {
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.destroy();
      await closed;
    }
    this.log.info("modbus transport stopped");
  }

  health(): Health {
    return {
      status: this.isConnected ? "ok" : "down",
      connected: this.isConnected,
      queued: this.queue.length + (this.inFlight ? 1 : 0),
      lastError: this.lastError,
      ...this.counters,
    };
  }

  request(req: PduRequest): Promise<Buffer> {
    if (this.stopped || !this.isConnected) {
      const why = this.stopped ? "transport stopped" : this.lastError;
      return Promise.reject(new ModbusDisconnectedError(this.endpoint, why));
    }
    return new Promise<Buffer>((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      this.pump();
    });
  }

  // Connection

  private connect(): Promise<void> {
    this.reconnectTimer = undefined;
    const { host, port, connectTimeoutMs } = this.options;
    const socket = net.createConnection({ host, port });
    this.socket = socket;
    socket.setNoDelay(true);
    const connectTimer = this.timers.setTimeout(
      () => socket.destroy(new Error(`connect timed out after ${connectTimeoutMs} ms`)),
      connectTimeoutMs,
    );

    return new Promise<void>((settled) => {
      socket.once("connect", () => {
        this.timers.clearTimeout(connectTimer);
        this.onConnect();
        settled();
      });
      socket.on("data", (chunk: Buffer) => this.onData(chunk));
      socket.on("error", (err) => {
        this.lastError = err.message;
      });
      socket.once("close", () => {
        this.timers.clearTimeout(connectTimer);
        this.onClose(socket);
        settled();
      });
    });
  }

  private onConnect(): void {
    if (this.everConnected) this.counters.reconnects++;
    this.everConnected = true;
    this.isConnected = true;
    this.failedAttempts = 0;
    this.retries = 0;
    this.lastError = undefined;
    this.parser.reset();
    this.log.info("modbus connected");
  }

  private onClose(socket: net.Socket): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    const wasConnected = this.isConnected;
    this.isConnected = false;
    const detail = this.lastError ?? "connection closed";
    this.failAll(new ModbusDisconnectedError(this.endpoint, detail));
    if (this.stopped) return;

    if (wasConnected) {
      this.log.warn({ err: this.lastError }, "modbus disconnected");
    } else if (this.failedAttempts === 0) {
      this.log.warn({ err: this.lastError }, "modbus connect failed; retrying in background");
    } else {
      this.log.debug({ err: this.lastError, attempt: this.failedAttempts }, "connect failed");
    }
    const delay = backoffDelay(this.retries, this.options.reconnect, this.random);
    this.retries++;
    if (!wasConnected) this.failedAttempts++;
    this.reconnectTimer = this.timers.setTimeout(() => {
      if (!this.stopped) void this.connect();
    }, delay);
  }

  /** Framing is lost for good when the stream is garbled: start over on a new connection. */
  private dropConnection(reason: string): void {
    this.lastError = reason;
    this.log.warn({ reason }, "dropping modbus connection");
    this.socket?.destroy();
  }

  // Transactions

  private pump(): void {
    if (this.inFlight !== undefined || !this.isConnected || this.socket === undefined) return;
    const tx = this.queue.shift();
    if (tx === undefined) return;

    this.nextTransactionId = (this.nextTransactionId + 1) & 0xffff;
    tx.transactionId = this.nextTransactionId;
    this.inFlight = tx;
    this.counters.requests++;
    // The timeout runs from transmission, not from queueing: a queued request is only
    // waiting for earlier ones, each bounded by its own timeout.
    tx.timer = this.timers.setTimeout(() => this.onTimeout(tx), tx.req.timeoutMs);
    this.socket.write(encodeMbapFrame(tx.transactionId, tx.req));
  }

  private onTimeout(tx: Transaction): void {
    if (this.inFlight !== tx) return;
    this.inFlight = undefined;
    this.counters.timeouts++;
    tx.reject(new ModbusTimeoutError(tx.req.unitId, tx.req.timeoutMs));
    this.pump();
  }

  private onData(chunk: Buffer): void {
    let frames: MbapFrame[];
    try {
      frames = this.parser.push(chunk);
    } catch (err) {
      this.dropConnection((err as Error).message);
      return;
    }
    for (const frame of frames) this.onFrame(frame);
  }

  private onFrame(frame: MbapFrame): void {
    const tx = this.inFlight;
    if (tx === undefined || frame.transactionId !== tx.transactionId) {
      this.counters.discardedFrames++;
      this.log.debug({ transactionId: frame.transactionId }, "discarded late or stray frame");
      return;
    }
    this.timers.clearTimeout(tx.timer);
    this.inFlight = undefined;
    this.settle(tx, frame);
    this.pump();
  }

  // Unit ids are not compared: some TCP-native devices answer with unit 0 or 255 whatever
  // was asked. The transaction id already ties the reply to the request.
  private settle(tx: Transaction, frame: MbapFrame): void {
    const asked = tx.req.functionCode;
    if (frame.functionCode === (asked | 0x80)) {
      this.counters.exceptions++;
      tx.reject(new ModbusExceptionError(tx.req.unitId, asked, frame.payload[0] ?? 0));
    } else if (frame.functionCode !== asked) {
      tx.reject(new ModbusResponseError(`asked function ${asked}, got ${frame.functionCode}`));
    } else {
      tx.resolve(frame.payload);
    }
  }

  private failAll(err: Error): void {
    const pending = this.inFlight ? [this.inFlight, ...this.queue] : this.queue;
    this.inFlight = undefined;
    this.queue = [];
    for (const tx of pending) {
      if (tx.timer !== undefined) this.timers.clearTimeout(tx.timer);
      tx.reject(err);
    }
  }
}
