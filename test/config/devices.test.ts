// The config check's rules for connections and devices that span several fields: unit ids
// a read never gets an answer from, data bits RTU does not have, pipelining settings that
// contradict each other, and settings worth a warning.

import { describe, expect, it } from "vitest";
import { ConfigError, configWarnings, parseConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import { connectionInFlight } from "../../src/sources/modbus/source.js";

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

describe("units reserved on a serial line", () => {
  it("warns about 248..255 on an RTU line, not on Modbus TCP", () => {
    for (const line of [RTU, RTU_OVER_TCP]) {
      const { config, problems } = check(line, { unitId: 250 });
      expect(problems).toEqual([]);
      expect(warnings(config)).toEqual([
        "connections.0.devices.0.unitId: unit 250 is reserved on a Modbus serial line " +
          "(device addresses are 1..247); few devices answer it",
      ]);
      expect(warnings(check(line, { unitId: 247 }).config)).toEqual([]);
    }
    // 255 is the usual unit of a Modbus TCP device itself.
    const tcp = check(TCP, { unitId: 255 });
    expect(tcp.problems).toEqual([]);
    expect(warnings(tcp.config)).toEqual([]);
  });
});

describe("data bits", () => {
  it("are 8 on an RTU line, where 7 would be Modbus ASCII", () => {
    expect(check({ ...RTU, dataBits: 7 }).problems).toEqual([
      "connections.0.dataBits: Modbus RTU has 8 data bits (7 is Modbus ASCII, not supported)",
    ]);
    expect(check({ ...RTU, dataBits: 8 }).problems).toEqual([]);
  });
});

describe("maxInFlight", () => {
  it("is refused above 1 on an RTU line, which carries one request at a time", () => {
    for (const line of [RTU, RTU_OVER_TCP]) {
      expect(check(line, { maxInFlight: 4 }).problems).toEqual([
        "connections.0.devices.0.maxInFlight: 4, but an RTU line carries one request at a " +
          "time; give 1",
      ]);
    }
  });

  it("is refused above the connection's own limit, or with a pause between requests", () => {
    expect(check({ ...TCP, maxInFlight: 2 }, { maxInFlight: 4 }).problems).toEqual([
      "connections.0.devices.0.maxInFlight: 4 exceeds its connection's maxInFlight 2: raise " +
        "the connection's, or lower the device's",
    ]);
    expect(check(TCP, { maxInFlight: 4, requestDelayMs: 20 }).problems).toEqual([
      "connections.0.devices.0.maxInFlight: 4 with requestDelayMs 20: a pause between " +
        "requests means one at a time; give maxInFlight 1 or requestDelayMs 0",
    ]);
  });

  it("gives the connection its largest device's limit unless it has its own", () => {
    const one = check(TCP, { maxInFlight: 4 }).config?.connections[0];
    expect(one?.type === "tcp" && connectionInFlight(one)).toBe(4);
    const own = check({ ...TCP, maxInFlight: 8 }, { maxInFlight: 4 }).config?.connections[0];
    expect(own?.type === "tcp" && connectionInFlight(own)).toBe(8);
    const plain = check(TCP).config?.connections[0];
    expect(plain?.type === "tcp" && connectionInFlight(plain)).toBe(1);
  });

  it("warns when the connection's limit is more than its devices ever use", () => {
    const { config, problems } = check({ ...TCP, maxInFlight: 4 });
    expect(problems).toEqual([]);
    expect(warnings(config)).toEqual([
      "connections.0.maxInFlight: 4, but its devices never have more than 1 requests in " +
        "flight together: to pipeline a device's requests, give the device a maxInFlight",
    ]);
  });
});
