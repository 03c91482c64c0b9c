// The config's alert rules and the output lines they drive. Part of schema.ts, the root.

import { z } from "zod";
import { name } from "./schema-common.js";

const levelsSchema = z
  .strictObject({ warning: z.number().optional(), alarm: z.number().optional() })
  .refine((l) => l.warning !== undefined || l.alarm !== undefined, {
    message: "give a warning level, an alarm level or both",
  });

export const ruleSchema = z
  .strictObject({
    name,
    /** "prediction" (the model's predicted target) or a tag name. */
    signal: z.string().default("prediction"),
    below: levelsSchema.optional(),
    above: levelsSchema.optional(),
    /** The signal must come back past a level by this much before the severity drops. */
    hysteresis: z.number().min(0).default(0),
    /** A new severity must hold this long before it is raised or cleared. */
    debounceMs: z.number().int().min(0).default(5000),
  })
  .refine((r) => (r.below === undefined) !== (r.above === undefined), {
    message: "give exactly one of below or above",
  })
  .superRefine((r, ctx) => {
    // Falling through a "below" rule, the warning must come before the alarm (and the
    // other way round for "above"); else the alarm would be raised first.
    const levels = r.below ?? r.above;
    if (levels?.warning === undefined || levels.alarm === undefined) return;
    const ordered = r.below ? levels.alarm < levels.warning : levels.alarm > levels.warning;
    if (!ordered) {
      const side = r.below ? "below" : "above";
      const must = r.below ? "lower" : "higher";
      ctx.addIssue({
        code: "custom",
        path: [side, "alarm"],
        message: `the alarm level must be ${must} than the warning level`,
      });
    }
  });

export const SEVERITIES = ["ok", "warning", "alarm"] as const;

export const outputLineSchema = z.strictObject({
  name,
  /** GPIO line number (BCM numbering on a Raspberry Pi; sysfs numbers can reach 1023). */
  gpio: z.number().int().min(0).max(1023),
  /**
   * States at which the line is driven active: severities, and `unknown` for a lamp that
   * says the rule cannot judge (its signal is missing, e.g. no prediction while a device is
   * down). A line not active on unknown sits at its safe level then.
   */
  activeOn: z.array(z.enum([...SEVERITIES, "unknown"])).min(1),
  /** Electrical level that means active. */
  activeLevel: z.union([z.literal(0), z.literal(1)]).default(1),
  /** Level at start, on stop and whenever the state is unknown. */
  safeLevel: z.union([z.literal(0), z.literal(1)]).default(0),
  /** Rule whose severity drives the line; default: the worst of all rules. */
  rule: z.string().optional(),
});

export const outputsSchema = z.strictObject({
  /** auto: real GPIO through onoff where the kernel offers it, else virtual. */
  driver: z.enum(["auto", "onoff", "virtual"]).default("auto"),
  /** File where the virtual driver records its line levels; relative to `stateDir`. */
  stateFile: z.string().default("outputs.json"),
  lines: z.array(outputLineSchema).default([]),
});
