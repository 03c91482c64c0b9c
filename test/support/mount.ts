// A small tmpfs of its own, for tests of a full disk and a read-only file system. As root,
// file permissions do not stop writes; a mount does.

import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function run(args: string[]): string | undefined {
  const r = spawnSync(args[0] as string, args.slice(1), { encoding: "utf8" });
  if (r.error) return r.error.message;
  return r.status === 0 ? undefined : (r.stderr || `exit ${r.status}`).trim();
}

export class TmpfsMount {
  readonly dir = mkdtempSync(join(tmpdir(), "pg-mnt-"));
  private mounted = false;

  /** Undefined when mounted, else why not (no privilege to mount, say). */
  mount(sizeKb: number): string | undefined {
    const err = run(["mount", "-t", "tmpfs", "-o", `size=${sizeKb}k`, "tmpfs", this.dir]);
    this.mounted = !err;
    return err && `cannot mount a tmpfs here: ${err}`;
  }

  readOnly(ro: boolean): void {
    const err = run(["mount", "-o", `remount,${ro ? "ro" : "rw"}`, this.dir]);
    if (err) throw new Error(`remount ${ro ? "ro" : "rw"} failed: ${err}`);
  }

  unmount(): void {
    if (this.mounted) run(["umount", "-l", this.dir]);
    this.mounted = false;
  }
}
