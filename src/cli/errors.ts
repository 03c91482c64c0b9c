// How CLI commands end on bad input: one clear line on stderr, a non-zero exit, no stack.

import { ConfigError } from "../config/load.js";

export function reportConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`plantgate: invalid config ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
