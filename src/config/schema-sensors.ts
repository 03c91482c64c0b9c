// The config's serial ASCII sensors: line-delimited frames parsed into fields. Part of
// schema.ts, the root.

import { z } from "zod";
import { name, reconnectSchema, serialLine } from "./schema-common.js";

export const sensorFieldSchema = z.strictObject({
  name,
  /** csv: the field's position, 0 = first. */
  index: z.number().int().min(0).optional(),
  /** keyValue: the key; regex: the named group. Default: the field's name. */
  key: z.string().optional(),
  scale: z.number().default(1),
  offset: z.number().default(0),
  unit: z.string().optional(),
});

export const sensorSchema = z
  .strictObject({
    name,
    ...serialLine,
    /** Frames end with this; \r before it is dropped. */
    delimiter: z.string().min(1).default("\n"),
    format: z.enum(["csv", "keyValue", "regex"]),
    /** csv: between fields; keyValue: between pairs. */
    separator: z.string().min(1).default(","),
    /** keyValue: between a key and its value. */
    assign: z.string().min(1).default("="),
    /** regex: a pattern with named groups. */
    pattern: z.string().optional(),
    /** nmea: `*HH` at the end is the XOR of the characters between `$` and `*`. */
    checksum: z.enum(["none", "nmea"]).default("none"),
    /**
     * A sensor that sends no good frame for this long while its port is open is reported
     * down and its fields stored bad (timeout). Unset: silence is not noticed.
     */
    timeoutMs: z.number().int().min(1).optional(),
    reconnect: reconnectSchema.prefault({}),
    fields: z.array(sensorFieldSchema).min(1),
  })
  .superRefine((s, ctx) => {
    if (s.format === "regex" && !s.pattern) {
      ctx.addIssue({ code: "custom", path: ["pattern"], message: "format regex needs a pattern" });
    }
    if (s.format === "csv") {
      s.fields.forEach((f, i) => {
        if (f.index === undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["fields", i, "index"],
            message: "csv fields need an index",
          });
        }
      });
    }
  });
