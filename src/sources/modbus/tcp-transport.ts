// Modbus TCP framed by hand (mbap-frame.ts) over node:net. We do not use modbus-serial's
// client: it never prunes its transaction table and mishandles large byte counts. Up to
// `maxInFlight` transactions are outstanding per connection (1 unless its devices accept
// pipelined requests; the poller keeps each device within its own maxInFlight), each
// matched to its reply by transaction id. The table of outstanding ids is pruned on every
// reply, timeout and disconnect, so a reply that arrives after its request timed out finds
// no entry: it is discarded and counted, never taken for another request.
//
// LIMITATION: ids are handed out in sequence and skip only those still outstanding, so a
// reply held back by the device for more than 65,535 later transactions would be taken for
// the request that reused its id. Remembering recently timed-out ids would lift it.

import * as net from "node:net";
import type { Health } from "../../core/lifecycle.js";
import { type Logger, silentLogger } from "../../core/logger.js";
import { parseReadResponse } from "./codec.js";
import {
  ModbusDisconnectedError,
  ModbusExceptionError,
  ModbusResponseError,
  ModbusTimeoutError,
} from "./errors.js";
import { encodeMbapFrame, type MbapFrame, MbapParser } from "./mbap-frame.js";
import type { ModbusTransport, PduRequest } from "./transport.js";

/** The schema's cap on `maxInFlight`; few devices queue more than a handful. */
export const MAX_IN_FLIGHT = 16;

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
  /** Transactions outstanding at once, 1..16 (default 1): only for devices that pipeline. */
  maxInFlight?: number;
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
  private pumpScheduled = false;
  private stopped = true;
  private readonly maxInFlight: number;
  /** Sent and not yet answered, keyed by transaction id. */
  private readonly inFlight = new Map<number, Transaction>();
  private queue: Transaction[] = [];
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
    /** The most transactions outstanding at once so far. */
    peakInFlight: 0,
  };
  private readonly reconnectListeners = new Set<() => void>();

  constructor(private readonly options: TcpTransportOptions) {
    this.endpoint = `tcp://${options.host}:${options.port}`;
    this.name = `modbus-tcp ${this.endpoint}`;
    this.log = (options.logger ?? silentLogger()).child({ endpoint: this.endpoint });
    this.timers = options.timers ?? systemTimers;
    this.random = options.random ?? Math.random;
    const max = options.maxInFlight ?? 1;
    if (!Number.isInteger(max) || max < 1 || max > MAX_IN_FLIGHT) {
      throw new RangeError(`maxInFlight ${max} outside 1..${MAX_IN_FLIGHT}`);
    }
    this.maxInFlight = max;
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
      queued: this.queue.length + this.inFlight.size,
      inFlight: this.inFlight.size,
      lastError: this.lastError,
      ...this.counters,
    };
  }

  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  request(req: PduRequest): Promise<Buffer> {
    if (this.stopped || !this.isConnected) {
      const why = this.stopped ? "transport stopped" : this.lastError;
      return Promise.reject(new ModbusDisconnectedError(this.endpoint, why));
    }
    return new Promise<Buffer>((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      this.schedulePump();
    });
  }

  // Requests asked for together leave together: a pipelining poller asks for its next ones
  // while the replies that freed their slots are being handled, each in its own promise
  // continuation. Sending from nextTick, once those have run, puts them in one segment (one
  // write, one reply segment back) instead of one segment each.
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    process.nextTick(() => {
      this.pumpScheduled = false;
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
    const again = this.everConnected;
    if (again) this.counters.reconnects++;
    this.everConnected = true;
    this.isConnected = true;
    this.failedAttempts = 0;
    this.retries = 0;
    this.lastError = undefined;
    this.parser.reset();
    this.log.info("modbus connected");
    if (again) for (const listener of this.reconnectListeners) listener();
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

  /** Sends queued requests while fewer than maxInFlight are outstanding. */
  private pump(): void {
    const socket = this.socket;
    if (!this.isConnected || socket === undefined) return;
    if (this.queue.length === 0 || this.inFlight.size >= this.maxInFlight) return;

    // Corked, the requests sent in one pass leave in one segment rather than one each.
    socket.cork();
    while (this.inFlight.size < this.maxInFlight) {
      const tx = this.queue.shift();
      if (tx === undefined) break;
      const transactionId = this.allocateId();
      tx.transactionId = transactionId;
      this.inFlight.set(transactionId, tx);
      this.counters.requests++;
      this.counters.peakInFlight = Math.max(this.counters.peakInFlight, this.inFlight.size);
      // The timeout runs from transmission, not from queueing: a queued request is only
      // waiting for earlier ones, each bounded by its own timeout.
      tx.timer = this.timers.setTimeout(() => this.onTimeout(tx), tx.req.timeoutMs);
      socket.write(encodeMbapFrame(transactionId, tx.req));
    }
    socket.uncork();
  }

  /** The next id, wrapping after 65535 and skipping any still outstanding. */
  private allocateId(): number {
    // Terminates: at most MAX_IN_FLIGHT of the 65,536 ids are outstanding.
    do {
      this.nextTransactionId = (this.nextTransactionId + 1) & 0xffff;
    } while (this.inFlight.has(this.nextTransactionId));
    return this.nextTransactionId;
  }

  private onTimeout(tx: Transaction): void {
    const id = tx.transactionId;
    if (id === undefined || this.inFlight.get(id) !== tx) return;
    this.inFlight.delete(id);
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
    this.pump();
  }

  private onFrame(frame: MbapFrame): void {
    const tx = this.inFlight.get(frame.transactionId);
    if (tx === undefined) {
      this.counters.discardedFrames++;
      this.log.debug({ transactionId: frame.transactionId }, "discarded late or stray frame");
      return;
    }
    this.timers.clearTimeout(tx.timer);
    this.inFlight.delete(frame.transactionId);
    this.settle(tx, frame);
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
      settleRead(tx, frame.payload);
    }
  }

  private failAll(err: Error): void {
    const pending = [...this.inFlight.values(), ...this.queue];
    this.inFlight.clear();
    this.queue = [];
    for (const tx of pending) {
      if (tx.timer !== undefined) this.timers.clearTimeout(tx.timer);
      tx.reject(err);
    }
  }
}

// A read's byte count must fit the quantity asked. A reply that does not fit fails its own
// request only: the MBAP length still framed it, so the stream stays in step.
function settleRead(tx: Transaction, payload: Buffer): void {
  const { functionCode, payload: asked } = tx.req;
  if (functionCode < 1 || functionCode > 4 || asked.length !== 4) {
    tx.resolve(payload);
    return;
  }
  try {
    parseReadResponse(functionCode, asked.readUInt16BE(2), payload);
  } catch (err) {
    tx.reject(err as Error);
    return;
  }
  tx.resolve(payload);
}
