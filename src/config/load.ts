// Reading a config file: environment variables are substituted into the YAML text, the
// text is parsed, then validated by the one schema. Every problem is reported at once,
// each with the path of the bad field.

import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { parseDocument, parse as parseYaml, visit } from "yaml";
import type { z } from "zod";
import { SYSTEM_RULES } from "../alerts/system-rules.js";
import { parseFormula } from "../preprocess/formula.js";
import { busProblems } from "./bus-checks.js";
import { connectionProblems, connectionWarnings } from "./device-checks.js";
import { salvageProblems } from "./salvage.js";
import { type Config, configSchema } from "./schema.js";

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length} problem(s)\n  ${problems.join("\n  ")}`);
  }
}

const VAR = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** `${NAME}` and `${NAME:-default}` are replaced; `$$` stands for a literal `$`. */
export function substituteEnv(
  text: string,
  env: NodeJS.ProcessEnv,
): { text: string; missing: string[] } {
  const missing: string[] = [];
  const out = text.replace(VAR, (whole, name?: string, fallback?: string) => {
    if (whole === "$$") return "$";
    const value = env[name as string];
    if (value !== undefined && value !== "") return value;
    if (fallback !== undefined) return fallback;
    missing.push(name as string);
    return "";
  });
  return { text: out, missing };
}

function formatIssues(issues: z.core.$ZodIssue[]): string[] {
  return issues.map((i) => `${i.path.length ? i.path.join(".") : "(top)"}: ${i.message}`);
}

/** Checks that span several fields: unique names, tags the learning and rules refer to. */
export function crossCheck(config: Config): string[] {
  const problems: string[] = [];
  const tags = new Set<string>();
  const devices = new Set<string>();

  config.sensors.forEach((sensor, i) => {
    if (devices.has(sensor.name))
      problems.push(`sensors.${i}.name: "${sensor.name}" defined twice`);
    devices.add(sensor.name);
    sensor.fields.forEach((field, f) => {
      const full = `${sensor.name}.${field.name}`;
      if (tags.has(full))
        problems.push(`sensors.${i}.fields.${f}.name: tag "${full}" defined twice`);
      tags.add(full);
    });
  });

  config.connections.forEach((conn, c) => {
    problems.push(...connectionProblems(conn, c));
    conn.devices.forEach((dev, d) => {
      if (devices.has(dev.name)) {
        problems.push(`connections.${c}.devices.${d}.name: device "${dev.name}" defined twice`);
      }
      devices.add(dev.name);
      dev.groups.forEach((group, g) => {
        group.tags.forEach((tag, t) => {
          const full = `${dev.name}.${tag.name}`;
          const at = `connections.${c}.devices.${d}.groups.${g}.tags.${t}.name`;
          if (tags.has(full)) problems.push(`${at}: tag "${full}" defined twice`);
          tags.add(full);
        });
      });
    });
  });
  problems.push(...busProblems(config));

  const learning = config.learning;
  if (learning) {
    if (!learning.formula && !tags.has(learning.target)) {
      problems.push(`learning.target: no tag "${learning.target}" (tags are device.tag)`);
    }
    if (learning.formula && tags.has(learning.target)) {
      problems.push(`learning.target: with a formula, name the target apart from the tags`);
    }
    if (learning.formula) {
      try {
        parseFormula(learning.formula, tags);
      } catch (err) {
        problems.push(`learning.formula: ${(err as Error).message}`);
      }
    }
    for (const [key, list] of [
      ["preprocessing", learning.preprocessing],
      ["counters", learning.counters],
    ] as const) {
      list.forEach((entry, i) => {
        if (!tags.has(entry.tag)) problems.push(`learning.${key}.${i}.tag: no tag "${entry.tag}"`);
      });
    }
    learning.features?.forEach((f, i) => {
      if (!tags.has(f)) problems.push(`learning.features.${i}: no tag "${f}"`);
      if (f === learning.target) problems.push(`learning.features.${i}: the target is no input`);
    });
  }

  config.alerts.rules.forEach((rule, r) => {
    if (rule.signal === "prediction" && !learning) {
      problems.push(`alerts.rules.${r}.signal: "prediction" needs a learning section`);
    } else if (rule.signal !== "prediction" && !tags.has(rule.signal)) {
      problems.push(`alerts.rules.${r}.signal: no tag "${rule.signal}"`);
    }
  });

  const seen = new Map<string, number>();
  config.alerts.rules.forEach((rule, r) => {
    if (seen.has(rule.name))
      problems.push(`alerts.rules.${r}.name: rule "${rule.name}" defined twice`);
    seen.set(rule.name, r);
  });
  const lineNames = new Map<string, number>();
  const pins = new Map<number, string>();
  config.outputs.lines.forEach((line, i) => {
    if (lineNames.has(line.name)) {
      problems.push(`outputs.lines.${i}.name: line "${line.name}" defined twice`);
    }
    lineNames.set(line.name, i);
    const owner = pins.get(line.gpio);
    const gpio = `outputs.lines.${i}.gpio: gpio ${line.gpio}`;
    if (owner) problems.push(`${gpio} already used by ${owner}`);
    else pins.set(line.gpio, line.name);
  });

  const ruleNames = new Set([...config.alerts.rules, ...SYSTEM_RULES].map((r) => r.name));
  config.outputs.lines.forEach((line, i) => {
    if (line.rule && !ruleNames.has(line.rule)) {
      problems.push(`outputs.lines.${i}.rule: no rule "${line.rule}"`);
    }
  });
  return problems;
}

/**
 * Parses YAML and substitutes the environment into its string values (never into comments
 * or keys). A value that is one reference alone, like `port: ${PORT}`, takes the type the
 * substituted text has in YAML, so it can be a number or a boolean.
 */
export function parseWithEnv(
  raw: string,
  env: NodeJS.ProcessEnv,
): { doc: unknown; problems: string[] } {
  const document = parseDocument(raw);
  if (document.errors.length) {
    const problems = document.errors.map((e) => `not valid YAML: ${e.message}`);
    return { doc: undefined, problems };
  }
  // An empty file is a failed copy far more often than a wish to run with every default.
  if (document.contents === null) {
    return { doc: undefined, problems: ["the file holds no settings (empty, or comments only)"] };
  }

  const missing: string[] = [];
  const unterminated: string[] = [];
  visit(document, {
    Scalar(_key, node) {
      if (typeof node.value !== "string" || !node.value.includes("$")) return;
      if (node.value.replace(VAR, "").includes("${")) unterminated.push(node.value);
      const sub = substituteEnv(node.value, env);
      missing.push(...sub.missing);
      const whole = /^\$\{[^}]+\}$/.test(node.value);
      node.value = whole && sub.text !== "" ? parseYaml(sub.text) : sub.text;
    },
  });

  if (unterminated.length) {
    const problems = unterminated.map(
      (v) => `"${v}": a \${NAME} reference without its closing brace (write $$ for a literal $)`,
    );
    return { doc: undefined, problems };
  }
  if (missing.length) {
    return {
      doc: undefined,
      problems: [`environment variable(s) not set: ${[...new Set(missing)].join(", ")}`],
    };
  }
  return { doc: document.toJS(), problems: [] };
}

/** Validates an already parsed document; relative paths resolve against `baseDir`. */
export function parseConfig(doc: unknown, file: string, baseDir: string): Config {
  const result = configSchema.safeParse(doc ?? {});
  if (!result.success) {
    const issues = result.error.issues;
    const more = salvageProblems(doc, issues, crossCheck);
    throw new ConfigError(file, [...formatIssues(issues), ...more]);
  }

  const config = result.data;
  const problems = crossCheck(config);
  if (problems.length) throw new ConfigError(file, problems);

  if (!isAbsolute(config.gateway.stateDir)) {
    config.gateway.stateDir = resolve(baseDir, config.gateway.stateDir);
  }
  return config;
}

/**
 * Loads a config file. A relative `stateDir` resolves against the working directory,
 * so `./var` means the checkout's var/ when run from the repository.
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let raw: string;
  try {
    raw = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(file, [`cannot read: ${(err as Error).message}`]);
  }

  const { doc, problems } = parseWithEnv(raw, env);
  if (problems.length) throw new ConfigError(file, problems);
  return parseConfig(doc, file, process.cwd());
}

/**
 * Settings that are valid but probably not what was meant. The daemon logs them at start and
 * check-config prints them.
 */
export function configWarnings(config: Config): string[] {
  const warnings = config.connections.flatMap((conn, c) => connectionWarnings(conn, c));
  if (config.connections.length === 0 && config.sensors.length === 0) {
    warnings.push("(top): no connections and no sensors: nothing will be polled");
  }
  return warnings;
}

/** Every tag of the config, `device.tag` → its config, in definition order. */
export function listTags(config: Config) {
  const out = new Map<string, { device: string; unit?: string; type: string }>();
  for (const conn of config.connections) {
    for (const dev of conn.devices) {
      for (const group of dev.groups) {
        for (const tag of group.tags) {
          out.set(`${dev.name}.${tag.name}`, { device: dev.name, unit: tag.unit, type: tag.type });
        }
      }
    }
  }
  for (const sensor of config.sensors) {
    for (const field of sensor.fields) {
      out.set(`${sensor.name}.${field.name}`, {
        device: sensor.name,
        unit: field.unit,
        type: "float64",
      });
    }
  }
  return out;
}
