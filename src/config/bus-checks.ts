// Checks of how connections and sensors share the wires. Modbus RTU carries no transaction
// id, so plantgate keeps one request on a bus at a time, but only within one connection:
// two connections on one serial port (or on one serial device server's port) would each
// send their own request at once, and the replies would be taken for each other. A serial
// port carries one sensor's lines or one bus, never both.
//
// LIMITATION: ports are compared by name as written, so `/dev/ttyUSB0` and a
// `/dev/serial/by-id/…` link to it pass as two ports. Resolving the links would lift it,
// but only for adapters plugged in when the config is checked.

import type { Config } from "./schema.js";

interface Claim {
  /** How the wire is named in messages: a path, or host:port. */
  key: string;
  /** Field path of the claim, for the message. */
  where: string;
  /** Who claims it, for the message. */
  owner: string;
}

const ONE_BUS =
  "one bus is one connection, so that one request is on it at a time: list its units " +
  "as devices of that connection";
const ONE_PORT = "a serial port carries one connection or one sensor";

/** Wires claimed twice, each problem with the field path of the second claim. */
export function busProblems(config: Config): string[] {
  const problems: string[] = [];
  const claimed = new Map<string, Claim>();
  const claim = (wire: Claim, why: string) => {
    const first = claimed.get(wire.key);
    if (first === undefined) {
      claimed.set(wire.key, wire);
      return;
    }
    const by = `${first.owner} (${first.where})`;
    problems.push(`${wire.where}: ${wire.key} is already used by ${by}; ${why}`);
  };

  config.connections.forEach((conn, c) => {
    const owner = `connection "${conn.name}"`;
    if (conn.type === "rtu") {
      claim({ key: conn.path, where: `connections.${c}.path`, owner }, ONE_BUS);
    }
    if (conn.type === "rtuOverTcp") {
      // Host names are case-insensitive; a device server's port is one serial line.
      const key = `${conn.host.toLowerCase()}:${conn.port}`;
      claim({ key, where: `connections.${c}.host`, owner }, ONE_BUS);
    }
  });

  config.sensors.forEach((sensor, s) => {
    const owner = `sensor "${sensor.name}"`;
    claim({ key: sensor.path, where: `sensors.${s}.path`, owner }, ONE_PORT);
  });
  return problems;
}
