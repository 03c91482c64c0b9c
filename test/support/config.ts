// Test configs derived from the shipped ones: read, substitute, override, write to a temp dir.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { substituteEnv } from "../../src/config/load.js";
import { repoRoot } from "./data.js";

type Doc = Record<string, any>;

/** Loads config/NAME with the given environment, lets `edit` change it, writes it to dir. */
export function deriveConfig(
  name: string,
  env: Record<string, string>,
  dir: string,
  edit: (doc: Doc) => void,
): string {
  const raw = readFileSync(join(repoRoot, "config", name), "utf8");
  const doc = parse(substituteEnv(raw, env).text) as Doc;
  edit(doc);
  const file = join(dir, name);
  writeFileSync(file, stringify(doc));
  return file;
}
