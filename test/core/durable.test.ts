// Durable file replacement: the new content whole, no temporary file left behind, and the
// old content untouched when the write fails.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { replaceFile } from "../../src/core/durable.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "plantgate-durable-"));
  dirs.push(d);
  return d;
}

describe("replaceFile", () => {
  it("replaces the content whole and leaves only the file", async () => {
    const dir = tempDir();
    const path = join(dir, "current");
    writeFileSync(path, "v000001\n");
    await replaceFile(path, "v000002\n");
    expect(readFileSync(path, "utf8")).toBe("v000002\n");
    expect(readdirSync(dir)).toEqual(["current"]);
  });

  it("keeps the old content when the new one cannot be written", async () => {
    const dir = tempDir();
    const path = join(dir, "state.json");
    writeFileSync(path, '{"a":1}\n');
    // A path under a regular file cannot be created: the temporary write fails.
    await expect(replaceFile(join(path, "nested"), "x")).rejects.toThrow(/ENOTDIR/);
    expect(readFileSync(path, "utf8")).toBe('{"a":1}\n');
    expect(readdirSync(dir)).toEqual(["state.json"]);
  });
});
