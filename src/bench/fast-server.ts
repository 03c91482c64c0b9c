// A minimal Modbus TCP responder for benchmarks: it answers function 3 and 4 reads from a
// fixed register image as fast as the loopback allows, so the gateway, not the peer, is
// what a benchmark measures. Not a device simulator: no exceptions, one unit (any unit id
// is answered). Several requests in one segment are answered in order, so it serves
// pipelined clients. `forkFastServer` runs it in a child process, so that the CPU the
// gateway uses can be measured apart from the peer's.

import { fork } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:net";

export async function startFastServer(
  registers: Buffer,
): Promise<{ port: number; server: Server }> {
  const server = createServer((sock) => {
    let pending: Buffer = Buffer.alloc(0);
    sock.on("error", () => sock.destroy());
    sock.on("data", (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      // A pipelining client sends several requests per segment: their answers leave in one.
      sock.cork();
      while (pending.length >= 12) {
        const length = pending.readUInt16BE(4);
        if (pending.length < 6 + length) break;
        sock.write(answer(pending.subarray(0, 6 + length), registers));
        pending = pending.subarray(6 + length);
      }
      sock.uncork();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  return { port: typeof addr === "object" && addr ? addr.port : 0, server };
}

function answer(frame: Buffer, registers: Buffer): Buffer {
  const address = frame.readUInt16BE(8);
  const quantity = frame.readUInt16BE(10);
  const data = registers.subarray(address * 2, (address + quantity) * 2);
  const out = Buffer.alloc(9 + data.length);
  frame.copy(out, 0, 0, 4); // transaction and protocol id
  out.writeUInt16BE(3 + data.length, 4);
  out[6] = frame[6] as number; // unit id
  out[7] = frame[7] as number; // function code
  out[8] = data.length;
  data.copy(out, 9);
  return out;
}

/** Every register of the address space, holding small values that decode as finite. */
export function fullImage(): Buffer {
  const image = Buffer.alloc(0x10000 * 2);
  for (let i = 0; i < 0x10000; i++) image.writeUInt16BE(i % 1000, i * 2);
  return image;
}

export interface ForkedServer {
  port: number;
  stop(): Promise<void>;
}

/** The fast server over `fullImage()`, in a child process. */
export async function forkFastServer(): Promise<ForkedServer> {
  const child = fork(new URL("./fast-server-child.js", import.meta.url), [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const [message] = (await once(child, "message")) as [{ port: number }];
  return {
    port: message.port,
    async stop() {
      const exited = once(child, "exit");
      child.kill();
      await exited;
    },
  };
}
