// The local control channel: the CLI reaches a running daemon through a Unix socket in the
// state directory. One JSON request per line, one JSON response per line. Only local users
// with access to the state directory can connect; the socket is created mode 0660.

import { chmodSync, existsSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import type { Component, Health } from "../core/lifecycle.js";
import type { Logger } from "../core/logger.js";

export const SOCKET_NAME = "plantgate.sock";

export type Handler = (args: Record<string, unknown>) => unknown | Promise<unknown>;

interface Request {
  command: string;
  args?: Record<string, unknown>;
}

export type Response = { ok: true; result: unknown } | { ok: false; error: string };

export class ControlServer implements Component {
  readonly name = "control";
  private server?: Server;
  private requests = 0;
  private readOnly = false;

  constructor(
    private readonly path: string,
    private readonly handlers: Record<string, Handler>,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const dir = dirname(this.path);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new Error(`state directory ${dir} cannot be made: ${(err as Error).message}`);
    }
    if (!statSync(dir).isDirectory()) throw new Error(`state directory ${dir} is not a directory`);
    try {
      await this.listen();
    } catch (err) {
      this.refuse(dir, err as NodeJS.ErrnoException);
    }
  }

  private async listen(): Promise<void> {
    await this.removeStale();
    const server = createServer((sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.path, () => resolve());
    });
    chmodSync(this.path, 0o660);
    this.server = server;
    this.logger.info({ socket: this.path }, "control channel listening");
  }

  /**
   * A state directory on a file system that went read-only (an SD card after I/O errors)
   * must not keep the gateway from polling and driving its outputs: it runs on without the
   * channel, and says so. Any other failure stops the start, with what to do.
   */
  private refuse(dir: string, err: NodeJS.ErrnoException): void {
    if (err.code === "EROFS") {
      this.readOnly = true;
      this.logger.error(
        { socket: this.path, err: err.message },
        "state directory is read-only: no control channel, so plantgate status cannot reach " +
          "this daemon; polling, rules and outputs go on, readings wait in memory",
      );
      return;
    }
    if (err.code === "EACCES" || err.code === "EPERM") {
      throw new Error(
        `state directory ${dir} is not writable for this user (${err.code}): give it to the ` +
          "user plantgate runs as, or set gateway.stateDir",
      );
    }
    throw err;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  health(): Health {
    const status = this.server ? "ok" : this.readOnly ? "degraded" : "down";
    return { status, requests: this.requests, readOnly: this.readOnly };
  }

  /** A socket file left by a daemon that died is removed; a live one means we are not alone. */
  private async removeStale(): Promise<void> {
    if (!existsSync(this.path)) return;
    const alive = await controlRequest(this.path, "ping").then(
      () => true,
      () => false,
    );
    if (alive) throw new Error(`another plantgate is running (control socket ${this.path})`);
    unlinkSync(this.path);
  }

  private serve(sock: Socket): void {
    let buffered = "";
    sock.setEncoding("utf8");
    sock.on("error", () => sock.destroy());
    sock.on("data", (chunk: string) => {
      buffered += chunk;
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        void this.answer(line).then((res) => sock.write(`${JSON.stringify(res)}\n`));
        nl = buffered.indexOf("\n");
      }
    });
  }

  private async answer(line: string): Promise<Response> {
    this.requests++;
    try {
      const req = JSON.parse(line) as Request;
      if (req.command === "ping") return { ok: true, result: "pong" };
      const handler = this.handlers[req.command];
      if (!handler) return { ok: false, error: `unknown command "${req.command}"` };
      return { ok: true, result: await handler(req.args ?? {}) };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }
}

/** Sends one command to the daemon and resolves with its result. */
export function controlRequest(
  path: string,
  command: string,
  args: Record<string, unknown> = {},
  timeoutMs = 5000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buffered = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(`${JSON.stringify({ command, args })}\n`));
    sock.on("error", (err) => {
      clearTimeout(timer);
      const code = (err as NodeJS.ErrnoException).code;
      // A daemon whose state directory went read-only runs without its socket: a missing
      // socket does not prove that none is running.
      const why =
        code === "ENOENT"
          ? "no control socket there (no plantgate is running with this state directory, or " +
            "it runs without its socket because the directory is read-only: see its log)"
          : code === "ECONNREFUSED"
            ? "no plantgate is running with this state directory"
            : err.message;
      reject(new Error(`cannot reach plantgate at ${path}: ${why}`));
    });
    sock.on("data", (chunk: string) => {
      buffered += chunk;
      if (!buffered.includes("\n")) return;
      clearTimeout(timer);
      sock.end();
      const res = JSON.parse(buffered.slice(0, buffered.indexOf("\n"))) as Response;
      if (res.ok) resolve(res.result);
      else reject(new Error(res.error));
    });
  });
}
