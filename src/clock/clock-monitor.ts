// Honest time. Gateways often boot without a real-time clock, with a stale time, until NTP
// steps it — sometimes backwards. The monitor compares the wall clock against the monotonic
// clock: a difference beyond the threshold is a jump, recorded as an event. It also tells
// when the wall clock is known to be synchronized (systemd-timesyncd's flag file), so that
// readings taken before can be marked.

import { existsSync } from "node:fs";
import { dirname } from "node:path";
import type { ClockConfig } from "../config/schema.js";
import type { Clock } from "../core/clock.js";
import type { EventSink } from "../core/events.js";
import type { Component, Health } from "../core/lifecycle.js";
import type { Logger } from "../core/logger.js";

export interface ClockListener {
  /** The wall clock moved by deltaMs more than monotonic time explains (negative: backwards). */
  clockJumped(deltaMs: number): void;
  clockSynchronized(): void;
}

/** Several listeners as one (the store and the in-memory windows), in the given order. */
export function clockListeners(...listeners: ClockListener[]): ClockListener {
  return {
    clockJumped: (deltaMs) => {
      for (const l of listeners) l.clockJumped(deltaMs);
    },
    clockSynchronized: () => {
      for (const l of listeners) l.clockSynchronized();
    },
  };
}

export class ClockMonitor implements Component {
  readonly name = "clock";
  private timer?: NodeJS.Timeout;
  private lastWall = 0;
  private lastMono = 0;
  private synced = false;
  private jumps = 0;

  constructor(
    private readonly config: ClockConfig,
    private readonly clock: Clock,
    private readonly listener: ClockListener,
    private readonly events: EventSink,
    private readonly logger: Logger,
    private readonly fileExists: (path: string) => boolean = existsSync,
  ) {}

  get synchronized(): boolean {
    return this.synced;
  }

  async start(): Promise<void> {
    this.lastWall = this.clock.now();
    this.lastMono = this.clock.monotonic();
    this.checkSync();
    this.timer = setInterval(() => this.check(), this.config.checkIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }

  health(): Health {
    return {
      status: this.synced ? "ok" : "degraded",
      synchronized: this.synced,
      jumps: this.jumps,
    };
  }

  /** One comparison of the two clocks; called by the timer, and by tests with a fake clock. */
  check(): void {
    const wall = this.clock.now();
    const mono = this.clock.monotonic();
    const delta = wall - this.lastWall - (mono - this.lastMono);
    this.lastWall = wall;
    this.lastMono = mono;
    if (Math.abs(delta) > this.config.jumpThresholdMs) this.jumped(wall, delta);
    if (!this.synced) this.checkSync();
  }

  private jumped(wall: number, delta: number): void {
    this.jumps++;
    const direction = delta < 0 ? "backwards" : "forwards";
    this.logger.warn({ deltaMs: Math.round(delta), direction }, "wall clock jumped");
    this.events.event({
      ts: wall,
      kind: "clock.jump",
      source: "clock",
      message: `wall clock jumped ${direction} by ${Math.round(Math.abs(delta))} ms`,
      data: { deltaMs: Math.round(delta) },
    });
    this.tell(() => this.listener.clockJumped(delta));
  }

  // The monitor runs on a timer: a listener that throws must not take the daemon down.
  private tell(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, "clock listener failed");
    }
  }

  private checkSync(): void {
    const file = this.config.syncedFile;
    if (!file) {
      this.markSynced("trusted by config");
      return;
    }
    if (this.fileExists(file)) {
      this.markSynced(`${file} present`);
      return;
    }
    // Without timesyncd there is no flag to wait for: say so once, and trust the clock.
    if (!this.fileExists(dirname(file))) {
      this.logger.warn(
        { syncedFile: file },
        "cannot tell whether the clock is synchronized: trusting it",
      );
      this.markSynced("no timesyncd");
    }
  }

  private markSynced(why: string): void {
    this.synced = true;
    this.logger.info({ why }, "wall clock synchronized");
    this.events.event({
      ts: this.clock.now(),
      kind: "clock.synchronized",
      source: "clock",
      message: `wall clock synchronized (${why})`,
    });
    this.tell(() => this.listener.clockSynchronized());
  }
}
