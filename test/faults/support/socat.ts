// Whether socat, which makes the pty pairs standing in for a serial cable, can be run here.

import { spawnSync } from "node:child_process";

/** Undefined when socat can be run, else why not. */
export function socatMissing(): string | undefined {
  const r = spawnSync("socat", ["-V"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return "socat is not installed (apt-get install socat)";
  return undefined;
}
