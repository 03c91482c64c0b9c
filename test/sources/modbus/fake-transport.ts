// A Modbus transport fake for poller tests: one transaction in flight at a time, in the order
// asked, like the real transports (or, with `pipelined`, every request at once, as a server
// that accepts pipelined requests); registers and coils per unit; units that never answer
// (they time out after the request's own timeout, on fake time), addresses that answer
// exception 2, and a record of every request with its start and end. `reconnect()` tells
// the listeners the connection came back. Also a poller on it, on fake time, and its stop.

import { vi } from "vitest";
import type { ConnectionConfig } from "../../../src/config/schema.js";
import type { Clock } from "../../../src/core/clock.js";
import type { GatewayEvent } from "../../../src/core/events.js";
import { silentLogger } from "../../../src/core/logger.js";
import type { Reading } from "../../../src/core/reading.js";
import { ModbusExceptionError, ModbusTimeoutError } from "../../../src/sources/modbus/errors.js";
import { ModbusPoller } from "../../../src/sources/modbus/poller.js";
import type { ModbusTransport, PduRequest } from "../../../src/sources/modbus/transport.js";

/** Wall and monotonic time as fake timers set them. */
export const fakeClock: Clock = { now: () => Date.now(), monotonic: () => Date.now() };

/** A poller of `connection` on `transport`, its readings and events pushed as they come. */
export function pollerOn(
  connection: ConnectionConfig,
  transport: ModbusTransport,
  readings: Reading[] = [],
  events: GatewayEvent[] = [],
): ModbusPoller {
  return new ModbusPoller({
    connection,
    transport,
    sink: { write: (batch) => readings.push(...batch) },
    events: { event: (e) => events.push(e) },
    clock: fakeClock,
    logger: silentLogger(),
  });
}

/** Stops a poller: stop() waits for the request in flight, which only fake time finishes. */
export async function stopOnFakeTime(poller: ModbusPoller | undefined): Promise<void> {
  const stopping = poller?.stop();
  await vi.advanceTimersByTimeAsync(10_000);
  await stopping;
}

export interface Sent {
  at: number;
  end?: number;
  req: PduRequest;
  address: number;
  quantity: number;
}

export class FakeTransport implements ModbusTransport {
  readonly name = "fake";
  readonly endpoint = "tcp://fake:502";
  readonly connected = true;
  readonly registers = Buffer.alloc(400);
  readonly coils = Buffer.alloc(8);
  readonly requests: Sent[] = [];
  /** Units that never answer. */
  readonly dead = new Set<number>();
  /** Register addresses any read touching answers exception 2. */
  readonly illegal = new Set<number>();
  delayMs = 0;
  /** The next this-many requests time out, then requests are answered again. */
  timeouts = 0;
  failWith: Error | undefined;
  reply: ((req: PduRequest) => Buffer) | undefined;
  /** Answer requests concurrently instead of one after the other. */
  pipelined = false;
  inFlight = 0;
  peakInFlight = 0;
  private lane: Promise<unknown> = Promise.resolve();
  private readonly reconnectListeners = new Set<() => void>();

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  health() {
    return { status: "ok" as const };
  }

  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  reconnect(): void {
    for (const listener of this.reconnectListeners) listener();
  }

  request(req: PduRequest): Promise<Buffer> {
    if (this.pipelined) return this.answer(req);
    const turn = this.lane.then(() => this.answer(req));
    this.lane = turn.catch(() => undefined);
    return turn;
  }

  private async answer(req: PduRequest): Promise<Buffer> {
    const address = req.payload.readUInt16BE(0);
    const quantity = req.payload.readUInt16BE(2);
    const sent: Sent = { at: Date.now(), req, address, quantity };
    this.requests.push(sent);
    this.inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    try {
      if (this.dead.has(req.unitId) || this.timeouts > 0) {
        this.timeouts = Math.max(0, this.timeouts - 1);
        await sleep(req.timeoutMs);
        throw new ModbusTimeoutError(req.unitId, req.timeoutMs);
      }
      if (this.delayMs > 0) await sleep(this.delayMs);
      if (this.failWith) throw this.failWith;
      if (this.reply) return this.reply(req);
      for (let a = address; a < address + quantity && req.functionCode > 2; a++) {
        if (this.illegal.has(a)) throw new ModbusExceptionError(req.unitId, req.functionCode, 2);
      }
      const data =
        req.functionCode <= 2
          ? this.bits(address, quantity)
          : this.registers.subarray(address * 2, (address + quantity) * 2);
      return Buffer.concat([Buffer.from([data.length]), data]);
    } finally {
      sent.end = Date.now();
      this.inFlight--;
    }
  }

  private bits(address: number, quantity: number): Buffer {
    const out = Buffer.alloc(Math.ceil(quantity / 8));
    for (let i = 0; i < quantity; i++) {
      const bit = ((this.coils[(address + i) >> 3] ?? 0) >> ((address + i) & 7)) & 1;
      out[i >> 3] = (out[i >> 3] ?? 0) | (bit << (i & 7));
    }
    return out;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
