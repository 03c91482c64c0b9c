// Which GPIO driver the outputs use: onoff where the kernel offers GPIO, else the virtual
// driver. Asking for onoff where there is none is a config error, not a silent fallback.

import { isAbsolute, join } from "node:path";
import type { Config } from "../config/schema.js";
import type { Logger } from "../core/logger.js";
import type { GpioDriver } from "../outputs/gpio.js";
import { loadOnoff, OnoffGpioDriver, type OnoffModule } from "../outputs/onoff-driver.js";
import { VirtualGpioDriver } from "../outputs/virtual-driver.js";

/** `load` finds the onoff module where the kernel exposes GPIO; a test hands in a fake. */
export async function chooseGpioDriver(
  config: Config,
  logger: Logger,
  load: () => OnoffModule | undefined = loadOnoff,
): Promise<GpioDriver> {
  const { driver, stateFile } = config.outputs;
  const file = isAbsolute(stateFile) ? stateFile : join(config.gateway.stateDir, stateFile);
  if (driver === "virtual") return new VirtualGpioDriver(file, logger);

  const onoff = load();
  if (onoff) return new OnoffGpioDriver(onoff);
  if (driver === "onoff") {
    throw new Error("outputs.driver is onoff but this machine exposes no GPIO (/sys/class/gpio)");
  }
  logger.info({ stateFile: file }, "no GPIO on this machine: using virtual outputs");
  return new VirtualGpioDriver(file, logger);
}
