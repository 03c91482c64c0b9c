// The config check's rule that one bus is one connection: a serial port, or a serial device
// server's port, named twice would put two requests on one RTU bus at once.

import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/load.js";

const TAGS = [{ name: "t", address: 0 }];

function rtu(name: string, path: string) {
  return { name, type: "rtu", path, devices: [{ name: `${name}Dev`, groups: [{ tags: TAGS }] }] };
}

function overTcp(name: string, host: string, port = 4001) {
  const devices = [{ name: `${name}Dev`, groups: [{ tags: TAGS }] }];
  return { name, type: "rtuOverTcp", host, port, devices };
}

function sensor(name: string, path: string) {
  return { name, path, format: "csv", fields: [{ name: "v", index: 0 }] };
}

function problems(connections: unknown[], sensors: unknown[] = []): string[] {
  try {
    parseConfig({ connections, sensors }, "test.yaml", "/");
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

const ONE_BUS =
  "one bus is one connection, so that one request is on it at a time: list its units as " +
  "devices of that connection";

describe("one bus, one connection", () => {
  it("refuses two connections on one serial port, naming the first", () => {
    expect(problems([rtu("a", "/dev/ttyUSB0"), rtu("b", "/dev/ttyUSB0")])).toEqual([
      `connections.1.path: /dev/ttyUSB0 is already used by connection "a" ` +
        `(connections.0.path); ${ONE_BUS}`,
    ]);
    expect(problems([rtu("a", "/dev/ttyUSB0"), rtu("b", "/dev/ttyUSB1")])).toEqual([]);
  });

  it("refuses a sensor on a bus's port, and two sensors on one port", () => {
    const port = "/dev/ttyS1";
    expect(problems([rtu("a", port)], [sensor("s", port)])).toEqual([
      `sensors.0.path: ${port} is already used by connection "a" (connections.0.path); ` +
        "a serial port carries one connection or one sensor",
    ]);
    expect(problems([], [sensor("s", port), sensor("t", port)])).toEqual([
      `sensors.1.path: ${port} is already used by sensor "s" (sensors.0.path); ` +
        "a serial port carries one connection or one sensor",
    ]);
    expect(problems([rtu("a", port)], [sensor("s", "/dev/ttyS2")])).toEqual([]);
  });

  it("refuses two RTU-over-TCP connections to one device server port, host case aside", () => {
    expect(problems([overTcp("a", "moxa.local"), overTcp("b", "MOXA.local")])).toEqual([
      `connections.1.host: moxa.local:4001 is already used by connection "a" ` +
        `(connections.0.host); ${ONE_BUS}`,
    ]);
    // Each port of a multi-port device server is a bus of its own.
    expect(problems([overTcp("a", "moxa.local"), overTcp("b", "moxa.local", 4002)])).toEqual([]);
  });

  it("leaves Modbus TCP connections to one server alone: they carry transaction ids", () => {
    const tcp = (name: string) => ({
      name,
      host: "10.0.0.5",
      devices: [{ name: `${name}Dev`, groups: [{ tags: TAGS }] }],
    });
    expect(problems([tcp("a"), tcp("b")])).toEqual([]);
  });
});
