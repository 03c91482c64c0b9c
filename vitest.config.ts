import { defineConfig } from "vitest/config";

// Two projects: unit and integration tests run in parallel; end-to-end tests (the real
// daemon against peers, with timing assertions from stored timestamps) run one file at a
// time, so that they do not starve each other of the machine's cores.
const E2E = ["test/e2e/**/*.test.ts", "test/faults/**/*.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    projects: [
      { extends: true, test: { name: "unit", include: ["test/**/*.test.ts"], exclude: E2E } },
      { extends: true, test: { name: "e2e", include: E2E, fileParallelism: false } },
    ],
  },
});
