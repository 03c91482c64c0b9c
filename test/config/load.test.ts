import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, substituteEnv } from "../../src/config/load.js";
import { configJsonSchema } from "../../src/config/schema.js";
import { repoRoot } from "../support/data.js";

function write(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "pg-cfg-")), "c.yaml");
  writeFileSync(file, text);
  return file;
}

const minimal = `
connections:
  - name: plc
    host: 10.0.0.5
    devices:
      - name: press
        groups:
          - tags:
              - { name: speed, address: 3 }
`;

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfig(write(text), env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("config", () => {
  it("fills defaults", () => {
    const c = loadConfig(write(minimal), {});
    const conn = c.connections[0];
    expect(conn?.type).toBe("tcp");
    expect(conn?.type === "tcp" && conn.port).toBe(502);
    expect(conn?.timeoutMs).toBe(500);
    const tag = conn?.devices[0]?.groups[0]?.tags[0];
    expect(tag).toMatchObject({
      table: "holdingRegister",
      type: "uint16",
      order: "ABCD",
      scale: 1,
    });
    expect(c.gateway.stateDir).toBe("/var/lib/plantgate");
    expect(c.store.synchronous).toBe("normal");
  });

  it("rejects unknown keys with the path of the field", () => {
    const p = problems(minimal.replace("host: 10.0.0.5", "host: 10.0.0.5\n    hots: x"));
    expect(p.join("\n")).toMatch(/connections\.0.*hots/);
  });

  it("lists every problem at once", () => {
    const bad = minimal
      .replace("address: 3", "address: -1, type: float33")
      .replace("name: plc", "name: 9plc");
    const p = problems(bad);
    expect(p.length).toBeGreaterThanOrEqual(3);
    expect(p.some((s) => s.startsWith("connections.0.name"))).toBe(true);
    expect(p.some((s) => s.includes("tags.0.address"))).toBe(true);
    expect(p.some((s) => s.includes("tags.0.type"))).toBe(true);
  });

  it("substitutes environment variables before validation", () => {
    const text = minimal.replace(
      "host: 10.0.0.5",
      "host: ${PLC_HOST}\n    port: ${PLC_PORT:-1502}",
    );
    const c = loadConfig(write(text), { PLC_HOST: "plc.local" });
    expect(c.connections[0]).toMatchObject({ type: "tcp", host: "plc.local", port: 1502 });
    expect(problems(text, {})).toEqual(["environment variable(s) not set: PLC_HOST"]);
    expect(substituteEnv("cost $$5 ${A}", { A: "x" }).text).toBe("cost $5 x");
    const open = problems(minimal.replace("host: 10.0.0.5", "host: ${PLC_HOST"));
    expect(open).toEqual([
      '"${PLC_HOST": a ${NAME} reference without its closing brace (write $$ for a literal $)',
    ]);
    // $$ escapes the brace's dollar: a literal "${X}" is no unterminated reference.
    const escaped = minimal.replace("address: 3", () => 'address: 3, unit: "$${X"');
    expect(problems(escaped)).toEqual([]);
  });

  it("lists the cross-field problems too when the schema refuses some fields", () => {
    const text = `
connections:
  - name: plc
    host: 10.0.0.5
    timeoutMs: fast
    devices:
      - name: press
        groups:
          - pollIntervalMS: 100
            tags:
              - { name: speed, address: 3 }
              - { name: count, address: 65535, type: uint32 }
              - { name: speed, address: 9 }
              - { name: broken, address: -4 }
learning: { target: press.speed, features: [press.sped, press.broken] }
alerts:
  rules: [{ name: r, signal: prediction, below: { warning: 10, alarm: 20 } }]
outputs:
  lines:
    - { name: a, gpio: 17, activeOn: [ok] }
    - { name: b, gpio: 17, activeOn: [alarm] }
`;
    const p = problems(text);
    expect(p).toEqual(
      expect.arrayContaining([
        "connections.0.timeoutMs: Invalid input: expected number, received string",
        'connections.0.devices.0.groups.0: Unrecognized key: "pollIntervalMS"',
        "alerts.rules.0.below.alarm: the alarm level must be lower than the warning level",
        "connections.0.devices.0: tag count: a uint32 at 65535 runs past 65535",
        'connections.0.devices.0.groups.0.tags.2.name: tag "press.speed" defined twice',
        'learning.features.0: no tag "press.sped"',
        "outputs.lines.1.gpio: gpio 17 already used by a",
      ]),
    );
    expect(p.some((x) => x.startsWith("connections.0.devices.0.groups.0.tags.3.address"))).toBe(
      true,
    );
    // The tag the schema refused is one problem, not a second one where it is named.
    expect(p.filter((x) => x.includes("press.broken"))).toEqual([]);
  });

  it("checks references across sections", () => {
    const text = `${minimal}
learning: { target: press.nope }
alerts:
  rules: [{ name: r, signal: press.gone, below: { alarm: 1 } }]
`;
    const p = problems(text);
    expect(p).toContain('learning.target: no tag "press.nope" (tags are device.tag)');
    expect(p).toContain('alerts.rules.0.signal: no tag "press.gone"');
  });

  it("refuses a bool type on a register table", () => {
    const p = problems(minimal.replace("address: 3", "address: 3, type: bool"));
    expect(p.join()).toMatch(/type bool needs table coil or discreteInput/);
  });

  it("types a coil or discrete input bool when no type is given", () => {
    const c = loadConfig(write(minimal.replace("address: 3", "address: 3, table: coil")), {});
    expect(c.connections[0]?.devices[0]?.groups[0]?.tags[0]?.type).toBe("bool");
    const p = problems(minimal.replace("address: 3", "address: 3, table: coil, type: int16"));
    expect(p.join()).toMatch(/a coil holds one bit: use type bool/);
  });

  it("accepts the shipped configs", () => {
    const c = loadConfig(join(repoRoot, "config/simulator.yaml"), {});
    expect(c.simulator.enabled).toBe(true);
    expect(c.learning?.target).toBe("line.efficiency");
    loadConfig(join(repoRoot, "config/plantgate.example.yaml"), { PLC_HOST: "192.0.2.10" });
  });

  it("prints a JSON Schema", () => {
    const schema = configJsonSchema() as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(["connections", "store", "learning", "alerts", "outputs"]),
    );
    // A connection without a type is tcp, as the loader reads it.
    const connections = schema.properties.connections as {
      items: { oneOf: Array<{ required: string[]; properties: { type: { const: string } } }> };
    };
    const variants = connections.items.oneOf;
    const tcp = variants.find((v) => v.properties.type.const === "tcp");
    expect(tcp?.required).not.toContain("type");
    expect(variants.find((v) => v.properties.type.const === "rtu")?.required).toContain("type");
  });
});

describe("config warnings", () => {
  it("refuses an empty file", () => {
    const empty = ["the file holds no settings (empty, or comments only)"];
    expect(problems("")).toEqual(empty);
    expect(problems("# plantgate\n# nothing yet\n")).toEqual(empty);
  });

  it("warns when there is nothing to poll", async () => {
    const { configWarnings } = await import("../../src/config/load.js");
    expect(configWarnings(loadConfig(write("gateway: { name: empty }\n"), {}))).toEqual([
      "(top): no connections and no sensors: nothing will be polled",
    ]);
  });

  it("warns when a timeout is not below the poll interval", async () => {
    const { configWarnings } = await import("../../src/config/load.js");
    const ok = loadConfig(write(minimal), {});
    expect(configWarnings(ok)).toEqual([]);
    const slow = loadConfig(
      write(minimal.replace("host: 10.0.0.5", "host: 10.0.0.5\n    timeoutMs: 1500")),
      {},
    );
    expect(configWarnings(slow)).toEqual([
      expect.stringMatching(/timeout 1500 ms is not below .* 1000 ms/),
    ]);
  });
});

describe("checks that mirror what the daemon would refuse at start", () => {
  it("refuses tags past the address space or wider than the read cap", () => {
    const past = problems(minimal.replace("address: 3", "address: 65535, type: uint32"));
    expect(past.join()).toMatch(/runs past 65535/);
    const capped = problems(
      minimal
        .replace("      - name: press", "      - name: press\n        maxRegistersPerRead: 1")
        .replace("address: 3", "address: 3, type: float32"),
    );
    expect(capped.join()).toMatch(/needs 2 registers/);
  });

  it("refuses a formula that does not parse or names an unknown tag", () => {
    const withFormula = (f: string) =>
      problems(
        `${minimal}\nlearning: { target: press.rate, formula: "${f}", features: [press.speed] }\n`,
      );
    expect(withFormula("1 + * 2").join()).toMatch(/learning\.formula/);
    expect(withFormula("rate(press.nosuch) * 60").join()).toMatch(/press\.nosuch/);
    expect(withFormula("press.constructor").join()).toMatch(/learning\.formula/);
    expect(withFormula("rate(press.speed) * 60")).toEqual([]);
  });
});

describe("outputs and rules that would misbehave", () => {
  const lines = (extra: string) => `${minimal}
alerts:
  rules:
    - { name: eff, signal: press.speed, below: { warning: 80, alarm: 70 } }
outputs:
  lines:
    - { name: red, gpio: 22, activeOn: [alarm] }
${extra}`;

  it("refuses two lines on one pin, two lines of one name, and pins out of range", () => {
    expect(problems(lines("    - { name: horn, gpio: 22, activeOn: [alarm] }"))).toContain(
      "outputs.lines.1.gpio: gpio 22 already used by red",
    );
    expect(problems(lines("    - { name: red, gpio: 23, activeOn: [ok] }"))).toContain(
      'outputs.lines.1.name: line "red" defined twice',
    );
    expect(problems(lines("    - { name: big, gpio: 99999, activeOn: [ok] }")).join()).toMatch(
      /outputs\.lines\.1\.gpio/,
    );
  });

  it("refuses warning and alarm levels in the wrong order", () => {
    const text = lines("").replace(
      "below: { warning: 80, alarm: 70 }",
      "below: { warning: 70, alarm: 78 }",
    );
    expect(problems(text)).toContain(
      "alerts.rules.0.below.alarm: the alarm level must be lower than the warning level",
    );
    const above = lines("").replace(
      "below: { warning: 80, alarm: 70 }",
      "above: { warning: 90, alarm: 95 }",
    );
    expect(problems(above)).toEqual([]);
  });
});
