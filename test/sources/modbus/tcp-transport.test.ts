// The transport against a scripted Modbus TCP server written here: each test decides what the
// server sends back, down to how the bytes are split into TCP segments.

import * as net from "node:net";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import {
  ModbusDisconnectedError,
  ModbusExceptionError,
  ModbusTimeoutError,
} from "../../../src/sources/modbus/errors.js";
import { MbapParser } from "../../../src/sources/modbus/mbap-frame.js";
import {
  backoffDelay,
  TcpTransport,
  type TcpTransportOptions,
} from "../../../src/sources/modbus/tcp-transport.js";

interface SeenRequest {
  transactionId: number;
  protocolId: number;
  length: number;
  unitId: number;
  functionCode: number;
  payload: Buffer;
}

type Handler = (req: SeenRequest, socket: net.Socket) => void;

/** A Modbus TCP server whose answers each test scripts. */
class ScriptedServer {
  readonly seen: SeenRequest[] = [];
  readonly sockets = new Set<net.Socket>();
  handler: Handler = () => {};
  private readonly server = net.createServer((socket) => this.accept(socket));

  listen(port = 0): Promise<number> {
    return new Promise((resolve) => {
      this.server.listen(port, "127.0.0.1", () => {
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  dropClients(): void {
    for (const s of this.sockets) s.destroy();
  }

  close(): Promise<void> {
    this.dropClients();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 6 && pending.length >= 6 + pending.readUInt16BE(4)) {
        const length = pending.readUInt16BE(4);
        const req = {
          transactionId: pending.readUInt16BE(0),
          protocolId: pending.readUInt16BE(2),
          length,
          unitId: pending.readUInt8(6),
          functionCode: pending.readUInt8(7),
          payload: pending.subarray(8, 6 + length),
        };
        pending = pending.subarray(6 + length);
        this.seen.push(req);
        this.handler(req, socket);
      }
    });
  }
}

/** An MBAP frame built by hand: tid, protocol 0, length, unit, function code, data. */
function frame(tid: number, unitId: number, fc: number, dataHex: string): Buffer {
  const data = Buffer.from(dataHex, "hex");
  const head = Buffer.alloc(8);
  head.writeUInt16BE(tid, 0);
  head.writeUInt16BE(0, 2);
  head.writeUInt16BE(2 + data.length, 4);
  head.writeUInt8(unitId, 6);
  head.writeUInt8(fc, 7);
  return Buffer.concat([head, data]);
}

async function waitFor(what: string, cond: () => boolean, limitMs = 5000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function freePort(): Promise<number> {
  const probe = new ScriptedServer();
  const port = await probe.listen();
  await probe.close();
  return port;
}

const READ = { unitId: 17, functionCode: 3, payload: Buffer.from("006b0003", "hex") };
/** Two answers that fit READ (byte count 6, three registers), told apart by their data. */
const R1 = "06000100020003";
const R2 = "06123456789abc";

let server: ScriptedServer;
let transport: TcpTransport;

async function open(extra: Partial<TcpTransportOptions> = {}): Promise<TcpTransport> {
  server = new ScriptedServer();
  const port = await server.listen();
  transport = new TcpTransport({
    host: "127.0.0.1",
    port,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    connectTimeoutMs: 1000,
    ...extra,
  });
  await transport.start();
  return transport;
}

afterEach(async () => {
  await transport?.stop();
  await server?.close();
});

describe("TcpTransport", () => {
  it("frames the request with an MBAP header and returns the response payload", async () => {
    await open();
    server.handler = (req, socket) => {
      socket.write(frame(req.transactionId, req.unitId, 3, "06022b00000064"));
    };
    const payload = await transport.request({ ...READ, timeoutMs: 1000 });
    expect(payload.toString("hex")).toBe("06022b00000064");

    const [seen] = server.seen;
    expect(seen).toMatchObject({ protocolId: 0, length: 6, unitId: 17, functionCode: 3 });
    expect(seen?.payload.toString("hex")).toBe("006b0003");
    expect(transport.health()).toMatchObject({ status: "ok", requests: 1, timeouts: 0 });
  });

  it("uses a new transaction id for each request", async () => {
    await open();
    server.handler = (req, socket) => socket.write(frame(req.transactionId, 17, 3, R1));
    for (let i = 0; i < 3; i++) await transport.request({ ...READ, timeoutMs: 1000 });
    const ids = server.seen.map((r) => r.transactionId);
    expect(new Set(ids).size).toBe(3);
  });

  it("takes the right frame when two arrive in one segment", async () => {
    await open();
    server.handler = (req, socket) => {
      const stray = frame((req.transactionId + 100) & 0xffff, 17, 3, R2);
      socket.write(Buffer.concat([stray, frame(req.transactionId, 17, 3, R1)]));
    };
    const payload = await transport.request({ ...READ, timeoutMs: 1000 });
    expect(payload.toString("hex")).toBe(R1);
    expect(transport.health().discardedFrames).toBe(1);
  });

  it("reassembles a frame split across segments", async () => {
    await open();
    server.handler = (req, socket) => {
      const whole = frame(req.transactionId, 17, 3, R2);
      socket.write(whole.subarray(0, 3));
      setTimeout(() => socket.write(whole.subarray(3, 9)), 30);
      setTimeout(() => socket.write(whole.subarray(9)), 60);
    };
    const payload = await transport.request({ ...READ, timeoutMs: 2000 });
    expect(payload.toString("hex")).toBe(R2);
  });

  it("discards a reply arriving after its timeout; the next request gets its own", async () => {
    await open();
    let late: SeenRequest | undefined;
    server.handler = (req, socket) => {
      if (late === undefined) {
        late = req; // hold the first request past its timeout
        return;
      }
      const stale = frame(late.transactionId, 17, 3, R2);
      socket.write(Buffer.concat([stale, frame(req.transactionId, 17, 3, R1)]));
    };
    const first = transport.request({ ...READ, timeoutMs: 50 });
    await expect(first).rejects.toBeInstanceOf(ModbusTimeoutError);
    expect(transport.connected).toBe(true);

    const second = await transport.request({ ...READ, timeoutMs: 1000 });
    expect(second.toString("hex")).toBe(R1);
    expect(transport.health()).toMatchObject({ timeouts: 1, discardedFrames: 1, requests: 2 });
  });

  it("turns an exception response into ModbusExceptionError", async () => {
    await open();
    server.handler = (req, socket) => socket.write(frame(req.transactionId, 17, 0x83, "02"));
    const err = await transport.request({ ...READ, timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModbusExceptionError);
    expect(err).toMatchObject({ unitId: 17, functionCode: 3, exceptionCode: 2 });
    expect(transport.health().exceptions).toBe(1);
  });

  it("queues concurrent requests and keeps one in flight", async () => {
    await open();
    let inFlight = 0;
    let most = 0;
    server.handler = (req, socket) => {
      inFlight++;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight--;
        socket.write(frame(req.transactionId, 17, 3, `02000${req.payload[1]}`));
      }, 10);
    };
    const replies = await Promise.all(
      [1, 2, 3, 4].map((a) =>
        transport.request({ ...READ, payload: Buffer.from([0, a, 0, 1]), timeoutMs: 1000 }),
      ),
    );
    const hex = replies.map((r) => r.toString("hex"));
    expect(hex).toEqual(["020001", "020002", "020003", "020004"]);
    expect(most).toBe(1);
  });

  it("rejects pending requests when the server closes, then reconnects", async () => {
    await open({ reconnect: { initialDelayMs: 300, maxDelayMs: 1000 } });
    server.handler = (_req, socket) => socket.destroy();
    const pending = transport.request({ ...READ, timeoutMs: 5000 });
    await expect(pending).rejects.toBeInstanceOf(ModbusDisconnectedError);
    expect(transport.connected).toBe(false);
    await expect(transport.request({ ...READ, timeoutMs: 1000 })).rejects.toBeInstanceOf(
      ModbusDisconnectedError,
    );

    server.handler = (req, socket) => socket.write(frame(req.transactionId, 17, 3, R1));
    await waitFor("reconnect", () => transport.connected);
    const payload = await transport.request({ ...READ, timeoutMs: 1000 });
    expect(payload.toString("hex")).toBe(R1);
    expect(transport.health()).toMatchObject({ status: "ok", reconnects: 1 });
  });

  it("starts while the server is down and connects once it is up", async () => {
    const lines: { level: number; msg: string }[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const port = await freePort();
    server = new ScriptedServer();
    transport = new TcpTransport({
      host: "127.0.0.1",
      port,
      reconnect: { initialDelayMs: 10, maxDelayMs: 40 },
      connectTimeoutMs: 1000,
      logger: pino({ level: "debug" }, sink),
    });
    await transport.start();
    expect(transport.connected).toBe(false);
    expect(transport.health().status).toBe("down");
    await expect(transport.request({ ...READ, timeoutMs: 100 })).rejects.toBeInstanceOf(
      ModbusDisconnectedError,
    );

    await waitFor("several failed attempts", () => lines.length >= 4);
    await server.listen(port);
    await waitFor("connection", () => transport.connected);

    const failures = lines.filter((l) => /connect failed/.test(l.msg));
    expect(failures.filter((l) => l.level === 40)).toHaveLength(1); // warn once
    expect(failures.filter((l) => l.level === 20).length).toBeGreaterThanOrEqual(2); // debug
    expect(lines.filter((l) => l.msg === "modbus connected" && l.level === 30)).toHaveLength(1);
  });

  it("rejects pending and later requests on stop", async () => {
    await open();
    const pending = transport.request({ ...READ, timeoutMs: 5000 });
    const rejected = expect(pending).rejects.toBeInstanceOf(ModbusDisconnectedError);
    await waitFor("request at server", () => server.seen.length === 1);
    await transport.stop();
    await rejected;
    await expect(transport.request({ ...READ, timeoutMs: 100 })).rejects.toThrow(/stopped/);
  });

  it("drops the connection when the stream is not Modbus TCP", async () => {
    await open({ reconnect: { initialDelayMs: 5000, maxDelayMs: 5000 } });
    server.handler = (_req, socket) => socket.write(Buffer.from("HTTP/1.1 400 Bad Request\r\n"));
    const err = await transport.request({ ...READ, timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModbusDisconnectedError);
    expect(String((err as Error).message)).toMatch(/MBAP/);
  });
});

describe("MbapParser", () => {
  it("yields frames byte by byte and several from one chunk", () => {
    const a = frame(1, 1, 3, "020001");
    const b = frame(2, 1, 0x84, "02");
    const parser = new MbapParser();
    const got = [...Buffer.concat([a, b])].flatMap((byte) => parser.push(Buffer.from([byte])));
    expect(got.map((f) => [f.transactionId, f.functionCode, f.payload.toString("hex")])).toEqual([
      [1, 3, "020001"],
      [2, 0x84, "02"],
    ]);
    expect(new MbapParser().push(Buffer.concat([a, b, a.subarray(0, 4)]))).toHaveLength(2);
  });
});

describe("backoffDelay", () => {
  const reconnect = { initialDelayMs: 500, maxDelayMs: 30000 };

  it("doubles from the initial delay up to the cap", () => {
    const delays = [0, 1, 2, 3, 6, 7, 20].map((n) => backoffDelay(n, reconnect, () => 0));
    expect(delays).toEqual([500, 1000, 2000, 4000, 30000, 30000, 30000]);
  });

  it("takes off at most a fifth as jitter, never exceeding the cap", () => {
    expect(backoffDelay(0, reconnect, () => 0.999999)).toBe(400);
    expect(backoffDelay(10, reconnect, () => 0.5)).toBe(27000);
  });
});
