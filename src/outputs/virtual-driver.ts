// GPIO where there is none: every level change is logged and the levels of all lines are
// kept in a small JSON state file (written atomically), so a test or an operator can see
// what a real output would show.

import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "../core/logger.js";
import type { GpioDriver, GpioLine, Level } from "./gpio.js";

interface LineState {
  gpio: number;
  level: Level;
  changedAt: string;
}

export class VirtualGpioDriver implements GpioDriver {
  readonly kind = "virtual" as const;
  private readonly lines: Record<string, LineState> = {};
  private saveFailing = false;

  constructor(
    private readonly stateFile: string,
    private readonly logger: Logger,
  ) {}

  async open(name: string, gpio: number, initial: Level): Promise<GpioLine> {
    this.set(name, gpio, initial);
    return {
      write: async (level) => this.set(name, gpio, level),
      release: async () => {},
    };
  }

  private set(name: string, gpio: number, level: Level): void {
    if (this.lines[name]?.level === level) return;
    this.lines[name] = { gpio, level, changedAt: new Date().toISOString() };
    this.logger.debug({ line: name, gpio, value: level }, "virtual output set");
    this.save();
  }

  /**
   * The state file only mirrors the levels: on a read-only or full disk the virtual lines go
   * on switching (and logging), and the file catches up at the next change it can write.
   */
  private save(): void {
    try {
      mkdirSync(dirname(this.stateFile), { recursive: true });
      const tmp = `${this.stateFile}.tmp`;
      writeFileSync(tmp, `${JSON.stringify({ lines: this.lines }, null, 2)}\n`);
      renameSync(tmp, this.stateFile);
      if (this.saveFailing) this.logger.info({ file: this.stateFile }, "output state file written");
      this.saveFailing = false;
    } catch (err) {
      if (!this.saveFailing) {
        const fields = { file: this.stateFile, err: (err as Error).message };
        this.logger.warn(fields, "output state file cannot be written; levels kept in memory");
      }
      this.saveFailing = true;
    }
  }
}
