// Commands that inspect without running the daemon: check-config, schema, status.

import { join } from "node:path";
import { configWarnings, loadConfig } from "../config/load.js";
import { configJsonSchema } from "../config/schema.js";
import { controlRequest, SOCKET_NAME } from "../control/channel.js";
import { reportConfigError } from "./errors.js";

function load(file: string) {
  try {
    return loadConfig(file);
  } catch (err) {
    reportConfigError(err);
  }
}

export function checkConfigCommand(opts: { config: string }): void {
  const config = load(opts.config);
  const devices = config.connections.flatMap((c) => c.devices);
  const tags = devices.flatMap((d) => d.groups.flatMap((g) => g.tags));
  process.stdout.write(
    `${opts.config}: ok (${config.connections.length} connection(s), ` +
      `${devices.length} device(s), ${tags.length} tag(s))\n`,
  );
  for (const w of configWarnings(config)) process.stdout.write(`warning: ${w}\n`);
}

export function schemaCommand(): void {
  process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
}

export async function statusCommand(opts: { config: string; json?: boolean }): Promise<void> {
  const config = load(opts.config);
  const socket = join(config.gateway.stateDir, SOCKET_NAME);
  try {
    const status = await controlRequest(socket, "status");
    process.stdout.write(`${JSON.stringify(status, null, opts.json ? 0 : 2)}\n`);
  } catch (err) {
    process.stderr.write(`plantgate: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
