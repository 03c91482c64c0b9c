// Tag name → row id, cached. Tags are registered in a transaction of their own, before the
// batch that needs them, and cached only once that transaction has committed: a batch that
// rolls back can never leave the cache pointing at a row that does not exist.

import type Database from "better-sqlite3";

export interface TagInfo {
  name: string;
  device: string;
  type: string;
  unit?: string;
}

const UPSERT = `INSERT INTO tags (name, device, type, unit) VALUES (?, ?, ?, ?)
  ON CONFLICT(name) DO UPDATE SET device = excluded.device, type = excluded.type,
  unit = excluded.unit`;

export class TagIds {
  private readonly ids = new Map<string, number>();

  get map(): ReadonlyMap<string, number> {
    return this.ids;
  }

  /** A new database (reopened, or moved aside): ids of the old one mean nothing there. */
  clear(): void {
    this.ids.clear();
  }

  /** Registers (or updates) these tags; their ids are cached once the commit succeeded. */
  register(db: Database.Database, tags: readonly TagInfo[]): void {
    if (!tags.length) return;
    const upsert = db.prepare(UPSERT);
    const select = db.prepare("SELECT id FROM tags WHERE name = ?").pluck();
    const found = db.transaction(() =>
      tags.map((t) => {
        upsert.run(t.name, t.device, t.type, t.unit ?? null);
        return [t.name, select.get(t.name) as number] as const;
      }),
    )();
    for (const [name, id] of found) this.ids.set(name, id);
  }

  /** Registers tag names never seen before (not in the config), with type "unknown". */
  ensureNames(db: Database.Database, names: Iterable<string>): void {
    const missing = new Map<string, TagInfo>();
    for (const name of names) {
      if (this.ids.has(name) || missing.has(name)) continue;
      missing.set(name, { name, device: name.split(".")[0] ?? name, type: "unknown" });
    }
    this.register(db, [...missing.values()]);
  }

  id(name: string): number {
    const id = this.ids.get(name);
    if (id === undefined) throw new Error(`tag ${name} is not registered: call ensureNames`);
    return id;
  }
}
