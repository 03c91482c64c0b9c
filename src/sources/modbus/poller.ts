// Polls every device group of one connection on its own interval and turns the responses
// into readings. Ticks are laid on the monotonic clock from the start time, so intervals do
// not drift; a cycle that runs past its next tick skips the ticks it missed and counts them.

import type { ConnectionConfig, DeviceConfig, GroupConfig } from "../../config/schema.js";
import type { Clock } from "../../core/clock.js";
import type { EventSink } from "../../core/events.js";
import type { Component, Health } from "../../core/lifecycle.js";
import type { Logger } from "../../core/logger.js";
import type { Quality, Reading, ReadingSink } from "../../core/reading.js";
import { buildReadRequest, decodeTag, parseReadResponse } from "./codec.js";
import { ModbusDisconnectedError, ModbusExceptionError, ModbusTimeoutError } from "./errors.js";
import { planReads, type ReadRequest } from "./planner.js";
import { systemTimers, type Timers } from "./tcp-transport.js";
import type { ModbusTransport } from "./transport.js";

export interface ModbusPollerDeps {
  connection: ConnectionConfig;
  transport: ModbusTransport;
  sink: ReadingSink;
  events: EventSink;
  clock: Clock;
  logger: Logger;
  timers?: Timers;
}

type DeviceState = "unknown" | "up" | "down";

interface DeviceRun {
  device: DeviceConfig;
  state: DeviceState;
  lastGoodTs: number | undefined;
  lastError: string | undefined;
  /** Completed poll cycles, over all the device's groups. */
  polls: number;
  /** Cycles in which at least one request failed. */
  failures: number;
  /** Ticks skipped because a cycle ran past them. */
  overruns: number;
}

interface GroupRun {
  device: DeviceRun;
  group: GroupConfig;
  requests: ReadRequest[];
  startedAt: number;
  tick: number;
  timer?: unknown;
  cycle?: Promise<void>;
}

/** Whether a failed request still proves the device is answering. */
type Outcome = "good" | "answered" | "unreachable";

export class ModbusPoller implements Component {
  readonly name: string;
  private readonly log: Logger;
  private readonly timers: Timers;
  private devices: DeviceRun[] = [];
  private groups: GroupRun[] = [];
  private stopped = true;
  private completedCycles = 0;

  constructor(private readonly deps: ModbusPollerDeps) {
    this.name = `poller ${deps.connection.name}`;
    this.log = deps.logger;
    this.timers = deps.timers ?? systemTimers;
  }

  /** Completed poll cycles over all groups; a watchdog checks that it keeps moving. */
  get progress(): number {
    return this.completedCycles;
  }

  /** Plans every group (throws naming the tag a device's caps cannot read), then polls. */
  async start(): Promise<void> {
    const devices: DeviceRun[] = [];
    const groups: GroupRun[] = [];
    for (const device of this.deps.connection.devices) {
      const run: DeviceRun = {
        device,
        state: "unknown",
        lastGoodTs: undefined,
        lastError: undefined,
        polls: 0,
        failures: 0,
        overruns: 0,
      };
      devices.push(run);
      for (const group of device.groups) {
        const requests = planGroup(device, group);
        groups.push({ device: run, group, requests, startedAt: 0, tick: 0 });
      }
    }

    this.devices = devices;
    this.groups = groups;
    this.stopped = false;
    const now = this.deps.clock.monotonic();
    for (const run of groups) {
      run.startedAt = now;
      this.schedule(run, 0);
    }
    this.log.info({ devices: devices.length, groups: groups.length }, "poller started");
  }

  /** Stops scheduling and waits for cycles in progress to finish their current request. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const run of this.groups) {
      if (run.timer !== undefined) this.timers.clearTimeout(run.timer);
      run.timer = undefined;
    }
    await Promise.all(this.groups.map((run) => run.cycle));
    this.log.info("poller stopped");
  }

  health(): Health {
    const down = this.devices.filter((d) => d.state === "down").length;
    const status = down === 0 ? "ok" : down === this.devices.length ? "down" : "degraded";
    const devices = Object.fromEntries(
      this.devices.map((d) => [
        d.device.name,
        {
          up: d.state === "up",
          state: d.state,
          lastGoodTs: d.lastGoodTs,
          lastError: d.lastError,
          polls: d.polls,
          failures: d.failures,
          overruns: d.overruns,
        },
      ]),
    );
    return { status, progress: this.completedCycles, devices };
  }

  // Scheduling

  private schedule(run: GroupRun, tick: number): void {
    run.tick = tick;
    const due = run.startedAt + tick * run.group.pollIntervalMs;
    const delay = Math.max(0, due - this.deps.clock.monotonic());
    run.timer = this.timers.setTimeout(() => {
      run.timer = undefined;
      run.cycle = this.runCycle(run);
    }, delay);
  }

  private async runCycle(run: GroupRun): Promise<void> {
    try {
      await this.poll(run);
    } catch (err) {
      // A bug in decoding or in the sink must not stop the schedule.
      this.log.error({ err, group: run.group.name }, "poll cycle failed");
    }
    this.completedCycles++;
    if (this.stopped) return;

    const elapsed = this.deps.clock.monotonic() - run.startedAt;
    const next = Math.max(run.tick + 1, Math.floor(elapsed / run.group.pollIntervalMs) + 1);
    const skipped = next - run.tick - 1;
    if (skipped > 0) {
      run.device.overruns += skipped;
      this.log.debug({ group: run.group.name, skipped }, "poll cycle overran");
    }
    this.schedule(run, next);
  }

  // Polling

  private async poll(run: GroupRun): Promise<void> {
    const outcomes: Outcome[] = [];
    for (const request of run.requests) {
      if (this.stopped) return;
      outcomes.push(await this.execute(run.device, request));
    }
    const device = run.device;
    device.polls++;
    if (outcomes.some((o) => o !== "good")) device.failures++;
    if (outcomes.some((o) => o !== "unreachable")) this.markUp(device);
    else this.markDown(device);
  }

  /** One read request: exactly one sink.write with a reading for each of its tags. */
  private async execute(run: DeviceRun, request: ReadRequest): Promise<Outcome> {
    const { device } = run;
    const { connection, transport, clock, sink } = this.deps;
    let readings: Reading[];
    let outcome: Outcome;
    try {
      const response = await transport.request({
        unitId: device.unitId,
        functionCode: request.functionCode,
        payload: buildReadRequest(request.functionCode, request.address, request.quantity),
        timeoutMs: device.timeoutMs ?? connection.timeoutMs,
      });
      const ts = clock.now();
      const block = parseReadResponse(request.functionCode, request.quantity, response);
      readings = request.tags.map((p) => decodeReading(device.name, p, block, ts));
      run.lastGoodTs = ts;
      outcome = "good";
    } catch (err) {
      const quality = qualityOf(err);
      const ts = clock.now();
      readings = request.tags.map((p) => badReading(device.name, p.tag.name, ts, quality));
      run.lastError = quality.detail;
      outcome = isUnreachable(quality.reason) ? "unreachable" : "answered";
    }
    sink.write(readings);
    return outcome;
  }

  private markUp(run: DeviceRun): void {
    const previous = run.state;
    run.state = "up";
    if (previous === "up") return;
    if (previous === "unknown") {
      this.log.debug({ device: run.device.name }, "device answering");
      return;
    }
    this.log.info({ device: run.device.name }, "device up");
    this.deps.events.event({
      ts: this.deps.clock.now(),
      kind: "device.up",
      source: run.device.name,
      message: `device ${run.device.name} answering again`,
    });
  }

  // A device that never answered since start is reported down too: an operator wants to know.
  private markDown(run: DeviceRun): void {
    if (run.state === "down") return;
    run.state = "down";
    const { name, unitId } = run.device;
    this.log.warn({ device: name, unitId, err: run.lastError }, "device down");
    this.deps.events.event({
      ts: this.deps.clock.now(),
      kind: "device.down",
      source: name,
      message: `device ${name} (unit ${unitId}) not answering: ${run.lastError ?? "unknown"}`,
      data: { unitId, endpoint: this.deps.transport.endpoint },
    });
  }
}

function planGroup(device: DeviceConfig, group: GroupConfig): ReadRequest[] {
  try {
    return planReads(group.tags, device);
  } catch (err) {
    const where = `device ${device.name} group ${group.name}`;
    throw new RangeError(`${where}: ${(err as Error).message}`);
  }
}

function isUnreachable(reason: string): boolean {
  return reason === "timeout" || reason === "disconnected";
}

type BadQuality = Extract<Quality, { status: "bad" }>;

function qualityOf(err: unknown): BadQuality {
  const detail = err instanceof Error ? err.message : String(err);
  if (err instanceof ModbusTimeoutError) return { status: "bad", reason: "timeout", detail };
  if (err instanceof ModbusDisconnectedError) {
    return { status: "bad", reason: "disconnected", detail };
  }
  if (err instanceof ModbusExceptionError) {
    return { status: "bad", reason: "exception", exceptionCode: err.exceptionCode, detail };
  }
  // A ModbusResponseError, or anything unforeseen: the answer could not be turned into values.
  return { status: "bad", reason: "decode", detail };
}

function badReading(device: string, tag: string, ts: number, quality: Quality): Reading {
  return { tag: `${device}.${tag}`, ts, value: null, quality };
}

// NaN or infinity from a float register usually means the instrument has no value (sensor
// fault, not ready); it is stored as a bad reading rather than a number the model would eat.
function decodeReading(
  device: string,
  planned: ReadRequest["tags"][number],
  block: Buffer,
  ts: number,
): Reading {
  const tag = `${device}.${planned.tag.name}`;
  try {
    const value = decodeTag(planned.tag, block, planned.offset);
    if (typeof value === "number" && !Number.isFinite(value)) {
      return badReading(device, planned.tag.name, ts, {
        status: "bad",
        reason: "decode",
        detail: `not a finite number (${value})`,
      });
    }
    return { tag, ts, value, quality: { status: "good" } };
  } catch (err) {
    const detail = (err as Error).message;
    return badReading(device, planned.tag.name, ts, { status: "bad", reason: "decode", detail });
  }
}
