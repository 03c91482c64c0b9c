// Polls every device group of one connection on its own interval and turns the responses
// into readings. Ticks are laid on the monotonic clock from the start time, so intervals do
// not drift; a cycle that runs past its next tick skips the ticks it missed and counts them.
// A device's planned requests of a cycle go out up to its maxInFlight at once (one unless
// it pipelines; the transport keeps an RTU bus at one in all).
// A unit that stops answering costs its neighbours at most one timeout at a time: its poll
// stops at the first request without an answer, its next polls spend no retries, and after
// a few such polls it is degraded (skipped, then probed; see device-health.ts). A connection
// that comes back is news: its degraded units are probed at their next tick instead of
// waiting out their skip.

import type { ConnectionConfig, GroupConfig } from "../../config/schema.js";
import type { Clock } from "../../core/clock.js";
import type { EventSink } from "../../core/events.js";
import type { Component, Health } from "../../core/lifecycle.js";
import type { Logger } from "../../core/logger.js";
import type { Reading, ReadingSink } from "../../core/reading.js";
import { DeadbandFilter } from "./deadband.js";
import {
  announce,
  createDeviceRun,
  type DeviceRun,
  deviceHealth,
  isDown,
  notPolled,
  skippedQuality,
} from "./device-run.js";
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

/** What one cycle's requests said about the unit so far. */
interface Cycle {
  probe: boolean;
  /** The unit did not answer its last poll: its requests get no retries this cycle. */
  missedLast: boolean;
  answered: boolean;
  failed: boolean;
  /** Set once the unit did not answer: the quality of the requests not sent after it. */
  cut?: BadQuality;
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
  private unsubscribe: (() => void) | undefined;

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
    const { connection, transport, clock } = this.deps;
    const devices = connection.devices.map((device) => {
      const timeoutMs = device.timeoutMs ?? connection.timeoutMs;
      return createDeviceRun(device, { transport, timeoutMs, clock, timers: this.timers });
    });
    const groups = devices.flatMap((run) =>
      run.device.groups.map((group) => ({
        device: run,
        group,
        requests: planGroup(run, group),
        planVersion: run.holes.version,
        startedAt: 0,
        tick: 0,
      })),
    );

    this.devices = devices;
    this.groups = groups;
    this.stopped = false;
    this.unsubscribe = transport.onReconnect(() => this.onReconnect());
    const now = clock.monotonic();
    for (const run of groups) {
      run.startedAt = now;
      this.schedule(run, 0);
    }
    this.log.info({ devices: devices.length, groups: groups.length }, "poller started");
  }

  /** Stops scheduling and waits for cycles in progress to finish their current request. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const run of this.groups) {
      if (run.timer !== undefined) this.timers.clearTimeout(run.timer);
      run.timer = undefined;
    }
    await Promise.all(this.groups.map((run) => run.cycle));
    this.log.info("poller stopped");
  }

  health(): Health {
    const down = this.devices.filter(isDown).length;
    const status = down === 0 ? "ok" : down === this.devices.length ? "down" : "degraded";
    const devices = Object.fromEntries(this.devices.map((d) => [d.device.name, deviceHealth(d)]));
    return {
      status,
      progress: this.completedCycles,
      suppressed: this.deadband.suppressed,
      devices,
    };
  }

  private onReconnect(): void {
    for (const run of this.devices) {
      if (run.health.reconnected()) {
        this.log.debug({ device: run.device.name }, "connection back: probing at next poll");
      }
    }
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
      run.requests = planGroup(device, run.group);
      run.planVersion = device.holes.version;
    }
    const started = this.deps.clock.monotonic();
    const admission = device.health.admit(started);
    if (admission === "skip") {
      const quality = skippedQuality(device);
      for (const request of run.requests) this.writeBad(device, request.tags, quality);
      device.skipped++;
      return;
    }

    const probe = admission === "probe";
    const missedLast = device.health.state === "down";
    const cycle: Cycle = { probe, missedLast, answered: false, failed: false };
    const queue = [...run.requests];
    // A probe is one request, without retries; an answer lets the rest of the poll go on.
    if (cycle.probe) await this.readNext(device, queue, cycle);
    cycle.probe = false;
    // Up to maxInFlight lanes, each sending the next request once its last one settled.
    const lane = async () => {
      while (queue.length > 0 && !this.stopped) await this.readNext(device, queue, cycle);
    };
    const lanes = Math.min(device.device.maxInFlight, queue.length);
    // Every lane ends before the cycle does, even when one fails (a bug in the sink).
    const settled = await Promise.allSettled(Array.from({ length: lanes }, lane));
    const failure = settled.find((r) => r.status === "rejected");
    if (failure !== undefined) throw failure.reason;
    if (this.stopped) return;

    device.polls++;
    if (cycle.failed) device.failures++;
    // A skip runs from the start of the poll that failed, so probes come every skipMs.
    const health = device.health;
    const wasDegraded = health.state === "degraded";
    const transitions = cycle.answered ? health.answered() : health.unanswered(started);
    const { events, clock, transport } = this.deps;
    announce(device, transitions, { log: this.log, events, clock, endpoint: transport.endpoint });
    if (cycle.answered && wasDegraded) this.forgetHoles(device);
  }

  /** A unit back from a long outage may have a new map: its holes are learned afresh. */
  private forgetHoles(device: DeviceRun): void {
    if (device.holes.empty) return;
    const holes = device.holes.summary();
    device.holes.clear();
    this.log.info({ device: device.device.name, holes }, "address holes forgotten");
  }

  /** Reads the next request of `queue`, or writes it bad when the cycle was cut short. */
  private async readNext(device: DeviceRun, queue: ReadRequest[], cycle: Cycle): Promise<void> {
    const request = queue.shift();
    if (request === undefined) return;
    if (cycle.cut !== undefined) {
      this.writeBad(device, request.tags, cycle.cut);
      return;
    }
    // Retries are for a frame lost now and then. A unit that did not answer its last poll
    // gets none: each would hold the bus for another timeout while its neighbours wait.
    // LIMITATION: the first poll to fail still spends its retries, so when a unit dies a
    // neighbour with several requests per poll may wait up to retries + 1 of its timeouts
    // once; a retry sent only after the requests queued behind it would lift it.
    const retries = cycle.probe || cycle.missedLast ? 0 : undefined;
    const send = (r: ReadRequest) => device.channel.send(r, retries);
    const result = await readSplitting(request, send, device.holes, isUnreachable);
    const tally = this.record(device, result);
    cycle.answered ||= tally.answered;
    cycle.failed ||= tally.failed;
    if (tally.unreachable !== undefined) {
      cycle.cut ??= notPolled(device, tally.unreachable, cycle.probe);
    }
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
    const cut = notPolled(device, tally.unreachable ?? skippedQuality(device), false);
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
}

function planGroup(run: DeviceRun, group: GroupConfig): ReadRequest[] {
  try {
    return planReads(group.tags, run.device, run.holes);
  } catch (err) {
    const where = `device ${run.device.name} group ${group.name}`;
    throw new RangeError(`${where}: ${(err as Error).message}`);
  }
}
