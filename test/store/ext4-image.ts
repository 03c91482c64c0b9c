// A small ext4 file system on a loop device, for the one fault a tmpfs cannot show: a file
// system turning read-only under a program that holds its files open for writing. Linux
// refuses `mount -o remount,ro` while any file is open for writing (EBUSY), and SQLite
// keeps its database open read-write; what does turn a mount read-only under open files
// is the kernel itself, when ext4 meets an error and `errors=remount-ro` is set — the
// usual way an SD card's file system goes read-only in the field. ext4's sysfs
// `trigger_fs_error` raises such an error on purpose. The flag it sets lasts as long as
// that mount, so "writable again" is a fresh mount of the same image on top.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

function run(args: string[]): { out: string; err?: string } {
  const r = spawnSync(args[0] as string, args.slice(1), { encoding: "utf8" });
  if (r.error) return { out: "", err: r.error.message };
  if (r.status !== 0) return { out: r.stdout, err: (r.stderr || `exit ${r.status}`).trim() };
  return { out: r.stdout.trim() };
}

export class Ext4Image {
  readonly dir = mkdtempSync(join(tmpdir(), "pg-ext4-"));
  private readonly image = join(mkdtempSync(join(tmpdir(), "pg-img-")), "fs.img");
  private readonly devices: string[] = [];
  private mounts = 0;

  /** Undefined when made and mounted, else why not (no loop devices, no mkfs.ext4, …). */
  create(sizeMb: number): string | undefined {
    const steps = [
      ["truncate", "-s", `${sizeMb}M`, this.image],
      ["mkfs.ext4", "-q", "-F", "-O", "^has_journal", this.image],
    ];
    for (const step of steps) {
      const { err } = run(step);
      if (err) return `cannot make an ext4 image (${step[0]}): ${err}`;
    }
    return this.attach();
  }

  /** What the kernel does on an ext4 error: the mount turns read-only under open files. */
  forceReadOnly(): void {
    // Everything written so far reaches the image first, as it would have on a card.
    run(["sync", "-f", this.dir]);
    const dev = basename(this.devices.at(-1) as string);
    writeFileSync(`/sys/fs/ext4/${dev}/trigger_fs_error`, "plantgate test");
  }

  /** The file system is writable again: the image mounted afresh, on top of the old mount. */
  writableAgain(): void {
    const err = this.attach();
    if (err) throw new Error(err);
  }

  /** Unmounts everything and frees the loop devices; safe to call more than once. */
  cleanup(): void {
    for (; this.mounts > 0; this.mounts--) run(["umount", "-l", this.dir]);
    for (const dev of this.devices.splice(0)) run(["losetup", "-d", dev]);
    if (existsSync(this.image)) rmSync(this.image);
  }

  private attach(): string | undefined {
    // A loop device of its own each time: the old mount's device keeps its read-only flag.
    const loop = run(["losetup", "-f", "--show", this.image]);
    if (loop.err) return `cannot attach a loop device: ${loop.err}`;
    this.devices.push(loop.out);
    const mount = run(["mount", "-t", "ext4", "-o", "errors=remount-ro", loop.out, this.dir]);
    if (mount.err) return `cannot mount ext4: ${mount.err}`;
    this.mounts++;
    const dev = basename(loop.out);
    if (!existsSync(`/sys/fs/ext4/${dev}/trigger_fs_error`)) {
      return "this kernel's ext4 has no trigger_fs_error";
    }
    return undefined;
  }
}
