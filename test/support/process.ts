// Child processes for end-to-end tests: the real `plantgate run`, and peers. Each is killed
// in the test's cleanup even when the test fails.

import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { repoRoot } from "./data.js";

export type LogLine = Record<string, unknown> & { msg?: string; level?: number; time?: string };

export class Proc {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  private waiters: Array<() => void> = [];

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch {
        parsed = { msg: line, raw: true };
      }
      this.lines.push(parsed);
      for (const w of this.waiters) w();
    });
    createInterface({ input: child.stderr! }).on("line", (line) => this.stderr.push(line));
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  /** Resolves with the first log line matching, or rejects after timeoutMs. */
  waitFor(match: (l: LogLine) => boolean, timeoutMs: number, what = "log line"): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lines.find(match);
        if (!found) return false;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== onLine);
        resolve(found);
        return true;
      };
      const onLine = () => void check();
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== onLine);
        const tail = [...this.lines.slice(-5), ...this.stderr.slice(-5)];
        reject(new Error(`timed out waiting for ${what}; last output: ${JSON.stringify(tail)}`));
      }, timeoutMs);
      if (!check()) this.waiters.push(onLine);
    });
  }

  find(msg: string): LogLine[] {
    return this.lines.filter((l) => l.msg === msg);
  }

  /** `signal`, then SIGKILL if it has not exited within graceMs. Resolves with the exit code. */
  async stop(graceMs = 15000, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** Starts `node dist/cli/main.js ARGS` (the built CLI: `npm test` builds first). */
export function startPlantgate(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [join(repoRoot, "dist/cli/main.js"), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Proc(child);
}

export function startProcess(cmd: string, args: string[]): Proc {
  return new Proc(spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] }));
}
