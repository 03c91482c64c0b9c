// How tests find the public data sets: PLANTGATE_DATA_DIR, else ../shared/data beside the
// repository. Missing data fails a test under CI (CI=true) and skips it elsewhere.

import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const underCi = process.env.CI === "true";

export function dataDir(): string {
  return process.env.PLANTGATE_DATA_DIR ?? resolve(repoRoot, "../shared/data");
}

/** The path of a data file, or a reason it is missing. */
export function dataFile(rel: string): { path: string; missing?: string } {
  const path = join(dataDir(), rel);
  if (existsSync(path)) return { path };
  return { path, missing: `data file ${path} not found (set PLANTGATE_DATA_DIR)` };
}

/**
 * Call at the top of a describe block that needs a prerequisite. Under CI a missing
 * prerequisite is an error; elsewhere the block is skipped with the reason printed.
 */
export function requireOrSkip(missing: string | undefined): boolean {
  if (!missing) return true;
  if (underCi) throw new Error(`required under CI: ${missing}`);
  console.warn(`skipping: ${missing}`);
  return false;
}
