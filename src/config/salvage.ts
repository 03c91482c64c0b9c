// When the schema refuses a config, the checks across fields (duplicate names, references to
// tags, pins in use, tags past the address space) would otherwise wait for the next round,
// and a user would fix a file in rounds. The salvage takes out what the schema refused — a
// bad field (its default then applies), an unknown key, or, for a field that cannot be
// left out, the list entry holding it (a tag, a device, a rule) — and parses again, so those
// checks run on the rest. What they would say about entries taken out is left unsaid: a
// reference to a tag the schema refused is not a second problem.

import type { z } from "zod";
import { type Config, configSchema } from "./schema.js";

type Path = readonly PropertyKey[];
type Node = Record<string, unknown> | unknown[];

/** Marks a list entry taken out, so the other issues' indices still point at their entries. */
const HOLE = Symbol("taken out");

/** Problems a salvaged parse finds beyond the schema's; `check` runs the cross-field checks. */
export function salvageProblems(
  doc: unknown,
  issues: readonly z.core.$ZodIssue[],
  check: (config: Config) => string[],
): string[] {
  const copy = structuredClone(doc ?? {}) as Node;
  const removed: string[] = [];
  const tried = new Set<string>();
  let pending = issues;
  // Each round takes out what the last refused; a few rounds reach a parse that holds.
  for (let round = 0; round < 8; round++) {
    for (const issue of pending) takeOut(copy, issue, removed, tried);
    closeHoles(copy);
    const result = configSchema.safeParse(copy);
    if (result.success) {
      return check(result.data).filter((p) => !removed.some((name) => p.includes(name)));
    }
    pending = result.error.issues;
  }
  return [];
}

/**
 * Takes out what an issue names: its unknown keys; else the bad field, so that its default
 * applies; else, once that field was taken out already (it has no default), the innermost
 * list entry that holds it.
 */
function takeOut(root: Node, issue: z.core.$ZodIssue, removed: string[], tried: Set<string>) {
  const path = issue.path;
  if (issue.code === "unrecognized_keys") {
    const target = walk(root, path);
    if (target && !Array.isArray(target)) for (const key of issue.keys) delete target[key];
    return;
  }
  const field = path.at(-1);
  const parent = walk(root, path.slice(0, -1));
  const key = path.map(String).join(".");
  if (typeof field === "string" && parent && !Array.isArray(parent) && !tried.has(key)) {
    tried.add(key);
    delete parent[field];
    return;
  }
  for (let i = path.length - 1; i >= 0; i--) {
    const list = walk(root, path.slice(0, i));
    if (Array.isArray(list) && typeof path[i] === "number") {
      removed.push(...namesIn(root, path.slice(0, i + 1)));
      list[path[i] as number] = HOLE;
      return;
    }
  }
}

function closeHoles(node: unknown): void {
  if (node === null || typeof node !== "object") return;
  const values = Array.isArray(node) ? node : Object.values(node);
  if (Array.isArray(node)) {
    const kept = node.filter((v) => v !== HOLE);
    node.splice(0, node.length, ...kept);
  }
  for (const v of values) closeHoles(v);
}

function walk(root: Node, path: Path): Node | undefined {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[key as string];
  }
  return node !== null && typeof node === "object" ? (node as Node) : undefined;
}

/**
 * The names a taken-out entry answers to elsewhere in the config: a tag as `device.tag`, a
 * device or sensor as `device.` (all its tags), a rule or line by its own name.
 */
function namesIn(root: Node, path: Path): string[] {
  const entry = walk(root, path) as Record<string, unknown> | undefined;
  const name = typeof entry?.name === "string" ? entry.name : undefined;
  if (!name) return [];
  const [section, c, sub, d] = path;
  if (section === "connections" && sub === "devices" && path.length > 4) {
    const device = walk(root, ["connections", c as number, "devices", d as number]);
    const deviceName = (device as Record<string, unknown> | undefined)?.name;
    return typeof deviceName === "string" ? [`"${deviceName}.${name}"`] : [];
  }
  if (section === "connections" && path.length === 2) {
    const devices = (entry?.devices ?? []) as Array<{ name?: unknown }>;
    return devices.filter((dev) => typeof dev?.name === "string").map((dev) => `"${dev.name}.`);
  }
  if (section === "sensors" && path.length > 2) {
    const sensor = walk(root, ["sensors", c as number]) as Record<string, unknown> | undefined;
    return [`"${String(sensor?.name)}.${name}"`];
  }
  if (section === "connections" || section === "sensors") return [`"${name}.`];
  return [`"${name}"`];
}
