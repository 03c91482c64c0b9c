// The counters' last readings outlive a restart (saved beside the models every minute and at
// stop), so the first step after a gateway restart is an increase, not unknown, and the
// restart is never read as a PLC reset.

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../core/logger.js";
import { type CounterState, loadCounterState, saveCounterState } from "../preprocess/counter.js";

const SAVE_EVERY_MS = 60_000;

export class CounterMemory {
  state: CounterState = {};
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  private get path(): string {
    return join(this.dir, "counters.json");
  }

  async start(): Promise<void> {
    try {
      this.state = await loadCounterState(this.path);
    } catch (err) {
      const why = (err as Error).message;
      this.logger.warn({ err: why }, "counter state unreadable: starting blind");
    }
    this.timer = setInterval(() => void this.save(), SAVE_EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.save();
  }

  private async save(): Promise<void> {
    if (!Object.keys(this.state).length) return;
    try {
      await mkdir(this.dir, { recursive: true });
      await saveCounterState(this.path, this.state);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, "counter state not saved");
    }
  }
}
