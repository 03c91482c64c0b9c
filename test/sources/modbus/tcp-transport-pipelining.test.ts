// Pipelining on Modbus TCP: several transactions in flight on one connection, matched by
// transaction id. The server here holds the requests it receives until the test answers
// them, in any order, so what the transport has on the wire at once is visible.

import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  ModbusDisconnectedError,
  ModbusResponseError,
  ModbusTimeoutError,
} from "../../../src/sources/modbus/errors.js";
import { TcpTransport } from "../../../src/sources/modbus/tcp-transport.js";

interface HeldRequest {
  transactionId: number;
  functionCode: number;
  address: number;
  quantity: number;
  socket: net.Socket;
}

/** Holds every request until `answer`; `autoAnswer` replies at once instead. */
class HoldingServer {
  readonly held: HeldRequest[] = [];
  /** Requests received, over the whole test. */
  received = 0;
  /** Transaction ids received while an earlier request with the same id was unanswered. */
  readonly reusedIds: number[] = [];
  autoAnswer = false;
  private readonly outstanding = new Set<number>();
  private readonly server = net.createServer((socket) => this.accept(socket));

  listen(): Promise<number> {
    return new Promise((resolve) => {
      this.server.listen(0, "127.0.0.1", () => {
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    for (const h of this.held) h.socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Answers a held request with `data` after its byte count (default: a fitting block). */
  answer(req: HeldRequest, data?: Buffer, byteCount?: number): void {
    this.held.splice(this.held.indexOf(req), 1);
    this.outstanding.delete(req.transactionId);
    req.socket.write(reply(req, data, byteCount));
  }

  take(address: number): HeldRequest {
    const req = this.held.find((h) => h.address === address);
    if (req === undefined) throw new Error(`no held request for address ${address}`);
    return req;
  }

  private accept(socket: net.Socket): void {
    let pending = Buffer.alloc(0);
    socket.on("error", () => socket.destroy());
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      socket.cork();
      while (pending.length >= 6 && pending.length >= 6 + pending.readUInt16BE(4)) {
        const req = {
          transactionId: pending.readUInt16BE(0),
          functionCode: pending.readUInt8(7),
          address: pending.readUInt16BE(8),
          quantity: pending.readUInt16BE(10),
          socket,
        };
        pending = pending.subarray(6 + pending.readUInt16BE(4));
        this.onRequest(req);
      }
      socket.uncork();
    });
  }

  private onRequest(req: HeldRequest): void {
    this.received++;
    if (this.outstanding.has(req.transactionId)) this.reusedIds.push(req.transactionId);
    this.outstanding.add(req.transactionId);
    if (this.autoAnswer) {
      this.outstanding.delete(req.transactionId);
      req.socket.write(reply(req));
    } else {
      this.held.push(req);
    }
  }
}

/** The registers of a block starting at `address` hold address, address + 1, ... */
function block(address: number, quantity: number): Buffer {
  const data = Buffer.alloc(quantity * 2);
  for (let i = 0; i < quantity; i++) data.writeUInt16BE((address + i) & 0xffff, i * 2);
  return data;
}

function reply(req: HeldRequest, data?: Buffer, byteCount?: number): Buffer {
  const body = data ?? block(req.address, req.quantity);
  const head = Buffer.alloc(9);
  head.writeUInt16BE(req.transactionId, 0);
  head.writeUInt16BE(3 + body.length, 4);
  head.writeUInt8(1, 6);
  head.writeUInt8(req.functionCode, 7);
  head.writeUInt8(byteCount ?? body.length, 8);
  return Buffer.concat([head, body]);
}

function read(address: number, quantity = 2, timeoutMs = 5000) {
  const payload = Buffer.alloc(4);
  payload.writeUInt16BE(address, 0);
  payload.writeUInt16BE(quantity, 2);
  return { unitId: 1, functionCode: 3, payload, timeoutMs };
}

async function waitFor(what: string, cond: () => boolean, limitMs = 5000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

let server: HoldingServer;
let transport: TcpTransport;

async function open(maxInFlight: number): Promise<void> {
  server = new HoldingServer();
  const port = await server.listen();
  transport = new TcpTransport({
    host: "127.0.0.1",
    port,
    reconnect: { initialDelayMs: 5000, maxDelayMs: 5000 },
    connectTimeoutMs: 1000,
    maxInFlight,
  });
  await transport.start();
}

afterEach(async () => {
  await transport?.stop();
  await server?.close();
});

describe("TcpTransport with maxInFlight", () => {
  it("matches replies sent out of order to their own requests", async () => {
    await open(4);
    const replies = [10, 20, 30, 40].map((a) => transport.request(read(a)));
    await waitFor("four requests", () => server.held.length === 4);

    for (const address of [30, 10, 40, 20]) server.answer(server.take(address));
    const got = await Promise.all(replies);
    expect(got.map((p) => p.readUInt16BE(1))).toEqual([10, 20, 30, 40]);
    expect(got.map((p) => p.readUInt16BE(3))).toEqual([11, 21, 31, 41]);
    expect(transport.health()).toMatchObject({ inFlight: 0, queued: 0, discardedFrames: 0 });
  });

  it("puts four requests on the wire at once and holds the rest back", async () => {
    await open(4);
    const replies = [1, 2, 3, 4, 5, 6].map((a) => transport.request(read(a)));
    await waitFor("four requests", () => server.held.length === 4);
    expect(transport.health()).toMatchObject({ inFlight: 4, queued: 6 });
    expect(server.held.map((h) => h.address)).toEqual([1, 2, 3, 4]);

    // One answer frees one slot: exactly one more request goes out.
    server.answer(server.take(2));
    await waitFor("the fifth request", () => server.received === 5);
    expect(server.held.map((h) => h.address)).toEqual([1, 3, 4, 5]);
    expect(transport.health()).toMatchObject({ inFlight: 4, queued: 5 });

    server.autoAnswer = true;
    for (const h of [...server.held]) server.answer(h);
    await waitFor("the sixth request", () => server.received === 6);
    const got = await Promise.all(replies);
    expect(got.map((p) => p.readUInt16BE(1))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("discards a late reply while other requests are in flight", async () => {
    await open(4);
    const late = transport.request(read(100, 2, 50));
    const others = [200, 300].map((a) => transport.request(read(a)));
    const timedOut = expect(late).rejects.toBeInstanceOf(ModbusTimeoutError);
    await waitFor("three requests", () => server.held.length === 3);
    await timedOut;
    expect(transport.health()).toMatchObject({ inFlight: 2, timeouts: 1 });

    // The late reply comes first, carrying data that would decode for either other request.
    server.answer(server.take(100), block(999, 2));
    server.answer(server.take(300));
    server.answer(server.take(200));
    const got = await Promise.all(others);
    expect(got.map((p) => p.readUInt16BE(1))).toEqual([200, 300]);
    expect(transport.health()).toMatchObject({ inFlight: 0, discardedFrames: 1, timeouts: 1 });
  });

  it("fails every request in flight on disconnect and keeps no entry", async () => {
    await open(4);
    const replies = [1, 2, 3, 4, 5].map((a) => transport.request(read(a)));
    const failed = replies.map((r) => expect(r).rejects.toBeInstanceOf(ModbusDisconnectedError));
    await waitFor("four requests", () => server.held.length === 4);
    server.held[0]?.socket.destroy();
    await Promise.all(failed);
    expect(transport.health()).toMatchObject({ inFlight: 0, queued: 0, connected: false });
  });

  it("wraps ids over 70,000 requests without reusing one in flight or leaking", async () => {
    await open(8);
    // One request stays unanswered throughout: its id must not be handed out again.
    const stuck = transport.request(read(7, 2, 600_000));
    await waitFor("the stuck request", () => server.held.length === 1);
    server.autoAnswer = true;

    const total = 70_000;
    let sent = 0;
    const worker = async () => {
      while (sent < total) {
        const address = sent++ % 1000;
        const payload = await transport.request(read(address, 1));
        if (payload.readUInt16BE(1) !== address) throw new Error(`wrong block for ${address}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));

    expect(server.reusedIds).toEqual([]);
    expect(transport.health()).toMatchObject({ inFlight: 1, requests: total + 1 });
    server.answer(server.take(7));
    expect((await stuck).readUInt16BE(1)).toBe(7);
    expect(transport.health()).toMatchObject({ inFlight: 0, queued: 0, discardedFrames: 0 });
  });

  it("takes 125 registers (byte count 250)", async () => {
    await open(2);
    const reply = transport.request(read(0, 125));
    await waitFor("the request", () => server.held.length === 1);
    server.answer(server.take(0));
    const payload = await reply;
    expect(payload[0]).toBe(250);
    expect(payload).toHaveLength(251);
    expect(payload.readUInt16BE(1 + 124 * 2)).toBe(124);
  });

  it("fails only the request whose byte count does not fit what it asked", async () => {
    await open(2);
    const bad = transport.request(read(10, 3));
    const good = transport.request(read(20, 3));
    await waitFor("two requests", () => server.held.length === 2);
    server.answer(server.take(10), block(10, 2)); // 4 bytes for 3 registers
    server.answer(server.take(20));

    const err = await bad.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModbusResponseError);
    expect(String((err as Error).message)).toMatch(/asked for 3/);
    expect((await good).readUInt16BE(1)).toBe(20);
    expect(transport.connected).toBe(true);

    // A byte count that disagrees with the bytes that follow is no better.
    const lying = transport.request(read(30, 3));
    await waitFor("third request", () => server.held.length === 1);
    server.answer(server.take(30), block(30, 3), 250);
    await expect(lying).rejects.toBeInstanceOf(ModbusResponseError);
    expect(transport.health()).toMatchObject({ inFlight: 0, connected: true });
  });

  it("refuses a maxInFlight outside 1..16", () => {
    const base = { host: "127.0.0.1", port: 1, connectTimeoutMs: 100 };
    const reconnect = { initialDelayMs: 1, maxDelayMs: 1 };
    for (const maxInFlight of [0, 17, 1.5]) {
      expect(() => new TcpTransport({ ...base, reconnect, maxInFlight })).toThrow(RangeError);
    }
  });
});
