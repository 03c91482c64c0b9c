import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { storeSchema } from "../../src/config/schema.js";
import { systemClock } from "../../src/core/clock.js";
import { silentLogger } from "../../src/core/logger.js";
import { Store } from "../../src/store/store.js";

function store(path: string) {
  return new Store({
    path,
    config: storeSchema.parse({}),
    tags: [],
    clock: systemClock,
    logger: silentLogger(),
  });
}

describe("recovery at start", () => {
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
