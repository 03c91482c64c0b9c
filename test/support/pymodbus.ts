// Finding Debian's pymodbus: tests run it with /usr/bin/python3, never the python3 on PATH.

import { spawnSync } from "node:child_process";

export const SYSTEM_PYTHON = "/usr/bin/python3";

/** Undefined when pymodbus is usable, else why not. */
export function pymodbusMissing(): string | undefined {
  const r = spawnSync(SYSTEM_PYTHON, ["-c", "import pymodbus"], { encoding: "utf8" });
  if (r.error) return `${SYSTEM_PYTHON} not runnable: ${r.error.message}`;
  const install = "apt-get install python3-pymodbus";
  if (r.status !== 0) return `python3-pymodbus is not installed (${install})`;
  return undefined;
}
