// `plantgate read` and `plantgate scan`, the built CLI, against an independent peer: a pymodbus
// 3.0 TCP server serving units 1 and 3, with values written by pymodbus's payload builder;
// and the same over RTU on a pty pair, where the port may be held by another program.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SerialPort } from "serialport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { socatMissing, startPtyPair } from "../peers/pty-pair.js";
import { repoRoot, requireOrSkip } from "../support/data.js";
import { freePort } from "../support/ports.js";
import { type Proc, startProcess } from "../support/process.js";
import { pymodbusMissing, SYSTEM_PYTHON } from "../support/pymodbus.js";

const ENTRIES = [
  { table: "holdingRegister", address: 0, type: "float32", order: "CDAB", value: 21.5 },
  { table: "holdingRegister", address: 2, type: "int16", order: "ABCD", value: -1234 },
  { table: "holdingRegister", address: 3, type: "uint16", order: "BADC", value: 0x1234 },
  { table: "holdingRegister", address: 4, type: "int64", order: "DCBA", value: -1234567890123 },
  { table: "holdingRegister", address: 10, type: "string", order: "ABCD", value: "PUMP-7" },
  { table: "inputRegister", address: 0, type: "float64", order: "CDAB", value: Math.PI },
  { table: "inputRegister", address: 4, type: "uint32", order: "ABCD", value: 3000000000 },
  // uint64 above 2^53: must print exactly.
  {
    table: "inputRegister",
    address: 8,
    type: "uint64",
    order: "ABCD",
    value: "1152921504606846977",
  },
  { table: "coil", address: 3, type: "bool", value: [true, false, true] },
];

interface CliResult {
  code: number | null;
  stdout: string[];
  stderr: string;
}

/** Runs the built CLI to its end; stdio is read until closed, not only until exit. */
function cli(...args: string[]): Promise<CliResult> {
  return cliWith(process.env, ...args);
}

function cliWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, [join(repoRoot, "dist/cli/main.js"), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve) => {
    child.once("close", (code) => {
      resolve({ code, stdout: stdout.split("\n").filter(Boolean), stderr });
    });
  });
}

async function untilAccepting(port: number, peer: Proc): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (peer.child.exitCode !== null) throw new Error(`peer exited: ${peer.stderr.join("\n")}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("peer did not accept connections within 15 s");
}

const NO_STACK = /^\s+at /m;

describe.runIf(requireOrSkip(pymodbusMissing()))("read and scan against pymodbus", () => {
  let peer: Proc | undefined;
  let port = 0;
  const dir = mkdtempSync(join(tmpdir(), "plantgate-cli-"));
  const tcp = () => ["--host", "127.0.0.1", "--port", String(port)];

  beforeAll(async () => {
    port = await freePort();
    const spec = JSON.stringify({ units: [1, 3], entries: ENTRIES });
    const script = join(repoRoot, "test/peers/cli-peer.py");
    peer = startProcess(SYSTEM_PYTHON, [script, `${port}`, spec]);
    await untilAccepting(port, peer);
  });

  afterAll(async () => {
    await peer?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("prints address, raw registers and the value pymodbus wrote", async () => {
    const cases: Array<[string[], string[]]> = [
      [["-a", "0", "--type", "float32", "--order", "CDAB"], ["0  0x0000 0x41AC  21.5"]],
      [["-a", "2", "--type", "int16"], ["2  0xFB2E  -1234"]],
      [["-a", "3", "--order", "BADC"], ["3  0x3412  4660"]],
      [
        ["-a", "4", "--type", "int64", "--order", "DCBA"],
        ["4  0x35FB 0x048E 0xE0FE 0xFFFF  -1234567890123"],
      ],
      [["-a", "10", "--type", "string", "--length", "3"], ['10  0x5055 0x4D50 0x2D37  "PUMP-7"']],
      [
        ["-t", "inputRegister", "-a", "0", "--type", "float64", "--order", "CDAB"],
        [`0  0x2D18 0x5444 0x21FB 0x4009  ${Math.PI}`],
      ],
      [
        ["-t", "inputRegister", "-a", "8", "--type", "uint64"],
        ["8  0x1000 0x0000 0x0000 0x0001  1152921504606846977"],
      ],
      [
        ["-t", "coil", "-a", "3", "-n", "3"],
        ["3  1  true", "4  0  false", "5  1  true"],
      ],
    ];
    for (const [args, expected] of cases) {
      const r = await cli("read", ...tcp(), ...args);
      expect(r, args.join(" ")).toMatchObject({ code: 0, stdout: expected, stderr: "" });
    }
  });

  it("prints one line per value of a multi-value read", async () => {
    const r = await cli(
      "read",
      ...tcp(),
      "-t",
      "inputRegister",
      "-a",
      "4",
      "-n",
      "2",
      "--type",
      "uint32",
    );
    expect(r.stdout).toEqual(["4  0xB2D0 0x5E00  3000000000", "6  0x0000 0x0000  0"]);
  });

  it("reads through a config file's device: its connection and unit", async () => {
    const file = join(dir, "plant.yaml");
    writeFileSync(
      file,
      [
        "connections:",
        `  - { name: line1, host: 127.0.0.1, port: ${port}, devices: [`,
        "      { name: boiler, unitId: 3, addressBase: 1,",
        "        groups: [{ tags: [{ name: t, address: 1 }] }] } ] }",
      ].join("\n"),
    );
    const r = await cli(
      "read",
      "-c",
      file,
      "-d",
      "boiler",
      "-a",
      "1",
      "--type",
      "float32",
      "--order",
      "CDAB",
    );
    expect(r).toMatchObject({ code: 0, stdout: ["1  0x0000 0x41AC  21.5"] });
    const missing = await cli("read", "-c", file, "-d", "nope", "-a", "1");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no device "nope"');
  });

  it("keeps a config file's device within its own read caps", async () => {
    const file = join(dir, "caps.yaml");
    writeFileSync(
      file,
      [
        "connections:",
        `  - { name: line1, host: 127.0.0.1, port: ${port}, devices: [`,
        "      { name: meter, unitId: 1, maxRegistersPerRead: 4, maxBitsPerRead: 2,",
        "        groups: [{ tags: [{ name: t, address: 0 }] }] } ] }",
      ].join("\n"),
    );
    const meter = ["read", "-c", file, "-d", "meter"];
    const floats = await cli(...meter, "-a", "0", "-n", "3", "--type", "float32");
    expect(floats).toMatchObject({
      code: 2,
      stderr:
        "plantgate: --count: 1 to 2 float32 values (2 registers each) fit in one read of " +
        "device meter (maxRegistersPerRead 4)\n",
    });
    const coils = await cli(...meter, "-t", "coil", "-a", "3", "-n", "3");
    expect(coils).toMatchObject({
      code: 2,
      stderr:
        "plantgate: --count: 1 to 2 bool values fit in one read of device meter " +
        "(maxBitsPerRead 2)\n",
    });
    const wide = await cli(...meter, "-a", "4", "--type", "int64", "--order", "DCBA");
    expect(wide).toMatchObject({
      code: 0,
      stdout: ["4  0x35FB 0x048E 0xE0FE 0xFFFF  -1234567890123"],
    });
    const text = await cli(...meter, "-a", "10", "--type", "string", "--length", "5");
    expect(text).toMatchObject({
      code: 2,
      stderr:
        "plantgate: --type: one string value (5 registers each) does not fit in one read of " +
        "device meter (maxRegistersPerRead 4)\n",
    });
    // Within the caps: the read goes out and the values come back.
    const two = await cli(...meter, "-t", "coil", "-a", "3", "-n", "2");
    expect(two).toMatchObject({ code: 0, stdout: ["3  1  true", "4  0  false"] });
  });

  it("exits non-zero with the exception, and no stack trace, on an illegal address", async () => {
    const r = await cli("read", ...tcp(), "-a", "300");
    expect(r.code).toBe(1);
    expect(r.stdout).toEqual([]);
    expect(r.stderr).toBe("plantgate: unit 1: exception 2 (illegal data address)\n");
  });

  it("says so in one line when the unit is silent or nothing listens", async () => {
    const silent = await cli("read", ...tcp(), "-a", "0", "-u", "2", "--timeout", "300");
    expect(silent).toMatchObject({
      code: 1,
      stderr: "plantgate: unit 2: no response within 300 ms\n",
    });
    const closed = await cli(
      "read",
      "--host",
      "127.0.0.1",
      "--port",
      `${await freePort()}`,
      "-a",
      "0",
    );
    expect(closed.code).toBe(1);
    expect(closed.stderr).toMatch(/^plantgate: tcp:\/\/127\.0\.0\.1:\d+: disconnected .*\n$/);
  });

  it("refuses bad flags with the flag's name, exit status 2", async () => {
    const r = await cli("read", ...tcp(), "-t", "coil", "-a", "0", "--type", "float32");
    expect(r).toMatchObject({
      code: 2,
      stderr: "plantgate: --type: a coil holds one bit: use type bool\n",
    });
    const none = await cli("read", "-a", "0");
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/give --host HOST or --serial PATH/);
    const many = await cli("read", ...tcp(), "-a", "0", "-n", "63", "--type", "float32");
    expect(many).toMatchObject({
      code: 2,
      stderr: "plantgate: --count: 1 to 62 float32 values (2 registers each) fit in one read\n",
    });
    const zero = await cli("read", ...tcp(), "-a", "0", "-n", "0");
    expect(zero).toMatchObject({ code: 2 });
    expect(zero.stderr).toMatch(/--count: 1 to 125 uint16 values fit in one read/);
    const baud = await cli("read", ...tcp(), "-a", "0", "--baud", "19200");
    expect(baud).toMatchObject({ code: 2 });
    expect(baud.stderr).toMatch(/--baud: for --serial only/);
    // Refused before any port is opened: the path need not exist.
    const broadcast = await cli("read", "--serial", join(dir, "none"), "-u", "0", "-a", "0");
    expect(broadcast).toMatchObject({ code: 2 });
    expect(broadcast.stderr).toMatch(/^plantgate: --unit: unit 0 is the RTU broadcast address/);
    for (const x of [r, none, many, zero, baud, broadcast]) {
      expect(x.stderr).not.toMatch(NO_STACK);
    }
  });

  it("scan finds exactly the units the peer serves", async () => {
    const r = await cli("scan", ...tcp(), "--units", "1-5");
    expect(r.code).toBe(0);
    expect(r.stdout).toEqual([
      "unit 1: answers (holding register 0 = 0x0000)",
      "unit 3: answers (holding register 0 = 0x0000)",
      "units answering: 1, 3",
    ]);
  });

  it("scan says when no unit answered", async () => {
    const r = await cli("scan", ...tcp(), "--units", "2,4-5", "--timeout", "100");
    expect(r).toMatchObject({ code: 1, stdout: ["no unit answered (3 tried)"] });
  });
});

describe("scan without a bus", () => {
  it("says clearly why it cannot list serial ports where udevadm is missing", async () => {
    // With no PATH, node-serialport cannot find udevadm, as on a minimal image without it.
    const noUdev = { ...process.env, PATH: "" };
    for (const args of [["--list-ports"], ["--serial"]]) {
      const r = await cliWith(noUdev, "scan", ...args);
      expect(r).toEqual({
        code: 2,
        stdout: [],
        stderr:
          "plantgate: cannot list serial ports here (udevadm missing?): give --serial PATH " +
          "(spawn udevadm ENOENT)\n",
      });
    }
  });

  it("refuses a bad unit list", async () => {
    const r = await cli("scan", "--host", "127.0.0.1", "--units", "0-3");
    expect(r).toMatchObject({ code: 2 });
    expect(r.stderr).toMatch(/--units: "0-3" not within 1..255/);
  });
});

const rtuMissing = () => socatMissing() ?? pymodbusMissing();

describe.runIf(requireOrSkip(rtuMissing()))("read and scan over Modbus RTU on a pty pair", () => {
  const dir = mkdtempSync(join(tmpdir(), "plantgate-cli-rtu-"));
  const procs: Proc[] = [];
  const line = ["--serial", join(dir, "b"), "--baud", "19200"];

  beforeAll(async () => {
    procs.push(await startPtyPair(dir));
    const spec = JSON.stringify({ serial: join(dir, "a"), units: [1, 3], entries: ENTRIES });
    const script = join(repoRoot, "test/peers/cli-peer.py");
    const peer = startProcess(SYSTEM_PYTHON, [script, "0", spec]);
    procs.push(peer);
    // The RTU server has no port to probe: ask until it answers.
    for (let i = 0; i < 20 && peer.child.exitCode === null; i++) {
      if ((await cli("read", ...line, "-a", "0", "--timeout", "300")).code === 0) return;
    }
    throw new Error(`RTU peer never answered: ${peer.stderr.slice(-5).join("\n")}`);
  });

  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads the value pymodbus wrote, and reports an exception", async () => {
    const r = await cli("read", ...line, "-a", "0", "--type", "float32", "--order", "CDAB");
    expect(r).toMatchObject({ code: 0, stdout: ["0  0x0000 0x41AC  21.5"] });
    const bad = await cli("read", ...line, "-a", "300");
    expect(bad).toMatchObject({
      code: 1,
      stderr: "plantgate: unit 1: exception 2 (illegal data address)\n",
    });
  });

  it("scan finds exactly the units on the bus", async () => {
    const r = await cli("scan", ...line, "--units", "1-5");
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout.at(-1)).toBe("units answering: 1, 3");
  });

  it("says another program holds the port, as the running daemon would", async () => {
    // node-serialport, as the daemon opens its line: with an exclusive lock.
    const holder = new SerialPort({ path: join(dir, "b"), baudRate: 19200, autoOpen: false });
    await new Promise<void>((ok, fail) => holder.open((err) => (err ? fail(err) : ok())));
    const hint = "another program has the port open (a running plantgate daemon? stop it first)";
    try {
      const read = await cli("read", ...line, "-a", "0");
      const scan = await cli("scan", ...line, "--units", "1");
      for (const r of [read, scan]) {
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^plantgate: serial:\/\/\S+: disconnected \(/);
        expect(r.stderr.endsWith(`Cannot lock port): ${hint}\n`)).toBe(true);
      }
    } finally {
      await new Promise((done) => holder.close(done));
    }
  });
});
