// `plantgate run`: load the config, start the daemon, stop it cleanly on SIGINT/SIGTERM.

import { loadConfig } from "../config/load.js";
import { systemClock } from "../core/clock.js";
import { createLogger, type Logger } from "../core/logger.js";
import { Daemon } from "../daemon/daemon.js";
import { reportConfigError } from "./errors.js";

function handleSignals(daemon: Daemon, logger: Logger): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting without a clean stop");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "stopping");
    daemon.stop().then(
      () => process.exit(0),
      (err: Error) => {
        logger.fatal({ err: err.message }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

export async function runCommand(opts: { config: string }): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(opts.config);
  } catch (err) {
    reportConfigError(err);
  }

  const logger = createLogger(config.log.level);
  const daemon = new Daemon(config, logger, systemClock);
  handleSignals(daemon, logger);

  process.on("unhandledRejection", (reason) => {
    logger.error({ err: String(reason) }, "unhandled rejection");
  });
  process.on("uncaughtException", (err) => {
    logger.fatal({ err: err.message, stack: err.stack }, "uncaught exception: stopping");
    void daemon.stop().finally(() => process.exit(1));
  });

  try {
    await daemon.start();
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, "could not start");
    process.exit(1);
  }
}
