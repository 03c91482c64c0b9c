// `plantgate scan`: which unit ids answer on a bus. Each unit gets one cheap read (holding
// register 0, one register) with a short timeout. A unit that replies with data or with a
// Modbus exception is alive; silence is not, and neither is a gateway's exception 10 or 11,
// which is the gateway saying that no device behind it answered.

import { SerialPort } from "serialport";
import {
  isGatewayNoAnswer,
  ModbusExceptionError,
  ModbusResponseError,
  ModbusTimeoutError,
} from "../sources/modbus/errors.js";
import type { ModbusTransport } from "../sources/modbus/transport.js";
import { FunctionCode } from "../sources/modbus/transport.js";
import { connectionFromFlags, type LineFlags, UsageError, withTransport } from "./read.js";

export interface ScanFlags extends LineFlags {
  units: string;
  listPorts?: boolean;
}

export const DEFAULT_UNITS = "1-247";
export const DEFAULT_SCAN_TIMEOUT_MS = 200;

/** "1-10,17" → [1..10, 17], sorted, without repeats. Units 1..255; 0 is broadcast. */
export function parseUnits(spec: string): number[] {
  const units = new Set<number>();
  for (const part of spec.split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new UsageError(`--units: "${part}" is not a unit or a range like 1-10`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from > to) {
      throw new UsageError(`--units: "${part.trim()}" runs backwards; write ${to}-${from}`);
    }
    if (from < 1 || to > 255) {
      throw new UsageError(`--units: "${part.trim()}" not within 1..255 (0 is broadcast)`);
    }
    for (let u = from; u <= to; u++) units.add(u);
  }
  return [...units].sort((a, b) => a - b);
}

/** What one unit said: undefined when it did not answer. */
export async function probe(
  transport: ModbusTransport,
  unitId: number,
  timeoutMs: number,
): Promise<string | undefined> {
  const functionCode = FunctionCode.readHoldingRegisters;
  const payload = Buffer.from([0, 0, 0, 1]);
  try {
    const data = await transport.request({ unitId, functionCode, payload, timeoutMs });
    const word = data.length === 3 ? data.readUInt16BE(1) : undefined;
    if (word === undefined) return `data, ${data.length} bytes`;
    return `holding register 0 = 0x${word.toString(16).toUpperCase().padStart(4, "0")}`;
  } catch (err) {
    // Silence, and a gateway's exception 10 or 11, the same no-answer the poller counts.
    if (err instanceof ModbusTimeoutError || isGatewayNoAnswer(err)) return undefined;
    // Something replied, if garbled: worth a look rather than silence.
    if (err instanceof ModbusResponseError) return `malformed reply: ${err.message}`;
    if (!(err instanceof ModbusExceptionError)) throw err;
    return `exception ${err.exceptionCode}`;
  }
}

async function scanUnits(transport: ModbusTransport, units: number[], timeoutMs: number) {
  const found: number[] = [];
  const progress = process.stderr.isTTY;
  for (const unitId of units) {
    if (progress) process.stderr.write(`\rscanning unit ${unitId} `);
    const answer = await probe(transport, unitId, timeoutMs);
    if (answer === undefined) continue;
    found.push(unitId);
    if (progress) process.stderr.write("\r");
    process.stdout.write(`unit ${unitId}: answers (${answer})\n`);
  }
  if (progress) process.stderr.write("\r\x1b[K");
  if (found.length === 0) {
    process.stdout.write(`no unit answered (${units.length} tried)\n`);
    return 1;
  }
  process.stdout.write(`units answering: ${found.join(", ")}\n`);
  return 0;
}

export type PortList = Awaited<ReturnType<typeof SerialPort.list>>;

/** What `scan --list-ports` prints, and its exit status; `list` is SerialPort.list. */
export async function portListing(
  list: () => Promise<PortList> = () => SerialPort.list(),
): Promise<{ code: number; stdout: string; stderr: string }> {
  let ports: PortList;
  try {
    ports = await list();
  } catch (err) {
    // SerialPort.list() asks udev; on a box without udevadm (containers, minimal images)
    // it rejects, and the user must name the port.
    const why = (err as Error).message.split("\n")[0];
    const stderr =
      "plantgate: cannot list serial ports here (udevadm missing?): give --serial PATH " +
      `(${why})\n`;
    return { code: 2, stdout: "", stderr };
  }
  const lines = ports.map((p) => {
    const about = [p.manufacturer, p.serialNumber, p.pnpId].filter(Boolean).join(", ");
    return `${p.path}${about ? `  ${about}` : ""}\n`;
  });
  if (ports.length === 0) lines.push("no serial ports found\n");
  return { code: 0, stdout: lines.join(""), stderr: "" };
}

async function listPorts(): Promise<never> {
  const { code, stdout, stderr } = await portListing();
  process.stdout.write(stdout);
  process.stderr.write(stderr);
  process.exit(code);
}

export async function scanCommand(flags: ScanFlags): Promise<never> {
  if (flags.listPorts || flags.serial === true) return listPorts();
  let units: number[];
  try {
    units = parseUnits(flags.units);
  } catch (err) {
    process.stderr.write(`plantgate: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const timeoutMs = flags.timeout ?? DEFAULT_SCAN_TIMEOUT_MS;
  return withTransport(
    () => connectionFromFlags({ ...flags, timeout: timeoutMs }, units[0] ?? 1),
    (transport) => scanUnits(transport, units, timeoutMs),
  );
}
