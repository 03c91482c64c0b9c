import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { storeSchema } from "../../src/config/schema.js";
import { systemClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/logger.js";
import { Store } from "../../src/store/store.js";
import { FakeClock, good, query, testStore } from "./support.js";

function store(path: string) {
  return new Store({
    path,
    config: storeSchema.parse({}),
    tags: [],
    clock: systemClock,
    logger: silentLogger(),
  });
}

/**
 * Damage inside a real database that leaves it openable: the first cell of a table leaf
 * page past the middle of the file gets a rowid out of order. Returns that page's number.
 */
function corruptMiddlePage(path: string): number {
  const pages = statSync(path).size / 4096;
  const fd = openSync(path, "r+");
  const page = Buffer.alloc(4096);
  try {
    for (let p = Math.floor(pages / 2); p < pages; p++) {
      readSync(fd, page, 0, 4096, p * 4096);
      if (page[0] !== 0x0d) continue; // a table leaf page
      let at = page.readUInt16BE(8); // its first cell: payload size, then rowid (varints)
      while ((page[at] as number) & 0x80) at++;
      at++;
      const twoBytes = (page[at] as number) & 0x80 && !((page[at + 1] as number) & 0x80);
      if (!twoBytes) continue;
      writeSync(fd, Buffer.from([0xff, 0x7f]), 0, 2, p * 4096 + at); // rowid 16383
      return p + 1;
    }
  } finally {
    closeSync(fd);
  }
  throw new Error("no table leaf page to corrupt");
}

describe("recovery at start", () => {
  it("moves aside a database whose pages fail the quick check, loudly; new epoch", async () => {
    const first = await testStore();
    first.store.write(Array.from({ length: 20_000 }, (_, i) => good("m.a", i, i)));
    const oldEpoch = first.store.epoch;
    await first.store.stop(); // the last close checkpoints the WAL into the file
    const size = statSync(first.path).size;
    const damaged = corruptMiddlePage(first.path);
    expect(damaged).toBeGreaterThan(size / 4096 / 2);

    const clock = new FakeClock();
    const second = await testStore({}, [], first.path, clock);
    const epoch = second.store.epoch;
    await second.store.stop();

    expect(epoch).toMatch(/^[0-9a-f-]{36}$/);
    expect(epoch).not.toBe(oldEpoch);
    // Moved aside whole, named with the time it happened.
    const aside = `${first.path}.corrupt-2023-11-14T22-13-20-000Z`;
    expect(new Date(clock.now()).toISOString()).toBe("2023-11-14T22:13:20.000Z");
    expect(statSync(aside).size).toBe(size);
    const problem = `page ${damaged} cell 0: Rowid 16383 out of order`;
    const loud = second.lines.filter((l) => l.level >= 50 && /integrity check/.test(l.msg));
    expect(loud).toHaveLength(1);
    expect(loud[0]).toMatchObject({ movedTo: aside, epochId: epoch });
    expect(String(loud[0]?.reason)).toContain(problem);

    const [incident] = query<{ message: string; data: string }>(
      first.path,
      "SELECT message, data FROM events WHERE kind = 'store.incident'",
    );
    expect(incident?.message).toBe(
      `database failed its integrity check: moved aside to ${aside}; new epoch`,
    );
    expect(JSON.parse(incident?.data as string)).toMatchObject({ movedTo: aside, epochId: epoch });
    const [meta] = query<{ value: string }>(
      first.path,
      "SELECT value FROM meta WHERE key = 'epoch_id'",
    );
    expect(meta?.value).toBe(epoch);
    expect(query(first.path, "SELECT count(*) AS n FROM readings")).toEqual([{ n: 0n }]);
  });

  it("moves a corrupt database aside and starts a fresh one with a new epoch", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pg-rec-"));
    const path = join(dir, "plantgate.db");
    const first = store(path);
    await first.start();
    const oldEpoch = first.epoch;
    await first.stop();

    // Overwrite the middle of the file: pages of the schema and data become garbage.
    const garbage = Buffer.alloc(8192, 0xa5);
    writeFileSync(path, Buffer.concat([Buffer.from("SQLite format 3\0"), garbage]));

    const second = store(path);
    await second.start();
    expect(second.epoch).not.toBe(oldEpoch);
    await second.stop();

    const aside = readdirSync(dir).filter(
      (f) => f.startsWith("plantgate.db.corrupt-") && !f.endsWith("-wal") && !f.endsWith("-shm"),
    );
    expect(aside).toHaveLength(1);
    const db = new Database(path, { readonly: true });
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    const incident = db
      .prepare("SELECT message, data FROM events WHERE kind = 'store.incident'")
      .get() as { message: string; data: string };
    db.close();
    expect(incident.message).toMatch(/integrity check.*moved aside/);
    expect(JSON.parse(incident.data).movedTo).toBe(join(dir, aside[0] as string));
    expect(existsSync(join(dir, aside[0] as string))).toBe(true);
  });

  it("moves aside a file that is not a database at all", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pg-rec-"));
    const path = join(dir, "plantgate.db");
    writeFileSync(path, "this is not a database\n".repeat(100));
    const s = store(path);
    await s.start();
    expect(s.epoch).toMatch(/^[0-9a-f-]{36}$/);
    await s.stop();
    expect(readdirSync(dir).some((f) => f.startsWith("plantgate.db.corrupt-"))).toBe(true);
  });
});
