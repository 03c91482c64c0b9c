// The one source of truth for plantgate's configuration: types, defaults and validation.
// Every object is strict (unknown keys are errors); `plantgate schema` prints it as JSON
// Schema. Shape: connections → devices (unit id) → groups (poll interval) → tags; serial
// ASCII sensors → fields. This is the root: the sections are in schema-*.ts beside it, and
// everything is imported from here.

import { z } from "zod";
import { outputsSchema, ruleSchema, type SEVERITIES } from "./schema-alerts.js";
import {
  connectionSchema,
  type ORDERS,
  type rtuConnectionSchema,
  type rtuOverTcpConnectionSchema,
  type TABLES,
  type TYPES,
  tcpConnectionSchema,
} from "./schema-connections.js";
import { learningSchema } from "./schema-learning.js";
import { sensorSchema } from "./schema-sensors.js";
import { clockSchema, storeSchema } from "./schema-store.js";

export * from "./schema-alerts.js";
export { reconnectSchema } from "./schema-common.js";
export * from "./schema-connections.js";
export * from "./schema-learning.js";
export * from "./schema-sensors.js";
export * from "./schema-store.js";

export const simulatorSchema = z.strictObject({
  enabled: z.boolean().default(false),
  host: z.string().default("127.0.0.1"),
  port: z.number().int().min(1).max(65535).default(5020),
  unitId: z.number().int().min(1).max(247).default(1),
  seed: z.number().int().default(1),
  /** The simulated line advances one step per interval. */
  stepMs: z.number().int().min(1).default(1000),
  /** First degradation episode, from start. */
  firstEpisodeAfterMs: z.number().int().min(0).default(75000),
  episodeEveryMs: z.number().int().min(1000).default(300000),
  episodeDurationMs: z.number().int().min(1000).default(60000),
});

export const configSchema = z.strictObject({
  gateway: z
    .strictObject({
      name: z.string().default("plantgate"),
      /** Database, models, control socket and output state live here. */
      stateDir: z.string().default("/var/lib/plantgate"),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).default("info"),
      /** A status line with the daemon's counters is logged at info this often; 0: never. */
      statusIntervalMs: z.number().int().min(0).default(60000),
    })
    .prefault({}),
  connections: z.array(connectionSchema).default([]),
  /** Serial ASCII sensors: line-delimited frames, parsed into fields. */
  sensors: z.array(sensorSchema).default([]),
  store: storeSchema.prefault({}),
  clock: clockSchema.prefault({}),
  learning: learningSchema.optional(),
  alerts: z.strictObject({ rules: z.array(ruleSchema).default([]) }).prefault({}),
  outputs: outputsSchema.prefault({}),
  simulator: simulatorSchema.prefault({}),
});

export type Config = z.output<typeof configSchema>;
export type ConnectionConfig = Config["connections"][number];
export type TcpConnectionConfig = z.output<typeof tcpConnectionSchema>;
export type RtuConnectionConfig = z.output<typeof rtuConnectionSchema>;
export type RtuOverTcpConnectionConfig = z.output<typeof rtuOverTcpConnectionSchema>;
export type SensorConfig = Config["sensors"][number];
export type SensorFieldConfig = SensorConfig["fields"][number];
export type DeviceConfig = ConnectionConfig["devices"][number];
export type GroupConfig = DeviceConfig["groups"][number];
export type TagConfig = GroupConfig["tags"][number];
export type TagTable = (typeof TABLES)[number];
export type TagType = (typeof TYPES)[number];
export type ByteOrder = (typeof ORDERS)[number];
export type StoreConfig = Config["store"];
export type ClockConfig = Config["clock"];
export type LearningConfig = NonNullable<Config["learning"]>;
export type ModelConfig = LearningConfig["model"];
export type RuleConfig = Config["alerts"]["rules"][number];
export type Severity = (typeof SEVERITIES)[number];
export type OutputsConfig = Config["outputs"];
export type OutputLineConfig = OutputsConfig["lines"][number];
export type SimulatorConfig = Config["simulator"];

export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, {
    io: "input",
    // A connection without `type` is tcp (see connectionSchema): say so to editors too.
    override: (ctx) => {
      if (ctx.zodSchema !== tcpConnectionSchema) return;
      const json = ctx.jsonSchema as { required?: string[]; properties?: Record<string, object> };
      json.required = json.required?.filter((key) => key !== "type");
      if (json.properties?.type) json.properties.type = { ...json.properties.type, default: "tcp" };
    },
  });
}
