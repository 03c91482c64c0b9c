// The sensor line splitter: lines cut at the delimiter whatever the chunking, and a stream
// that never sends the delimiter held to a bounded buffer, reported as one over-long line.

import { describe, expect, it } from "vitest";
import { LineSplitter } from "../../../src/sources/serial-ascii/line-splitter.js";

function splitter(delimiter: string, maxBytes: number) {
  const lines: string[] = [];
  const overflows: number[] = [];
  const s = new LineSplitter({ delimiter, maxBytes, onOverflow: (n) => overflows.push(n) });
  s.on("data", (line: string) => lines.push(line));
  const feed = (...chunks: Array<string | Buffer>) => {
    for (const c of chunks) s.write(typeof c === "string" ? Buffer.from(c) : c);
  };
  return { s, lines, overflows, feed };
}

describe("LineSplitter", () => {
  it("cuts lines at the delimiter across any chunking, a multi-byte delimiter included", () => {
    const text = "T=21.5\r\nH=40\r\n\r\nP=1013.2\r\n";
    for (let size = 1; size <= text.length; size++) {
      const { lines, feed } = splitter("\r\n", 64);
      for (let i = 0; i < text.length; i += size) feed(text.slice(i, i + size));
      expect(lines, `chunks of ${size}`).toEqual(["T=21.5", "H=40", "", "P=1013.2"]);
    }
  });

  it("decodes UTF-8 split between chunks", () => {
    const { lines, feed } = splitter("\n", 64);
    const bytes = Buffer.from("T=21.5 °C\n");
    const cut = bytes.indexOf(0xb0); // inside the two bytes of "°"
    feed(bytes.subarray(0, cut), bytes.subarray(cut));
    expect(lines).toEqual(["T=21.5 °C"]);
  });

  it("holds a bounded buffer while no delimiter comes, then reports one over-long line", () => {
    const { s, lines, overflows, feed } = splitter("\r\n", 100);
    feed("W=1\r\n");
    let maxPending = 0;
    for (let i = 0; i < 10_000; i++) {
      feed("x".repeat(97));
      maxPending = Math.max(maxPending, s.pendingBytes);
    }
    // Fed 970,000 bytes without a delimiter; at most a line and a delimiter's width are kept.
    expect(maxPending).toBeLessThanOrEqual(101);
    expect(overflows).toEqual([]);
    feed("tail\r", "\nW=2\r\n");
    expect(overflows).toEqual([970_004]);
    expect(lines).toEqual(["W=1", "W=2"]);
  });

  it("finds a delimiter split across chunks right after the cap was passed", () => {
    const { lines, overflows, feed } = splitter("\r\n", 10);
    feed("a".repeat(25), "\r");
    feed("\nok\r\n");
    expect(overflows).toEqual([25]);
    expect(lines).toEqual(["ok"]);
  });

  it("keeps a line of exactly the cap and drops one a byte longer", () => {
    const { lines, overflows, feed } = splitter("\n", 8);
    feed("12345678\n123456789\nend\n");
    expect(lines).toEqual(["12345678", "end"]);
    expect(overflows).toEqual([9]);
  });
});
