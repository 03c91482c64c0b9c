// Modbus RTU over a byte line (a serial port, or a TCP socket to a serial device server).
// RTU has no transaction id: a reply is recognised only by coming next and naming the unit
// and function asked. So exactly one transaction is on the line at a time, requests queue,
// every frame is preceded by the bus's silent interval, and after a timeout the line must
// stay quiet for that interval before the next request, so that a late reply is flushed
// rather than taken as the answer to the next request. Only a reply from the unit asked is
// taken, so a late reply can be mistaken only for that unit's own next answer: after a
// timeout, the unit's next request waits one more timeout (other units go meanwhile), and a
// late reply in that time finds no request of its unit in flight and is dropped.
//
// LIMITATION: a reply later than twice its timeout, from the same unit to the same function,
// is indistinguishable from the reply to that unit's next request and is taken for it. RTU
// offers nothing to tell them apart; a timeout above the device's worst response time is
// the remedy.

import type { Health } from "../../core/lifecycle.js";
import { type Logger, silentLogger } from "../../core/logger.js";
import type { ByteLine } from "./byte-line.js";
import {
  ModbusDisconnectedError,
  ModbusError,
  ModbusExceptionError,
  ModbusTimeoutError,
} from "./errors.js";
import { EchoFilter } from "./rtu-echo.js";
import * as rtu from "./rtu-frame.js";
import { backoffDelay, systemTimers, type Timers } from "./tcp-transport.js";
import type { ModbusTransport, PduRequest } from "./transport.js";

/** Functions that may go to unit 0: writes, which devices carry out without answering. */
const BROADCAST_FUNCTIONS = new Set([5, 6, 15, 16]);
/** The PDU limit (253) less the function code. */
const MAX_PAYLOAD = 252;
// LIMITATION: the connection config has no key for it, so slow devices cannot be given more;
// a `turnaroundMs` beside `frameGapMs` in the schema would lift it.
/** Time devices get to act on a broadcast before the next frame (the spec suggests 100-200). */
export const DEFAULT_TURNAROUND_MS = 100;

export interface RtuTransportOptions {
  line: ByteLine;
  /** Silence before each frame; 0 over TCP, where the device server frames for us. */
  frameGapMs: number;
  /** Time the line needs to send `bytes` (0 over TCP): a timeout starts once it is sent. */
  transmitMs?: (bytes: number) => number;
  /** Remove the adapter's echo of each request before looking for the reply. */
  echo?: boolean;
  /** How long a broadcast holds the bus; no reply comes. */
  turnaroundMs?: number;
  reconnect: { initialDelayMs: number; maxDelayMs: number };
  logger?: Logger;
  timers?: Timers;
  /** Source of jitter in [0, 1). */
  random?: () => number;
  /** Monotonic milliseconds, for the silent interval. */
  now?: () => number;
}

interface Transaction {
  req: PduRequest;
  frame: Buffer;
  resolve(payload: Buffer): void;
  reject(err: Error): void;
  timer?: unknown;
}

export class RtuTransport implements ModbusTransport {
  readonly name: string;
  readonly endpoint: string;
  private readonly line: ByteLine;
  private readonly log: Logger;
  private readonly timers: Timers;
  private readonly now: () => number;
  private readonly parser = new rtu.RtuResponseParser();
  private readonly echo = new EchoFilter();
  private stopped = true;
  private isOpen = false;
  private queue: Transaction[] = [];
  private inFlight: Transaction | undefined;
  /** When the line last carried a byte, either way: the silent interval runs from there. */
  private busUntil = Number.NEGATIVE_INFINITY;
  private gapTimer: unknown;
  /** Units whose request timed out: their next waits till then (monotonic ms). */
  private readonly heldUntil = new Map<number, number>();
  private reconnectTimer: unknown;
  /** Index into the backoff sequence; reset when the line opens. */
  private retries = 0;
  /** The line's loss has been logged: further failed attempts go to debug. */
  private downLogged = false;
  private everOpen = false;
  private lastError: string | undefined;
  private readonly counters = { requests: 0, timeouts: 0, exceptions: 0, reconnects: 0 };
  private readonly reconnectListeners = new Set<() => void>();

  constructor(private readonly options: RtuTransportOptions) {
    this.line = options.line;
    this.endpoint = options.line.endpoint;
    this.name = `modbus-rtu ${this.endpoint}`;
    this.log = (options.logger ?? silentLogger()).child({ endpoint: this.endpoint });
    this.timers = options.timers ?? systemTimers;
    this.now = options.now ?? (() => performance.now());
  }

  get connected(): boolean {
    return this.isOpen;
  }

  /** Resolves after the first attempt to open the line, whether or not it succeeded. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer("reconnectTimer");
    this.failAll(new ModbusDisconnectedError(this.endpoint, "transport stopped"));
    this.isOpen = false;
    await this.line.close();
    this.log.info("modbus transport stopped");
  }

  health(): Health {
    return {
      status: this.isOpen ? "ok" : "down",
      connected: this.isOpen,
      queued: this.queue.length + (this.inFlight ? 1 : 0),
      lastError: this.lastError,
      ...this.counters,
      crcErrors: this.parser.crcErrors,
      garbageBytes: this.parser.garbageBytes,
      echoDiscarded: this.echo.discarded,
      echoMismatches: this.echo.mismatches,
    };
  }

  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  request(req: PduRequest): Promise<Buffer> {
    const refusal = refuse(req);
    if (refusal !== undefined) return Promise.reject(refusal);
    if (this.stopped || !this.isOpen) {
      const why = this.stopped ? "transport stopped" : this.lastError;
      return Promise.reject(new ModbusDisconnectedError(this.endpoint, why));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const frame = rtu.encodeRtuFrame(req.unitId, req.functionCode, req.payload);
      this.queue.push({ req, frame, resolve, reject });
      this.pump();
    });
  }

  // Line

  private async open(): Promise<void> {
    this.reconnectTimer = undefined;
    try {
      await this.line.open({
        data: (chunk) => this.onData(chunk),
        closed: (reason) => this.onLineClosed(reason),
      });
    } catch (err) {
      this.lastError = (err as Error).message;
      this.onOpenFailed();
      return;
    }
    if (this.stopped) {
      await this.line.close();
      return;
    }
    this.onOpened();
  }

  private onOpened(): void {
    const again = this.everOpen;
    if (again) this.counters.reconnects++;
    const wasDown = this.downLogged;
    this.everOpen = true;
    this.isOpen = true;
    this.retries = 0;
    this.downLogged = false;
    this.lastError = undefined;
    this.parser.clear();
    // Nothing is known of the line before it opened; bytes from now on restart the interval,
    // and no reply from before can still come.
    this.busUntil = Number.NEGATIVE_INFINITY;
    this.heldUntil.clear();
    this.log.info(
      { reconnects: this.counters.reconnects },
      wasDown ? "modbus line back" : "modbus line open",
    );
    if (again) for (const listener of this.reconnectListeners) listener();
  }

  private onOpenFailed(): void {
    if (this.stopped) return;
    if (!this.downLogged) {
      this.log.warn(
        { err: this.lastError },
        "modbus line cannot be opened; retrying in background",
      );
      this.downLogged = true;
    } else {
      this.log.debug({ err: this.lastError, attempt: this.retries }, "modbus line open failed");
    }
    this.scheduleOpen();
  }

  private onLineClosed(reason: string): void {
    this.isOpen = false;
    this.lastError = reason;
    this.failAll(new ModbusDisconnectedError(this.endpoint, reason));
    if (this.stopped) return;
    this.log.warn({ err: reason }, "modbus line lost");
    this.downLogged = true;
    this.scheduleOpen();
  }

  private scheduleOpen(): void {
    const delay = backoffDelay(
      this.retries,
      this.options.reconnect,
      this.options.random ?? Math.random,
    );
    this.retries++;
    this.reconnectTimer = this.timers.setTimeout(() => {
      if (!this.stopped) void this.open();
    }, delay);
  }

  // Transactions

  /** Sends the first queued request whose unit is not held, once the line is quiet. */
  private pump(): void {
    // Recomputed on every call: a request just queued may be free to go before a held one.
    this.clearTimer("gapTimer");
    if (this.inFlight !== undefined || !this.isOpen || this.queue.length === 0) return;
    const now = this.now();
    const next = this.queue.findIndex((tx) => this.heldFor(tx.req.unitId, now) <= 0);
    // Every queued unit held: wait for the first to be free.
    const held =
      next < 0 ? Math.min(...this.queue.map((tx) => this.heldFor(tx.req.unitId, now))) : 0;
    const wait = Math.max(held, this.busUntil + this.options.frameGapMs - now);
    if (wait > 0) {
      this.gapTimer = this.timers.setTimeout(() => {
        this.gapTimer = undefined;
        this.pump();
      }, wait);
      return;
    }
    const [tx] = this.queue.splice(next, 1);
    if (tx !== undefined) this.send(tx);
  }

  private heldFor(unitId: number, now: number): number {
    const until = this.heldUntil.get(unitId);
    if (until === undefined) return 0;
    if (until > now) return until - now;
    this.heldUntil.delete(unitId);
    return 0;
  }

  private send(tx: Transaction): void {
    const { unitId, functionCode, timeoutMs } = tx.req;
    const sendingMs = this.options.transmitMs?.(tx.frame.length) ?? 0;
    this.inFlight = tx;
    this.counters.requests++;
    this.busUntil = this.now() + sendingMs;
    if (this.options.echo) this.echo.arm(tx.frame);

    if (unitId === 0) {
      this.parser.clear();
      const holdMs = sendingMs + (this.options.turnaroundMs ?? DEFAULT_TURNAROUND_MS);
      tx.timer = this.timers.setTimeout(() => this.finish(tx, Buffer.alloc(0)), holdMs);
    } else {
      this.parser.expect(unitId, functionCode);
      // The timeout runs from the end of transmission, not from queueing: a queued request
      // is only waiting for earlier ones, each bounded by its own timeout.
      tx.timer = this.timers.setTimeout(() => this.onTimeout(tx), sendingMs + timeoutMs);
    }
    this.line.write(tx.frame);
  }

  private onData(chunk: Buffer): void {
    // Any byte on the line, ours or not, restarts the silent interval.
    this.busUntil = Math.max(this.busUntil, this.now());
    const rest = this.echo.filter(chunk);
    if (rest.length === 0) return;
    const reply = this.parser.push(rest);
    if (reply !== undefined) this.onReply(reply);
  }

  private onReply(reply: rtu.RtuResponse): void {
    const tx = this.inFlight;
    if (tx === undefined) return;
    if (reply.functionCode === (tx.req.functionCode | 0x80)) {
      this.counters.exceptions++;
      const { unitId, functionCode } = tx.req;
      this.finish(tx, new ModbusExceptionError(unitId, functionCode, reply.payload[0] ?? 0));
    } else {
      this.finish(tx, reply.payload);
    }
  }

  private onTimeout(tx: Transaction): void {
    if (this.inFlight !== tx) return;
    this.counters.timeouts++;
    // Let the line go quiet before the next request: bytes that still come in meanwhile
    // (a slow device's reply) keep it busy and are dropped as garbage by the parser.
    this.busUntil = Math.max(this.busUntil, this.now());
    this.heldUntil.set(tx.req.unitId, this.now() + tx.req.timeoutMs);
    this.finish(tx, new ModbusTimeoutError(tx.req.unitId, tx.req.timeoutMs));
  }

  /** Ends the transaction in flight with a payload or an error, then sends the next. */
  private finish(tx: Transaction, outcome: Buffer | Error): void {
    if (this.inFlight !== tx) return;
    this.timers.clearTimeout(tx.timer);
    this.inFlight = undefined;
    this.parser.clear();
    this.echo.disarm();
    if (outcome instanceof Error) tx.reject(outcome);
    else tx.resolve(outcome);
    this.pump();
  }

  private failAll(err: Error): void {
    this.clearTimer("gapTimer");
    const pending = this.inFlight ? [this.inFlight, ...this.queue] : this.queue;
    this.inFlight = undefined;
    this.queue = [];
    this.parser.clear();
    this.echo.disarm();
    for (const tx of pending) {
      if (tx.timer !== undefined) this.timers.clearTimeout(tx.timer);
      tx.reject(err);
    }
  }

  private clearTimer(which: "gapTimer" | "reconnectTimer"): void {
    if (this[which] !== undefined) this.timers.clearTimeout(this[which]);
    this[which] = undefined;
  }
}

/** Why a request cannot go on an RTU line at all, or undefined when it can. */
function refuse(req: PduRequest): Error | undefined {
  const { unitId, functionCode, payload } = req;
  if (unitId === 0 && !BROADCAST_FUNCTIONS.has(functionCode)) {
    return new ModbusError(
      `unit 0 is the RTU broadcast address: only writes (functions 5, 6, 15, 16) may be ` +
        `broadcast, and function ${functionCode} would get no reply`,
    );
  }
  if (rtu.responseShape(functionCode) === undefined) {
    return new ModbusError(`function ${functionCode}: its RTU response length is not known`);
  }
  if (payload.length > MAX_PAYLOAD) {
    return new ModbusError(`request payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  }
  return undefined;
}
