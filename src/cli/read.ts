// `plantgate read`: one ad-hoc read for commissioning, printed decoded. The connection comes
// from a config file's device or from flags; either way it goes through the same schema and
// the same transport as the daemon's, and the request is built with the codec, never with a
// library's high-level read functions. Also the flag handling `plantgate scan` shares.

import { InvalidArgumentError } from "commander";
import type { z } from "zod";
import { ConfigError, loadConfig } from "../config/load.js";
import {
  type ConnectionConfig,
  connectionSchema,
  type TagConfig,
  tagSchema,
} from "../config/schema.js";
import { silentLogger } from "../core/logger.js";
import type { Value } from "../core/reading.js";
import {
  buildReadRequest,
  decodeBit,
  decodeTag,
  functionCodeFor,
  isBitTable,
  MAX_BITS_PER_READ,
  MAX_REGISTERS_PER_READ,
  parseReadResponse,
} from "../sources/modbus/codec.js";
import { EXCEPTION_NAMES, ModbusExceptionError } from "../sources/modbus/errors.js";
import { tagSpan } from "../sources/modbus/planner.js";
import { createTransport } from "../sources/modbus/source.js";
import type { ModbusTransport } from "../sources/modbus/transport.js";

/** Flags that say how to reach the bus, shared by read and scan. */
export interface LineFlags {
  host?: string;
  port?: number;
  rtuOverTcp?: boolean;
  serial?: string | boolean;
  baud?: number;
  parity?: string;
  dataBits?: number;
  stopBits?: number;
  timeout?: number;
}

export interface ReadFlags extends LineFlags {
  config?: string;
  device?: string;
  unit?: number;
  table: string;
  address: number;
  count: number;
  type?: string;
  order: string;
  bit?: number;
  length?: number;
}

/** A wrong flag or config: the user's to fix. Exit status 2, like an invalid config. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Where a schema field comes from on the command line, for error messages. */
const FLAG_OF: Record<string, string> = {
  host: "--host",
  port: "--port",
  path: "--serial",
  baudRate: "--baud",
  parity: "--parity",
  dataBits: "--data-bits",
  stopBits: "--stop-bits",
  timeoutMs: "--timeout",
  unitId: "--unit",
  table: "--table",
  address: "--address",
  type: "--type",
  order: "--order",
  bit: "--bit",
  length: "--length",
};

/** Commander parser for integer flags. */
export function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("not a whole number");
  return Number(value);
}

/** Validates with the config schema; problems are named by the flag the user gave. */
export function validate<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = [...issue.path].reverse().find((p) => typeof p === "string") as string;
    return `${FLAG_OF[field] ?? field ?? "flags"}: ${issue.message}`;
  });
  throw new UsageError([...new Set(problems)].join("; "));
}

const SERIAL_FLAGS = [
  ["baud", "--baud"],
  ["parity", "--parity"],
  ["dataBits", "--data-bits"],
  ["stopBits", "--stop-bits"],
] as const;

/** A connection config from --host / --serial flags, for one device at `unitId`. */
export function connectionFromFlags(
  flags: LineFlags,
  unitId: number,
  tag: unknown = { name: "value", address: 0 },
): ConnectionConfig {
  const device = { name: "cli", unitId, groups: [{ tags: [tag] }] };
  const common = { name: "cli", timeoutMs: flags.timeout, devices: [device] };
  let line: Record<string, unknown>;
  if (typeof flags.serial === "string") {
    if (flags.host) throw new UsageError("give --host or --serial, not both");
    line = {
      type: "rtu",
      path: flags.serial,
      baudRate: flags.baud,
      parity: flags.parity,
      dataBits: flags.dataBits,
      stopBits: flags.stopBits,
    };
  } else if (flags.host) {
    const serialOnly = SERIAL_FLAGS.filter(([key]) => flags[key] !== undefined);
    if (serialOnly.length) {
      const names = serialOnly.map(([, name]) => name).join(", ");
      throw new UsageError(`${names}: for --serial only; a TCP connection has no serial settings`);
    }
    line = { type: flags.rtuOverTcp ? "rtuOverTcp" : "tcp", host: flags.host, port: flags.port };
  } else {
    throw new UsageError("give --host HOST or --serial PATH");
  }
  return validate(connectionSchema, withoutUndefined({ ...common, ...line }));
}

function withoutUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** One line for an error a user can act on: no stack trace. */
export function describeError(err: unknown): string {
  if (err instanceof ModbusExceptionError) {
    const name = EXCEPTION_NAMES[err.exceptionCode] ?? "unknown exception";
    return `unit ${err.unitId}: exception ${err.exceptionCode} (${name})`;
  }
  const message = err instanceof Error ? err.message : String(err);
  // node-serialport locks the port (flock) on open; the daemon holds it while it runs.
  if (/Cannot lock port/.test(message)) {
    const hint = "another program has the port open (a running plantgate daemon? stop it first)";
    return `${message}: ${hint}`;
  }
  return message;
}

/**
 * Starts a transport, runs `work` on it, stops it, and exits: 0 on success, 1 when the
 * device or the link failed, 2 for a usage error. Never returns.
 */
export async function withTransport(
  connection: () => ConnectionConfig,
  work: (transport: ModbusTransport) => Promise<number>,
): Promise<never> {
  let transport: ModbusTransport | undefined;
  let code: number;
  try {
    transport = createTransport(connection(), { logger: silentLogger() });
    await transport.start();
    code = await work(transport);
  } catch (err) {
    process.stderr.write(`plantgate: ${describeError(err)}\n`);
    code = err instanceof UsageError || err instanceof RangeError ? 2 : 1;
  }
  await transport?.stop().catch(() => {});
  process.exit(code);
}

interface Target {
  connection: ConnectionConfig;
  unitId: number;
  timeoutMs: number;
  /** Added to protocol addresses when they are printed, as in the device's config. */
  addressBase: number;
  /** The most one read may span: the device's caps, else the protocol's. */
  maxRegisters: number;
  maxBits: number;
  /** The configured device read, if any: named when its caps refuse a count. */
  device?: string;
}

/** The Modbus limits on one read: registers (functions 3, 4) and bits (1, 2). */
const PROTOCOL_CAPS = { maxRegisters: MAX_REGISTERS_PER_READ, maxBits: MAX_BITS_PER_READ };

function targetFromConfig(flags: ReadFlags): Target {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(flags.config as string);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`invalid config ${err.message}`);
    throw err;
  }
  const all = config.connections.flatMap((c) => c.devices.map((d) => ({ c, d })));
  const found = all.find(({ d }) => d.name === flags.device);
  if (!found) {
    const names = all.map(({ d }) => d.name).join(", ") || "none";
    throw new UsageError(`no device "${flags.device}" in ${flags.config} (devices: ${names})`);
  }
  const { c, d } = found;
  return {
    connection: c,
    unitId: flags.unit ?? d.unitId,
    timeoutMs: flags.timeout ?? d.timeoutMs ?? c.timeoutMs,
    addressBase: d.addressBase,
    maxRegisters: d.maxRegistersPerRead,
    maxBits: d.maxBitsPerRead,
    device: d.name,
  };
}

function target(flags: ReadFlags): Target {
  const t = configOrFlags(flags);
  if (t.unitId === 0 && t.connection.type !== "tcp") {
    throw new UsageError(
      "--unit: unit 0 is the RTU broadcast address, for writes only: no unit answers a read; " +
        "give the unit's own address (plantgate scan finds it)",
    );
  }
  return t;
}

function configOrFlags(flags: ReadFlags): Target {
  if (flags.config || flags.device) {
    if (!flags.config || !flags.device) throw new UsageError("--config and --device go together");
    if (flags.host || flags.serial) throw new UsageError("give --device or --host/--serial");
    return targetFromConfig(flags);
  }
  if (!flags.host && flags.serial === undefined) {
    throw new UsageError("give --host HOST or --serial PATH, or --config FILE with --device NAME");
  }
  const connection = connectionFromFlags(flags, flags.unit ?? 1);
  const unitId = connection.devices[0]?.unitId ?? 1;
  return { connection, unitId, timeoutMs: connection.timeoutMs, addressBase: 0, ...PROTOCOL_CAPS };
}

/** The tag the flags describe, checked by the same rules as a tag in the config. */
function tagFromFlags(flags: ReadFlags, addressBase: number): TagConfig {
  const bits = flags.table === "coil" || flags.table === "discreteInput";
  const address = flags.address - addressBase;
  if (address < 0) throw new UsageError(`--address: the device counts from ${addressBase}`);
  return validate(
    tagSchema,
    withoutUndefined({
      name: "value",
      table: flags.table,
      address,
      type: flags.type ?? (bits ? "bool" : "uint16"),
      order: flags.order,
      bit: flags.bit,
      length: flags.length,
    }),
  );
}

function formatValue(value: Value): string {
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

/** The raw bit, or the raw registers in hex, of the value at `offset`. */
function rawText(tag: TagConfig, block: Buffer, offset: number, step: number): string {
  if (isBitTable(tag.table)) return decodeBit(block, offset) ? "1" : "0";
  const words = Array.from({ length: step }, (_, r) => block.readUInt16BE((offset + r) * 2));
  return words.map((w) => `0x${w.toString(16).toUpperCase().padStart(4, "0")}`).join(" ");
}

/** One line per value: the address, the raw registers (or bit), the decoded value. */
export function formatValues(tag: TagConfig, block: Buffer, count: number, base = 0): string[] {
  const step = tagSpan(tag);
  return Array.from({ length: count }, (_, i) => {
    const offset = i * step;
    const value = decodeTag({ ...tag, scale: 1, offset: 0 }, block, offset);
    const raw = rawText(tag, block, offset, step);
    return `${tag.address + offset + base}  ${raw}  ${formatValue(value)}`;
  });
}

interface ReadPlan extends Target {
  tag: TagConfig;
  functionCode: number;
  quantity: number;
  payload: Buffer;
}

function planRead(flags: ReadFlags): ReadPlan {
  const t = target(flags);
  const tag = tagFromFlags(flags, t.addressBase);
  checkCount(t, tag, flags.count);
  const quantity = flags.count * tagSpan(tag);
  const functionCode = functionCodeFor(tag.table);
  const payload = buildReadRequest(functionCode, tag.address, quantity);
  return { ...t, tag, functionCode, quantity, payload };
}

/** A count that fits one read within the device's caps (or the protocol's, from flags). */
function checkCount(t: Target, tag: TagConfig, count: number): void {
  const bits = isBitTable(tag.table);
  const perValue = tagSpan(tag);
  const cap = bits ? t.maxBits : t.maxRegisters;
  const most = Math.floor(cap / perValue);
  if (count >= 1 && count <= most) return;
  const each = perValue === 1 ? "" : ` (${perValue} registers each)`;
  const key = bits ? "maxBitsPerRead" : "maxRegistersPerRead";
  const whose = t.device === undefined ? "" : ` of device ${t.device} (${key} ${cap})`;
  if (most === 0) {
    throw new UsageError(`--type: one ${tag.type} value${each} does not fit in one read${whose}`);
  }
  throw new UsageError(`--count: 1 to ${most} ${tag.type} values${each} fit in one read${whose}`);
}

export async function readCommand(flags: ReadFlags): Promise<never> {
  let plan: ReadPlan;
  try {
    plan = planRead(flags);
  } catch (err) {
    process.stderr.write(`plantgate: ${describeError(err)}\n`);
    process.exit(2);
  }
  const { tag, functionCode, quantity, payload, unitId, timeoutMs } = plan;
  return withTransport(
    () => plan.connection,
    async (transport) => {
      const response = await transport.request({ unitId, functionCode, payload, timeoutMs });
      const block = parseReadResponse(functionCode, quantity, response);
      const lines = formatValues(tag, block, flags.count, plan.addressBase);
      process.stdout.write(`${lines.join("\n")}\n`);
      return 0;
    },
  );
}
