import { type Logger, pino } from "pino";

export type { Logger };

/** The root logger: JSON lines on stdout. Components take a child with `component` set. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** A logger that discards everything, for tests and one-shot CLI commands. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
