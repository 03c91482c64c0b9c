// A Modbus RTU bus written for fault tests: PeerUnits answering on one end of a socat pty
// pair (pty-pair.ts), opened through node-serialport; plantgate opens the other end. It acts
// out the units' faults on the wire (silence, late replies, a spoiled CRC, noise instead of
// a reply) and, with `noise`, puts a burst of random bytes before every reply, as a long
// unshielded line picks up. `close()` and `open()` let a test pull the pty away and bring it
// back. The CRC is computed here independently of plantgate's, so the two check each other.

import { SerialPort } from "serialport";
import type { PeerUnits } from "./fault-units.js";

/** A read request: unit, function, address, quantity, CRC. */
const REQUEST_FRAME = 8;

export function crc16(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

function withCrc(body: Buffer): Buffer {
  const frame = Buffer.alloc(body.length + 2);
  body.copy(frame);
  frame.writeUInt16LE(crc16(body), body.length);
  return frame;
}

/** A small seeded generator, so a noisy run can be replayed. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

export class FaultRtuPeer {
  /** Random bytes before every reply. */
  noise = false;
  readonly stats = { replies: 0, noiseBursts: 0, badCrcReplies: 0, garbageReplies: 0 };
  private port: SerialPort | undefined;
  private pending = Buffer.alloc(0);
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly random = seeded(7);

  constructor(
    readonly units: PeerUnits,
    readonly path: string,
  ) {}

  async open(): Promise<void> {
    const port = new SerialPort({ path: this.path, baudRate: 115200, autoOpen: false });
    port.on("error", () => {});
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    this.pending = Buffer.alloc(0);
    port.on("data", (chunk: Buffer) => this.onData(chunk));
    this.port = port;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private onData(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= REQUEST_FRAME) {
      const frame = this.pending.subarray(0, REQUEST_FRAME);
      if (crc16(frame.subarray(0, 6)) !== frame.readUInt16LE(6)) {
        this.pending = this.pending.subarray(1);
        continue;
      }
      this.pending = this.pending.subarray(REQUEST_FRAME);
      this.answer(frame);
    }
  }

  private answer(request: Buffer): void {
    const unitId = request.readUInt8(0);
    const decision = this.units.decide(unitId, request.subarray(1, 6));
    if (decision.pdu === undefined) return;
    let reply = withCrc(Buffer.concat([Buffer.from([unitId]), decision.pdu]));
    const kind = decision.fault.kind;
    if (kind === "badCrc") {
      reply.writeUInt16LE(reply.readUInt16LE(reply.length - 2) ^ 0x5a5a, reply.length - 2);
      this.stats.badCrcReplies++;
    }
    if (kind === "garbage") {
      reply = this.randomBytes(reply.length + 4);
      this.stats.garbageReplies++;
    }
    if (this.noise) {
      reply = Buffer.concat([this.randomBytes(3 + Math.floor(this.random() * 8)), reply]);
      this.stats.noiseBursts++;
    }
    this.stats.replies++;
    if (decision.fault.kind === "late") this.later(decision.fault.delayMs, reply);
    else this.port?.write(reply);
  }

  private randomBytes(length: number): Buffer {
    return Buffer.from(Array.from({ length }, () => Math.floor(this.random() * 256)));
  }

  private later(ms: number, bytes: Buffer): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.port?.write(bytes);
    }, ms);
    this.timers.add(timer);
  }
}
