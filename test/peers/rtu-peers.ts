// Peers for the RTU transport tests: the socat pty pair of pty-pair.ts, and the pymodbus RTU
// server of rtu-server.py on either a pty or a TCP port.

import { join } from "node:path";
import { repoRoot } from "../support/data.js";
import { type Proc, startProcess } from "../support/process.js";
import { SYSTEM_PYTHON } from "../support/pymodbus.js";

export { socatMissing, startPtyPair } from "./pty-pair.js";

export interface RegisterValue {
  address: number;
  /** Default holdingRegister. */
  table?: "coil" | "discreteInput" | "inputRegister" | "holdingRegister";
  type: string;
  /** Default ABCD. */
  order?: "ABCD" | "CDAB" | "BADC" | "DCBA";
  /** 64-bit integers as decimal strings (exact above 2^53); "nan" for a float. */
  value: number | string | boolean;
}

/** Register and bit contents per served unit id. */
export type Units = Record<number, RegisterValue[]>;

/** rtu-server.py serving `units` on a serial path or a TCP port; resolves once it serves. */
export async function startRtuServer(
  kind: "serial" | "tcp",
  where: string | number,
  units: Units,
): Promise<Proc> {
  const script = join(repoRoot, "test/peers/rtu-server.py");
  const proc = startProcess(SYSTEM_PYTHON, [script, kind, String(where), JSON.stringify(units)]);
  try {
    await proc.waitFor((l) => l.msg === "ready", 15_000, "pymodbus RTU server ready");
  } catch (err) {
    await proc.stop(1000);
    throw err;
  }
  return proc;
}

/** Polls `condition` until it holds; rejects after timeoutMs naming `what`. */
export async function until(condition: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Stops every peer given, whatever happens to the others. */
export async function stopAll(...procs: Array<Proc | undefined>): Promise<void> {
  await Promise.allSettled(procs.map((p) => p?.stop(2000)));
}
