import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/data.js";

// A child process, so that `--expose-gc` gives a heap figure after a real collection, and
// tf's engine counts only this loop's tensors. It runs the compiled modules: `npm test`
// builds first (pretest).
describe("train/predict cycles", () => {
  it.each([1, 3])(
    "leave no tensors behind and no growing heap over 1,000 cycles (ensemble %i)",
    (ensemble) => {
      const script = join(repoRoot, "test/model/support/leak-cycles.mjs");
      const run = spawnSync(process.execPath, ["--expose-gc", script, "1000", String(ensemble)], {
        encoding: "utf8",
        timeout: 110_000,
      });
      expect(run.status, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout.trim().split("\n").at(-1) as string);
      console.log(`leak check: ${JSON.stringify(result)}`);

      expect(result.tensorsAtEnd).toBe(result.tensorsAfterWarmup);
      const grewMb = (result.heapAtEnd - result.heapAt100) / 2 ** 20;
      expect(grewMb).toBeLessThan(5);
    },
    120_000,
  );
});
