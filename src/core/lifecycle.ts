// Every long-lived part of the daemon shares one lifecycle: a constructor that only stores
// its dependencies, start(), stop() and health(). The daemon starts parts in order and
// stops them in reverse.

export type HealthStatus = "ok" | "degraded" | "down";

export interface Health {
  status: HealthStatus;
  /** Component-specific figures: counters, last error, progress. */
  [detail: string]: unknown;
}

export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): Health;
}
