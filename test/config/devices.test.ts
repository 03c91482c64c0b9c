// The config check's rules for connections and devices that span several fields: unit ids
// a read never gets an answer from, and settings worth a warning.

import { describe, expect, it } from "vitest";
import { ConfigError, configWarnings, parseConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";

const TAGS = [{ name: "speed", address: 3 }];

function check(connection: Record<string, unknown>, device: Record<string, unknown> = {}) {
  const doc = {
    connections: [
      {
        name: "line",
        ...connection,
        devices: [{ name: "press", ...device, groups: [{ tags: TAGS }] }],
      },
    ],
  };
  try {
    return { config: parseConfig(doc, "test.yaml", "/"), problems: [] as string[] };
  } catch (err) {
    if (err instanceof ConfigError) return { config: undefined, problems: err.problems };
    throw err;
  }
}

const warnings = (config: Config | undefined) => (config ? configWarnings(config) : []);

const RTU = { type: "rtu", path: "/dev/ttyUSB0" };
const RTU_OVER_TCP = { type: "rtuOverTcp", host: "10.0.0.9" };
const TCP = { host: "10.0.0.5" };

describe("unit 0", () => {
  it("is refused for a device read on an RTU line, with why and what to give", () => {
    for (const line of [RTU, RTU_OVER_TCP]) {
      const { problems } = check(line, { unitId: 0 });
      expect(problems).toEqual([
        "connections.0.devices.0.unitId: unit 0 is the RTU broadcast address, for writes " +
          "only: no unit answers a read sent to it; give the unit's own address (1..247)",
      ]);
    }
  });

  it("is accepted on Modbus TCP, with a warning about gateways", () => {
    const { config, problems } = check(TCP, { unitId: 0 });
    expect(problems).toEqual([]);
    expect(warnings(config)).toEqual([
      expect.stringMatching(/^connections\.0\.devices\.0\.unitId: unit 0 .* gateway .* 255/),
    ]);
  });

  it("leaves other units alone", () => {
    for (const line of [RTU, RTU_OVER_TCP, TCP]) {
      const { config, problems } = check(line, { unitId: 1 });
      expect(problems).toEqual([]);
      expect(warnings(config)).toEqual([]);
    }
  });
});
