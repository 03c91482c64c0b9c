// Half-duplex RS-485 adapters without echo suppression hear their own transmission: every
// request comes back on the receive line before the reply. For a write-single request the
// echo is byte for byte the reply, so it must be removed exactly, never guessed at by the
// parser. The reverse mistake, `echo: true` on an adapter that does not echo, costs reads
// nothing (the mismatch hands the bytes back) but eats a write-single reply as its echo.

/** Removes the echo of the last request from the start of the received bytes. */
export class EchoFilter {
  /** Echoes removed in full. */
  discarded = 0;
  /** Echoes that did not match what was sent (adapter without echo, or a corrupted echo). */
  mismatches = 0;
  private expected: Buffer | undefined;
  private matched = 0;

  /** The next bytes received should be `frame`, just sent. */
  arm(frame: Buffer): void {
    this.expected = frame;
    this.matched = 0;
  }

  disarm(): void {
    this.expected = undefined;
  }

  /** The part of `chunk` that is not echo. */
  filter(chunk: Buffer): Buffer {
    const expected = this.expected;
    if (expected === undefined) return chunk;
    let at = 0;
    while (at < chunk.length && this.matched < expected.length) {
      if (chunk[at] !== expected[this.matched]) {
        // Not our echo after all: hand back the bytes taken so far so that the parser can
        // still find a reply among them.
        this.mismatches++;
        this.expected = undefined;
        return Buffer.concat([expected.subarray(0, this.matched), chunk.subarray(at)]);
      }
      at++;
      this.matched++;
    }
    if (this.matched === expected.length) {
      this.discarded++;
      this.expected = undefined;
    }
    return chunk.subarray(at);
  }

  /** True while part of the echo is still expected. */
  get waiting(): boolean {
    return this.expected !== undefined;
  }
}
