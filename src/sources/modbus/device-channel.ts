// The way to one device (unit) on a shared connection. Its requests go out at most
// `maxInFlight` at a time (one unless the device pipelines), whichever group asked, in the
// order asked; so a unit that stops answering holds the connection's queue for at most one
// timeout at a time and its neighbours' requests pass in between. The device's pause
// between requests and its retries after a timeout are applied here.
//
// LIMITATION: the pause is per unit. A serial bus whose units need silence after any traffic
// (not only their own) would need it in the transport, per connection.

import type { DeviceConfig } from "../../config/schema.js";
import type { Clock } from "../../core/clock.js";
import { buildReadRequest } from "./codec.js";
import { isGatewayNoAnswer, ModbusTimeoutError } from "./errors.js";
import type { ReadRequest } from "./planner.js";
import type { Timers } from "./tcp-transport.js";
import type { ModbusTransport } from "./transport.js";

export interface DeviceChannelDeps {
  device: DeviceConfig;
  transport: ModbusTransport;
  timeoutMs: number;
  clock: Clock;
  timers: Timers;
}

export class DeviceChannel {
  /** Requests holding one of the device's maxInFlight slots. */
  private active = 0;
  /** Requests waiting for a slot, first come first served. */
  private readonly waiting: Array<() => void> = [];
  private lastEnd: number | undefined;
  /** Requests sent, retries included. */
  sent = 0;
  retried = 0;
  /** The most requests outstanding at once so far: evidence that pipelining happens. */
  peakInFlight = 0;

  constructor(private readonly deps: DeviceChannelDeps) {}

  /**
   * Sends one read and resolves with the response payload. A timeout, or a gateway's
   * exception 11 (its own timeout on the device behind it), is tried again up to `retries`
   * times (the device's, unless given); every other error is final at once.
   */
  async send(request: ReadRequest, retries = this.deps.device.retries): Promise<Buffer> {
    await this.slot();
    try {
      return await this.attempts(request, retries);
    } finally {
      this.release();
    }
  }

  private async slot(): Promise<void> {
    if (this.active < this.deps.device.maxInFlight) {
      this.active++;
    } else {
      // Woken by release(), which hands its slot over: `active` stays as it is.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.peakInFlight = Math.max(this.peakInFlight, this.active);
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.active--;
    else next();
  }

  private async attempts(request: ReadRequest, retries: number): Promise<Buffer> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(request);
      } catch (err) {
        if (!timedOut(err) || attempt >= retries) throw err;
        this.retried++;
      }
    }
  }

  private async once(request: ReadRequest): Promise<Buffer> {
    const { device, transport, timeoutMs, clock } = this.deps;
    await this.pause();
    this.sent++;
    try {
      return await transport.request({
        unitId: device.unitId,
        functionCode: request.functionCode,
        payload: buildReadRequest(request.functionCode, request.address, request.quantity),
        timeoutMs,
      });
    } finally {
      this.lastEnd = clock.monotonic();
    }
  }

  // The pause is taken before the next request rather than after each one, so the last
  // request of a poll does not hold its cycle open for nothing.
  private async pause(): Promise<void> {
    const { device, clock, timers } = this.deps;
    if (device.requestDelayMs === 0 || this.lastEnd === undefined) return;
    const wait = this.lastEnd + device.requestDelayMs - clock.monotonic();
    if (wait > 0) await new Promise<void>((resolve) => timers.setTimeout(resolve, wait));
  }
}

function timedOut(err: unknown): boolean {
  return err instanceof ModbusTimeoutError || (isGatewayNoAnswer(err) && err.exceptionCode === 11);
}
