// Test configs derived from the shipped ones: read, substitute, override, write to a temp dir.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { parseWithEnv } from "../../src/config/load.js";
import { repoRoot } from "./data.js";

// biome-ignore lint/suspicious/noExplicitAny: tests edit config documents freely
type Doc = Record<string, any>;

/** Loads config/NAME with the given environment, lets `edit` change it, writes it to dir. */
export function deriveConfig(
  name: string,
  env: Record<string, string>,
  dir: string,
  edit: (doc: Doc) => void,
): string {
  const raw = readFileSync(join(repoRoot, "config", name), "utf8");
  const doc = parseWithEnv(raw, env).doc as Doc;
  edit(doc);
  const file = join(dir, name);
  writeFileSync(file, stringify(doc));
  return file;
}
