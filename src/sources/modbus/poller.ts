// Polls every device group of one connection on its own interval and turns the responses
// into readings. Ticks are laid on the monotonic clock from the start time, so intervals do
// not drift; a cycle that runs past its next tick skips the ticks it missed and counts them.
// A unit that stops answering costs its neighbours at most one timeout at a time: its poll
// stops at the first request without an answer, and after a few such polls it is degraded
// (skipped, then probed; see device-health.ts).

import type { ConnectionConfig, DeviceConfig, GroupConfig } from "../../config/schema.js";
import type { Clock } from "../../core/clock.js";
import type { EventSink } from "../../core/events.js";
import type { Component, Health } from "../../core/lifecycle.js";
import type { Logger } from "../../core/logger.js";
import type { Reading, ReadingSink } from "../../core/reading.js";
import { AddressHoles } from "./address-holes.js";
import { DeadbandFilter } from "./deadband.js";
import { DeviceChannel } from "./device-channel.js";
import { DeviceHealth, type Transition } from "./device-health.js";
import { type PlannedTag, planReads, type ReadRequest } from "./planner.js";
import { readSplitting, type SplitResult } from "./read-splitter.js";
import {
  type BadQuality,
  badReadings,
  decodeResponse,
  isUnreachable,
  qualityOf,
} from "./tag-readings.js";
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

interface DeviceRun {
  device: DeviceConfig;
  health: DeviceHealth;
  channel: DeviceChannel;
  /** Addresses the unit refused, kept for the life of the poller. */
  holes: AddressHoles;
  lastGoodTs: number | undefined;
  lastError: string | undefined;
  /** Why the unit last went unanswered: what its skipped readings say. */
  lastUnreachable: BadQuality | undefined;
  /** Completed poll cycles, over all the device's groups. */
  polls: number;
  /** Cycles in which at least one request failed. */
  failures: number;
  /** Cycles not polled because the unit was degraded. */
  skipped: number;
  /** Ticks skipped because a cycle ran past them. */
  overruns: number;
}

interface GroupRun {
  device: DeviceRun;
  group: GroupConfig;
  requests: ReadRequest[];
  /** The holes' version the requests were planned with. */
  planVersion: number;
  startedAt: number;
  tick: number;
  timer?: unknown;
  cycle?: Promise<void>;
}

/** What one request, with its splits, said about the unit. */
interface Tally {
  answered: boolean;
  failed: boolean;
  unreachable?: BadQuality;
}

export class ModbusPoller implements Component {
  readonly name: string;
  private readonly log: Logger;
  private readonly timers: Timers;
  private readonly deadband = new DeadbandFilter();
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

  /**
   * Plans every group, then polls. Throws naming the tag when a device's caps cannot read it
   * or its address lies below the device's addressBase.
   */
  async start(): Promise<void> {
    const devices = this.deps.connection.devices.map((device) => this.deviceRun(device));
    const groups = devices.flatMap((run) =>
      run.device.groups.map((group) => ({
        device: run,
        group,
        requests: planGroup(run.device, group, run.holes),
        planVersion: run.holes.version,
        startedAt: 0,
        tick: 0,
      })),
    );

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
    const down = this.devices.filter((d) => d.health.state === "down" || isDegraded(d)).length;
    const status = down === 0 ? "ok" : down === this.devices.length ? "down" : "degraded";
    const devices = Object.fromEntries(this.devices.map((d) => [d.device.name, deviceHealth(d)]));
    return {
      status,
      progress: this.completedCycles,
      suppressed: this.deadband.suppressed,
      devices,
    };
  }

  private deviceRun(device: DeviceConfig): DeviceRun {
    const { connection, transport, clock } = this.deps;
    const timeoutMs = device.timeoutMs ?? connection.timeoutMs;
    return {
      device,
      health: new DeviceHealth(device.degrade),
      channel: new DeviceChannel({ device, transport, timeoutMs, clock, timers: this.timers }),
      holes: new AddressHoles(),
      lastGoodTs: undefined,
      lastError: undefined,
      lastUnreachable: undefined,
      polls: 0,
      failures: 0,
      skipped: 0,
      overruns: 0,
    };
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
    const device = run.device;
    if (run.planVersion !== device.holes.version) {
      run.requests = planGroup(device.device, run.group, device.holes);
      run.planVersion = device.holes.version;
    }
    const admission = device.health.admit(this.deps.clock.monotonic());
    if (admission === "skip") {
      for (const request of run.requests) this.writeBad(device, request.tags, skipped(device));
      device.skipped++;
      return;
    }

    let answered = false;
    let failed = false;
    let cut: BadQuality | undefined;
    for (const request of run.requests) {
      if (this.stopped) return;
      if (cut !== undefined) {
        this.writeBad(device, request.tags, cut);
        continue;
      }
      // A probe is one request, without retries; an answer lets the rest of the poll go on.
      const retries = admission === "probe" ? 0 : undefined;
      const send = (r: ReadRequest) => device.channel.send(r, retries);
      const result = await readSplitting(request, send, device.holes, isUnreachable);
      const tally = this.record(device, result);
      answered ||= tally.answered;
      failed ||= tally.failed;
      if (tally.unreachable !== undefined) cut = notPolled(device, tally.unreachable, admission);
    }

    device.polls++;
    if (failed) device.failures++;
    const now = this.deps.clock.monotonic();
    this.transitions(device, answered ? device.health.answered() : device.health.unanswered(now));
  }

  /** Readings for everything a split read sent or left untried; what it says of the unit. */
  private record(device: DeviceRun, result: SplitResult): Tally {
    const name = device.device.name;
    const tally: Tally = { answered: false, failed: result.untried.length > 0 };
    for (const { request, ...outcome } of result.done) {
      const ts = this.deps.clock.now();
      if ("response" in outcome) {
        this.write(request.tags, decodeResponse(name, request, outcome.response, ts));
        device.lastGoodTs = ts;
        tally.answered = true;
        continue;
      }
      const quality = qualityOf(outcome.error);
      this.write(request.tags, badReadings(name, request.tags, ts, quality));
      device.lastError = quality.detail;
      tally.failed = true;
      if (isUnreachable(outcome.error)) {
        tally.unreachable = quality;
        device.lastUnreachable = quality;
      } else {
        tally.answered = true;
      }
    }
    // Untried requests only ever follow one the unit did not answer.
    const cut = notPolled(device, tally.unreachable ?? skipped(device), "poll");
    for (const request of result.untried) this.writeBad(device, request.tags, cut);
    return tally;
  }

  private writeBad(device: DeviceRun, tags: readonly PlannedTag[], quality: BadQuality): void {
    const ts = this.deps.clock.now();
    this.write(tags, badReadings(device.device.name, tags, ts, quality));
  }

  /** One sink.write per request, of the readings the tags' deadbands let through. */
  private write(tags: readonly PlannedTag[], readings: Reading[]): void {
    const now = this.deps.clock.monotonic();
    const kept = readings.filter((r, i) => {
      const tag = tags[i]?.tag;
      return tag === undefined || this.deadband.pass(tag, r, now);
    });
    if (kept.length > 0) this.deps.sink.write(kept);
  }

  // Transitions: a log line each, and an event for down and up; never a line per failed poll.

  private transitions(run: DeviceRun, transitions: Transition[]): void {
    const { name, unitId } = run.device;
    const { events, clock, transport } = this.deps;
    for (const t of transitions) {
      if (t === "answering") this.log.debug({ device: name }, "device answering");
      if (t === "up") {
        this.log.info({ device: name }, "device up");
        const message = `device ${name} answering again`;
        events.event({ ts: clock.now(), kind: "device.up", source: name, message });
      }
      // A device that never answered since start is reported down too: an operator wants to know.
      if (t === "down") {
        this.log.warn({ device: name, unitId, err: run.lastError }, "device down");
        events.event({
          ts: clock.now(),
          kind: "device.down",
          source: name,
          message: `device ${name} (unit ${unitId}) not answering: ${run.lastError ?? "unknown"}`,
          data: { unitId, endpoint: transport.endpoint },
        });
      }
      if (t === "degraded") {
        const { skipMs, consecutiveFailures } = run.health;
        this.log.warn({ device: name, unitId, skipMs, consecutiveFailures }, "device degraded");
        events.event({
          ts: clock.now(),
          kind: "device.degraded",
          source: name,
          message: `device ${name} (unit ${unitId}) skipped for ${skipMs} ms after ${consecutiveFailures} failed polls`,
          data: { unitId, skipMs, consecutiveFailures },
        });
      }
    }
  }
}

function planGroup(device: DeviceConfig, group: GroupConfig, holes: AddressHoles): ReadRequest[] {
  try {
    return planReads(group.tags, device, holes);
  } catch (err) {
    const where = `device ${device.name} group ${group.name}`;
    throw new RangeError(`${where}: ${(err as Error).message}`);
  }
}

/**
 * The quality of a request left out because the unit did not answer an earlier one: the
 * same reason (and exception code) as that failure.
 */
function notPolled(device: DeviceRun, quality: BadQuality, admission: string): BadQuality {
  if (admission === "probe") return skipped(device);
  const detail = `not polled: unit ${device.device.unitId} did not answer an earlier request`;
  return { ...quality, detail };
}

/** A degraded unit's readings carry the reason of the failure that degraded it. */
function skipped(device: DeviceRun): BadQuality {
  const { reason, exceptionCode } = device.lastUnreachable ?? { reason: "timeout" as const };
  const detail = "skipped: unit degraded";
  return exceptionCode === undefined
    ? { status: "bad", reason, detail }
    : { status: "bad", reason, exceptionCode, detail };
}

function isDegraded(run: DeviceRun): boolean {
  return run.health.state === "degraded";
}

function deviceHealth(d: DeviceRun): Record<string, unknown> {
  return {
    up: d.health.state === "up",
    state: d.health.state,
    lastGoodTs: d.lastGoodTs,
    lastError: d.lastError,
    polls: d.polls,
    failures: d.failures,
    skipped: d.skipped,
    overruns: d.overruns,
    requests: d.channel.sent,
    retries: d.channel.retried,
    holes: d.holes.summary(),
  };
}
