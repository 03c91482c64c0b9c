// Real GPIO lines through onoff (the kernel's sysfs GPIO interface).
// LIMITATION: sysfs numbering; on Raspberry Pi kernels from 6.6 the sysfs number of a BCM
// line is offset (often 512 + n). Configure the sysfs number; a libgpiod driver would lift it.

import { createRequire } from "node:module";
import type { GpioDriver, GpioLine, Level } from "./gpio.js";

export interface OnoffGpio {
  writeSync(level: Level): void;
  unexport(): void;
}
export interface OnoffModule {
  Gpio: {
    new (gpio: number, direction: "out" | "high" | "low"): OnoffGpio;
    accessible: boolean;
  };
}

/** The onoff module when this machine exposes GPIO, else undefined. */
export function loadOnoff(): OnoffModule | undefined {
  try {
    const mod = createRequire(import.meta.url)("onoff") as OnoffModule;
    return mod.Gpio.accessible ? mod : undefined;
  } catch {
    return undefined;
  }
}

export class OnoffGpioDriver implements GpioDriver {
  readonly kind = "onoff" as const;

  constructor(private readonly onoff: OnoffModule) {}

  async open(_name: string, gpio: number, initial: Level): Promise<GpioLine> {
    // "high"/"low" set the direction and the level in one step, so the line never glitches.
    const line = new this.onoff.Gpio(gpio, initial ? "high" : "low");
    return {
      write: async (level) => line.writeSync(level),
      release: async () => line.unexport(),
    };
  }
}
