// What the poller keeps per device: its health, its channel, the holes it found, counters;
// the qualities of readings it did not poll; and its transitions, each told once (a log line,
// and an event for down, up and degraded), never a line per failed poll.

import type { DeviceConfig } from "../../config/schema.js";
import type { Clock } from "../../core/clock.js";
import type { EventSink } from "../../core/events.js";
import type { Logger } from "../../core/logger.js";
import { AddressHoles } from "./address-holes.js";
import { DeviceChannel } from "./device-channel.js";
import { DeviceHealth, type Transition } from "./device-health.js";
import type { BadQuality } from "./tag-readings.js";
import type { Timers } from "./tcp-transport.js";
import type { ModbusTransport } from "./transport.js";

export interface DeviceRun {
  device: DeviceConfig;
  health: DeviceHealth;
  channel: DeviceChannel;
  /** Addresses the unit refused; forgotten when it comes back from being degraded. */
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

export interface DeviceRunDeps {
  transport: ModbusTransport;
  timeoutMs: number;
  clock: Clock;
  timers: Timers;
}

export function createDeviceRun(device: DeviceConfig, deps: DeviceRunDeps): DeviceRun {
  return {
    device,
    health: new DeviceHealth(device.degrade),
    channel: new DeviceChannel({ device, ...deps }),
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

/**
 * The quality of a request left out because the unit did not answer an earlier one: the
 * same reason (and exception code) as that failure.
 */
export function notPolled(device: DeviceRun, quality: BadQuality, probe: boolean): BadQuality {
  if (probe) return skippedQuality(device);
  const detail = `not polled: unit ${device.device.unitId} did not answer an earlier request`;
  return { ...quality, detail };
}

/** A degraded unit's readings carry the reason of the failure that degraded it. */
export function skippedQuality(device: DeviceRun): BadQuality {
  const { reason, exceptionCode } = device.lastUnreachable ?? { reason: "timeout" as const };
  const detail = "skipped: unit degraded";
  return exceptionCode === undefined
    ? { status: "bad", reason, detail }
    : { status: "bad", reason, exceptionCode, detail };
}

export function isDown(d: DeviceRun): boolean {
  return d.health.state === "down" || d.health.state === "degraded";
}

/** The device's part of the poller's health. */
export function deviceHealth(d: DeviceRun): Record<string, unknown> {
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
    peakInFlight: d.channel.peakInFlight,
    holes: d.holes.summary(),
  };
}

export interface AnnounceDeps {
  log: Logger;
  events: EventSink;
  clock: Clock;
  endpoint: string;
}

/** A log line for each transition; an event for down, up and degraded. */
export function announce(run: DeviceRun, transitions: Transition[], deps: AnnounceDeps): void {
  const { name, unitId } = run.device;
  const { log, events, clock } = deps;
  for (const t of transitions) {
    if (t === "answering") log.debug({ device: name }, "device answering");
    if (t === "up") {
      log.info({ device: name }, "device up");
      const message = `device ${name} answering again`;
      events.event({ ts: clock.now(), kind: "device.up", source: name, message });
    }
    // A device that never answered since start is reported down too: an operator wants to know.
    if (t === "down") {
      log.warn({ device: name, unitId, err: run.lastError }, "device down");
      events.event({
        ts: clock.now(),
        kind: "device.down",
        source: name,
        message: `device ${name} (unit ${unitId}) not answering: ${run.lastError ?? "unknown"}`,
        data: { unitId, endpoint: deps.endpoint },
      });
    }
    if (t === "degraded") {
      const { skipMs, consecutiveFailures } = run.health;
      log.warn({ device: name, unitId, skipMs, consecutiveFailures }, "device degraded");
      const after = `after ${consecutiveFailures} failed polls`;
      events.event({
        ts: clock.now(),
        kind: "device.degraded",
        source: name,
        message: `device ${name} (unit ${unitId}) skipped for ${skipMs} ms ${after}`,
        data: { unitId, skipMs, consecutiveFailures },
      });
    }
  }
}
