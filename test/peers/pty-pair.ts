// A socat pseudo-terminal pair standing in for a serial cable, shared by the RTU transport
// tests and the RTU fault suite.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Proc, startProcess } from "../support/process.js";

/** Undefined when socat can be run, else why not. */
export function socatMissing(): string | undefined {
  const r = spawnSync("socat", ["-V"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return "socat is not installed (apt-get install socat)";
  return undefined;
}

/**
 * socat joining two ptys, linked as DIR/a and DIR/b (or the names given); resolves once both
 * links exist. Stopping it removes the links, as unplugging a USB adapter removes its node.
 */
export async function startPtyPair(dir: string, names = ["a", "b"]): Promise<Proc> {
  const links = names.map((name) => join(dir, name));
  const args = ["-d", "-d", ...links.map((l) => `pty,raw,echo=0,link=${l}`)];
  const proc = startProcess("socat", args);
  const deadline = Date.now() + 10_000;
  while (!links.every((l) => existsSync(l))) {
    if (proc.child.exitCode !== null) throw new Error(`socat exited: ${proc.stderr.join("\n")}`);
    if (Date.now() > deadline) {
      await proc.stop(1000);
      throw new Error("socat did not create the pty links within 10 s");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return proc;
}
