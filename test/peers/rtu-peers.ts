// Peers for the RTU transport tests: a socat pseudo-terminal pair standing in for a serial
// cable, and the pymodbus RTU server of rtu-server.py on either a pty or a TCP port.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../support/data.js";
import { type Proc, startProcess } from "../support/process.js";
import { SYSTEM_PYTHON } from "../support/pymodbus.js";

export interface RegisterValue {
  address: number;
  type: "int16" | "uint16" | "int32" | "uint32" | "float32";
  value: number;
}

/** Holding register contents per served unit id. */
export type Units = Record<number, RegisterValue[]>;

/** Undefined when socat can be run, else why not. */
export function socatMissing(): string | undefined {
  const r = spawnSync("socat", ["-V"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return "socat is not installed (apt-get install socat)";
  return undefined;
}

/**
 * socat joining two ptys, linked as DIR/a and DIR/b; resolves once both links exist.
 * Stopping it removes the links, as unplugging a USB adapter removes its device node.
 */
export async function startPtyPair(dir: string): Promise<Proc> {
  const a = join(dir, "a");
  const b = join(dir, "b");
  const link = (path: string) => `pty,raw,echo=0,link=${path}`;
  const proc = startProcess("socat", ["-d", "-d", link(a), link(b)]);
  const deadline = Date.now() + 10_000;
  while (!(existsSync(a) && existsSync(b))) {
    if (proc.child.exitCode !== null) throw new Error(`socat exited: ${proc.stderr.join("\n")}`);
    if (Date.now() > deadline) {
      await proc.stop(1000);
      throw new Error("socat did not create the pty links within 10 s");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return proc;
}

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
