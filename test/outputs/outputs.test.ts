import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RuleState } from "../../src/alerts/rule.js";
import { outputLineSchema } from "../../src/config/schema.js";
import { silentLogger } from "../../src/core/logger.js";
import { Outputs } from "../../src/outputs/outputs.js";
import { VirtualGpioDriver } from "../../src/outputs/virtual-driver.js";

const lines = [
  outputLineSchema.parse({ name: "green", gpio: 17, activeOn: ["ok"] }),
  outputLineSchema.parse({ name: "red", gpio: 22, activeOn: ["alarm"], rule: "eff" }),
  // Fail-safe wiring: energized while healthy, de-energized (safe) on alarm or unknown.
  outputLineSchema.parse({ name: "permit", gpio: 5, activeOn: ["ok", "warning"], safeLevel: 0 }),
];

function levels(file: string): Record<string, number> {
  const state = JSON.parse(readFileSync(file, "utf8")) as {
    lines: Record<string, { level: number }>;
  };
  return Object.fromEntries(Object.entries(state.lines).map(([k, v]) => [k, v.level]));
}

describe("outputs on the virtual driver", () => {
  it("start safe, follow the rules, and return to safe on stop", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "pg-out-")), "outputs.json");
    const driver = new VirtualGpioDriver(file, silentLogger());
    const outputs = new Outputs(lines, driver, silentLogger());
    await outputs.start();
    expect(levels(file)).toEqual({ green: 0, red: 0, permit: 0 });

    await outputs.apply(new Map<string, RuleState>([["eff", "ok"]]));
    expect(levels(file)).toEqual({ green: 1, red: 0, permit: 1 });

    await outputs.apply(new Map<string, RuleState>([["eff", "alarm"]]));
    expect(levels(file)).toEqual({ green: 0, red: 1, permit: 0 });

    await outputs.apply(new Map<string, RuleState>([["eff", "unknown"]]));
    expect(levels(file)).toEqual({ green: 0, red: 0, permit: 0 });

    await outputs.apply(new Map<string, RuleState>([["eff", "warning"]]));
    await outputs.stop();
    expect(levels(file)).toEqual({ green: 0, red: 0, permit: 0 });
  });
});
