// A Modbus TCP server written for fault tests, on node:net: it serves PeerUnits on one port
// and acts out their faults on the wire. Besides the units' faults it can bend the TCP
// framing: `coalesce` answers the requests that arrive together in one write (two response
// frames in one segment), and `splitUnit` cuts that unit's replies in two writes a moment
// apart (one frame over two segments, the next reply only after it). `stop()` closes the
// listener and every connection, as a PLC does when it restarts; `start()` listens on the
// same port again.

import { createServer, type Server, type Socket } from "node:net";
import type { PeerUnits } from "./fault-units.js";

const MBAP_LENGTH = 7;
/** How long a lone reply waits for a pipelined companion before it goes out alone. */
export const COALESCE_HOLD_MS = 10;

interface Reply {
  unitId: number;
  frame: Buffer;
}

export interface TcpPeerStats {
  connections: number;
  /** Writes that carried two or more response frames. */
  coalescedWrites: number;
  /** Responses sent in two writes. */
  splitReplies: number;
}

export class FaultTcpPeer {
  coalesce = false;
  splitUnit: number | undefined;
  /** Pause between the two halves of a split reply. */
  splitPauseMs = 15;
  readonly stats: TcpPeerStats = { connections: 0, coalescedWrites: 0, splitReplies: 0 };
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Per connection, the writes so far: each next one waits for them. */
  private readonly writing = new Map<Socket, Promise<void>>();

  constructor(
    readonly units: PeerUnits,
    readonly port: number,
  ) {}

  async start(): Promise<void> {
    const server = createServer((socket) => this.serve(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
  }

  /** Closes the listener and drops every connection at once. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.stats.connections++;
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("error", () => {});
    socket.on("close", () => {
      this.sockets.delete(socket);
      this.writing.delete(socket);
    });
    const held: Reply[] = [];
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= MBAP_LENGTH + 1) {
        const total = 6 + pending.readUInt16BE(4);
        if (pending.length < total) break;
        const reply = this.answer(socket, pending.subarray(0, total));
        pending = pending.subarray(total);
        if (reply) held.push(reply);
      }
      this.release(socket, held);
    });
  }

  // Pipelined requests leave the client one after the other; a reply is held a moment for
  // its companion, so that both go out in one write.
  private release(socket: Socket, held: Reply[]): void {
    if (held.length === 0) return;
    if (!this.coalesce || held.length >= 2) {
      this.send(socket, held.splice(0));
      return;
    }
    const first = held[0];
    this.later(COALESCE_HOLD_MS, () => {
      if (held[0] === first) this.send(socket, held.splice(0));
    });
  }

  /** The reply frame to send now, if any; a late reply is scheduled instead. */
  private answer(socket: Socket, request: Buffer): Reply | undefined {
    const unitId = request.readUInt8(6);
    const decision = this.units.decide(unitId, request.subarray(MBAP_LENGTH));
    if (decision.pdu === undefined) return undefined;
    const frame = Buffer.alloc(MBAP_LENGTH + decision.pdu.length);
    request.copy(frame, 0, 0, 4);
    frame.writeUInt16BE(1 + decision.pdu.length, 4);
    frame.writeUInt8(unitId, 6);
    decision.pdu.copy(frame, MBAP_LENGTH);
    if (decision.fault.kind === "late") {
      this.later(decision.fault.delayMs, () =>
        this.inTurn(socket, async () => write(socket, frame)),
      );
      return undefined;
    }
    return { unitId, frame };
  }

  /** Writes replies, as the framing faults ask: together or apart, whole or split. */
  private send(socket: Socket, replies: Reply[]): void {
    if (replies.length === 0) return;
    const writes = this.coalesce ? [replies] : replies.map((r) => [r]);
    for (const group of writes) this.inTurn(socket, () => this.sendGroup(socket, group));
  }

  private async sendGroup(socket: Socket, group: Reply[]): Promise<void> {
    const bytes = Buffer.concat(group.map((r) => r.frame));
    if (group.length > 1) this.stats.coalescedWrites++;
    const split = group.findIndex((r) => r.unitId === this.splitUnit);
    if (split < 0) {
      write(socket, bytes);
      return;
    }
    // Cut inside the split unit's frame, past its MBAP header's first bytes.
    const before = group.slice(0, split).reduce((n, r) => n + r.frame.length, 0);
    const cut = before + Math.min(5, (group[split]?.frame.length ?? 2) - 1);
    this.stats.splitReplies++;
    write(socket, bytes.subarray(0, cut));
    await new Promise<void>((resolve) => this.later(this.splitPauseMs, resolve));
    write(socket, bytes.subarray(cut));
  }

  // A server's stream carries one frame after another: a reply sent in two writes has its
  // second half out before any other reply starts, never interleaved with it.
  private inTurn(socket: Socket, work: () => Promise<void>): void {
    const next = (this.writing.get(socket) ?? Promise.resolve()).then(work);
    this.writing.set(socket, next);
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}

function write(socket: Socket, bytes: Buffer): void {
  if (!socket.destroyed) socket.write(bytes);
}
