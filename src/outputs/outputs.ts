// Output lines follow rule states: each line is active at the states it lists and sits at
// its safe level at start, on stop, and whenever the state driving it is unknown (unless
// it lists unknown: a "cannot judge" lamp).

import { type RuleState, worst } from "../alerts/rule.js";
import type { OutputLineConfig } from "../config/schema.js";
import type { Component, Health } from "../core/lifecycle.js";
import type { Logger } from "../core/logger.js";
import type { GpioDriver, GpioLine, Level } from "./gpio.js";

export function levelFor(line: OutputLineConfig, state: RuleState): Level {
  if (line.activeOn.includes(state)) return line.activeLevel;
  if (state === "unknown") return line.safeLevel;
  return line.activeLevel === 1 ? 0 : 1;
}

export class Outputs implements Component {
  readonly name = "outputs";
  private readonly open = new Map<string, GpioLine>();
  private readonly levels = new Map<string, Level>();
  private writes = 0;
  private failures = 0;

  constructor(
    private readonly lines: OutputLineConfig[],
    private readonly driver: GpioDriver,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    for (const line of this.lines) {
      this.open.set(line.name, await this.driver.open(line.name, line.gpio, line.safeLevel));
      this.levels.set(line.name, line.safeLevel);
    }
    this.logger.info({ driver: this.driver.kind, lines: this.lines.length }, "outputs ready");
  }

  /** Drives every line from the current state of each rule. */
  async apply(states: ReadonlyMap<string, RuleState>): Promise<void> {
    const all = worst([...states.values()]);
    for (const line of this.lines) {
      const state = line.rule ? (states.get(line.rule) ?? "unknown") : all;
      await this.set(line, levelFor(line, state));
    }
  }

  async stop(): Promise<void> {
    for (const line of this.lines) await this.set(line, line.safeLevel);
    for (const handle of this.open.values()) await handle.release();
    this.open.clear();
    this.logger.info("outputs in safe state");
  }

  health(): Health {
    return {
      status: this.failures ? "degraded" : "ok",
      driver: this.driver.kind,
      levels: Object.fromEntries(this.levels),
      writes: this.writes,
      failures: this.failures,
    };
  }

  private async set(line: OutputLineConfig, level: Level): Promise<void> {
    const handle = this.open.get(line.name);
    if (!handle || this.levels.get(line.name) === level) return;
    try {
      await handle.write(level);
      this.levels.set(line.name, level);
      this.writes++;
      this.logger.info({ line: line.name, gpio: line.gpio, value: level }, "output changed");
    } catch (err) {
      this.failures++;
      this.logger.error({ line: line.name, err: (err as Error).message }, "output write failed");
    }
  }
}
