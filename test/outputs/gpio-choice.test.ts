// The GPIO driver the daemon picks, and the onoff driver against a fake onoff module: no
// machine here exposes GPIO, so the kernel side is the one thing faked.

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RuleState } from "../../src/alerts/rule.js";
import { configSchema, outputLineSchema } from "../../src/config/schema.js";
import { silentLogger } from "../../src/core/logger.js";
import { chooseGpioDriver } from "../../src/daemon/gpio-choice.js";
import type { Level } from "../../src/outputs/gpio.js";
import type { OnoffModule } from "../../src/outputs/onoff-driver.js";
import { Outputs } from "../../src/outputs/outputs.js";

function config(driver: string) {
  const stateDir = mkdtempSync(join(tmpdir(), "pg-gpio-"));
  return configSchema.parse({ gateway: { stateDir }, outputs: { driver } });
}

/** A fake onoff: records every line's direction, writes and release. */
function fakeOnoff() {
  const calls: string[] = [];
  const mod: OnoffModule = {
    Gpio: Object.assign(
      class {
        constructor(
          private readonly gpio: number,
          direction: string,
        ) {
          calls.push(`open ${gpio} ${direction}`);
        }
        writeSync(level: Level) {
          calls.push(`write ${this.gpio} ${level}`);
        }
        unexport() {
          calls.push(`release ${this.gpio}`);
        }
      },
      { accessible: true },
    ),
  };
  return { mod, calls };
}

describe("GPIO driver choice", () => {
  it("uses onoff where the kernel has GPIO, virtual where not", async () => {
    const { mod } = fakeOnoff();
    expect((await chooseGpioDriver(config("auto"), silentLogger(), () => mod)).kind).toBe("onoff");
    expect((await chooseGpioDriver(config("auto"), silentLogger(), () => undefined)).kind).toBe(
      "virtual",
    );
    expect((await chooseGpioDriver(config("virtual"), silentLogger(), () => mod)).kind).toBe(
      "virtual",
    );
  });

  it("refuses onoff on a machine without GPIO instead of faking outputs", async () => {
    await expect(
      chooseGpioDriver(config("onoff"), silentLogger(), () => undefined),
    ).rejects.toThrow(/outputs.driver is onoff but this machine exposes no GPIO/);
  });

  it("drives onoff lines: opened safe, written on change, released on stop", async () => {
    const { mod, calls } = fakeOnoff();
    const driver = await chooseGpioDriver(config("onoff"), silentLogger(), () => mod);
    const lines = [
      outputLineSchema.parse({ name: "red", gpio: 22, activeOn: ["alarm"] }),
      outputLineSchema.parse({ name: "permit", gpio: 5, activeOn: ["ok"], safeLevel: 1 }),
      outputLineSchema.parse({ name: "blind", gpio: 6, activeOn: ["unknown"] }),
    ];
    const outputs = new Outputs(lines, driver, silentLogger());
    await outputs.start();
    await outputs.apply(new Map<string, RuleState>([["eff", "alarm"]]));
    await outputs.apply(new Map<string, RuleState>([["eff", "unknown"]]));
    await outputs.stop();
    expect(calls).toEqual([
      // "low"/"high" set direction and level at once, so a line never glitches at open.
      "open 22 low",
      "open 5 high",
      "open 6 low",
      "write 22 1",
      "write 5 0",
      // Unknown: red and permit go to their safe levels, the "cannot judge" lamp lights.
      "write 22 0",
      "write 5 1",
      "write 6 1",
      "write 6 0",
      "release 22",
      "release 5",
      "release 6",
    ]);
  });
});

describe("virtual outputs' state file", () => {
  it("is written under the state directory", async () => {
    const c = config("virtual");
    const driver = await chooseGpioDriver(c, silentLogger());
    const line = await driver.open("red", 22, 0);
    await line.write(1);
    const state = JSON.parse(readFileSync(join(c.gateway.stateDir, "outputs.json"), "utf8"));
    expect(state.lines.red).toMatchObject({ gpio: 22, level: 1 });
  });
});
