import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { storeSchema } from "../../src/config/schema.js";
import { systemClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/logger.js";
import { GOOD, type Reading } from "../../src/core/reading.js";
import { ReadingExport } from "../../src/store/export.js";
import { Store } from "../../src/store/store.js";
import { repoRoot } from "../support/data.js";

/** A store holding `readings`; `rollUp` runs a retention pass, which makes the rollups. */
async function filled(readings: Reading[], rollUp = false) {
  const dir = mkdtempSync(join(tmpdir(), "pg-exp-"));
  const path = join(dir, "plantgate.db");
  const store = new Store({
    path,
    config: storeSchema.parse({}),
    tags: [],
    clock: systemClock,
    logger: silentLogger(),
  });
  await store.start();
  store.clockSynchronized();
  store.write(readings);
  if (rollUp) {
    store.flush();
    await store.runRetention();
  }
  await store.stop();
  return { dir, path };
}

/** A slow sink with a tiny buffer: the exporter must wait for it, not pile rows up. */
function slowSink() {
  const lines: string[] = [];
  let maxPending = 0;
  const sink = new Writable({
    highWaterMark: 256,
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      maxPending = Math.max(maxPending, sink.writableLength);
      setImmediate(done);
    },
  });
  const done = async () => {
    sink.end();
    await finished(sink);
  };
  return { sink, lines, done, maxPending: () => maxPending };
}

const big = 2n ** 63n - 1n;

describe("export", () => {
  it("writes exact values as JSON Lines and CSV, filtered by tag and time", async () => {
    const { path } = await filled([
      { tag: "m.counter", ts: 1000, value: big, quality: GOOD },
      { tag: "m.name", ts: 1000, value: 'PRESS "2", line A', quality: GOOD },
      { tag: "m.temp", ts: 2000, value: 21.5, quality: GOOD },
      {
        tag: "m.temp",
        ts: 3000,
        value: null,
        quality: { status: "bad", reason: "exception", exceptionCode: 2 },
      },
      { tag: "m.temp", ts: 4000, value: 22.5, quality: GOOD },
    ]);
    const exp = new ReadingExport(path);

    const json = slowSink();
    await exp.write({ includeBad: false }, "jsonl", json.sink);
    await json.done();
    const rows = json.lines.map((l) => JSON.parse(l));
    expect(rows.map((r) => r.tag)).toEqual(["m.counter", "m.name", "m.temp", "m.temp"]);
    expect(json.lines[0]).toContain(`"value":${big}`); // exact, not rounded to a double

    const csv = slowSink();
    await exp.write(
      { tags: ["m.name", "m.temp"], fromTs: 1000, toTs: 4000, includeBad: true },
      "csv",
      csv.sink,
    );
    await csv.done();
    expect(csv.lines[0]).toBe("id,time,ts,tag,value,quality,reason,exceptionCode,clockSynced");
    expect(csv.lines[1]).toContain('"PRESS ""2"", line A"');
    expect(csv.lines.slice(1).map((l) => l.split(",")[2])).toEqual(["1000", "2000", "3000"]);
    expect(csv.lines[3]).toMatch(/,bad,exception,2,1$/);
    exp.close();
  });

  it("streams a large table through a slow reader without buffering it", async () => {
    const n = 50_000;
    const { path } = await filled(
      Array.from({ length: n }, (_, i) => ({ tag: "m.a", ts: i, value: i, quality: GOOD })),
    );
    const exp = new ReadingExport(path);
    const out = slowSink();
    let progressCalls = 0;
    expect(await exp.write({ includeBad: false }, "csv", out.sink, () => progressCalls++)).toBe(n);
    exp.close();
    await out.done();
    expect(out.lines).toHaveLength(n + 1);
    expect(progressCalls).toBeGreaterThan(10);
    // Backpressure held: never more than a few rows waited in the sink's buffer.
    expect(out.maxPending()).toBeLessThan(2048);
  });

  it("runs from the CLI and says what is wrong without a stack trace", async () => {
    const { dir } = await filled([{ tag: "m.a", ts: 5, value: 7, quality: GOOD }]);
    const cfg = join(dir, "c.yaml");
    writeFileSync(cfg, `gateway: { stateDir: ${dir} }\n`);
    const cli = (args: string[]) =>
      spawnSync(
        process.execPath,
        [join(repoRoot, "dist/cli/main.js"), "export", "-c", cfg, ...args],
        {
          encoding: "utf8",
        },
      );

    const ok = cli(["--format", "jsonl"]);
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout.trim())).toMatchObject({ tag: "m.a", value: 7, ts: 5 });

    const bad = cli(["--from", "yesterday-ish"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--from "yesterday-ish" is not a time/);
    expect(bad.stderr).not.toMatch(/at .*\.js/);
  });

  it("writes rollup buckets for tags and a range; the CLI refuses --include-bad", async () => {
    const minute = 60_000;
    const base = Math.floor(Date.now() / minute) * minute - 10 * minute; // inside retention
    const bad = { status: "bad" as const, reason: "timeout" as const };
    const { dir, path } = await filled(
      [
        { tag: "m.counter", ts: base, value: big, quality: GOOD },
        { tag: "m.temp", ts: base + 1000, value: 20, quality: GOOD },
        { tag: "m.temp", ts: base + 2000, value: null, quality: bad },
        { tag: "m.temp", ts: base + 3000, value: 22, quality: GOOD },
        { tag: "m.temp", ts: base + minute, value: 30, quality: GOOD },
        { tag: "m.temp", ts: base + 2 * minute, value: 40, quality: GOOD },
      ],
      true,
    );
    const exp = new ReadingExport(path);
    const q = { tags: ["m.temp"], fromTs: base, toTs: base + 2 * minute, includeBad: false };
    expect(exp.count({ ...q, rollup: true })).toBe(2);

    const json = slowSink();
    await exp.write({ ...q, rollup: true }, "jsonl", json.sink);
    await json.done();
    expect(json.lines.map((l) => JSON.parse(l))).toEqual([
      {
        time: new Date(base).toISOString(),
        ts: base,
        tag: "m.temp",
        count: 2,
        bad: 1,
        min: 20,
        mean: 21,
        max: 22,
      },
      {
        time: new Date(base + minute).toISOString(),
        ts: base + minute,
        tag: "m.temp",
        count: 1,
        bad: 0,
        min: 30,
        mean: 30,
        max: 30,
      },
    ]);

    const csv = slowSink();
    await exp.write({ includeBad: false, rollup: true }, "csv", csv.sink);
    await csv.done();
    expect(csv.lines[0]).toBe("time,ts,tag,count,bad,min,mean,max");
    expect(csv.lines).toHaveLength(5); // a header, the counter's bucket, three temperatures
    expect(csv.lines[1]).toMatch(/,m\.counter,1,0,9223372036854776000,9223372036854776000,/);
    exp.close();

    const cfg = join(dir, "c.yaml");
    writeFileSync(cfg, `gateway: { stateDir: ${dir} }\n`);
    const cli = (args: string[]) =>
      spawnSync(
        process.execPath,
        [join(repoRoot, "dist/cli/main.js"), "export", "-c", cfg, ...args],
        {
          encoding: "utf8",
        },
      );
    const ok = cli(["--rollup", "--tags", "m.temp", "--from", String(base + minute)]);
    expect(ok.status).toBe(0);
    expect(ok.stdout.trim().split("\n").slice(1)).toEqual([
      `${new Date(base + minute).toISOString()},${base + minute},m.temp,1,0,30,30,30`,
      `${new Date(base + 2 * minute).toISOString()},${base + 2 * minute},m.temp,1,0,40,40,40`,
    ]);
    expect(ok.stderr).toContain("exported 2 rollup buckets");
    const refused = cli(["--rollup", "--include-bad"]);
    expect(refused.status).toBe(2);
    expect(refused.stderr.trim().split("\n")).toEqual([
      "plantgate: --include-bad does not apply to --rollup: each bucket counts its bad readings",
    ]);
  });
});
