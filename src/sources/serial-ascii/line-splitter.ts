// Splitting a sensor's byte stream into lines, with a bound on the line being collected.
// node-serialport's ReadlineParser keeps every byte until the delimiter comes, so a sensor
// that loses its delimiter (a wrong baud rate, a runaway stream) would grow the gateway's
// memory without end. This splitter holds at most `maxBytes` of an unfinished line; past that
// it drops the bytes until the next delimiter and reports one over-long line.

import { Transform, type TransformCallback } from "node:stream";

export interface LineSplitterOptions {
  delimiter: string;
  /** The longest line kept, in bytes, delimiter excluded. */
  maxBytes: number;
  /** Called once per over-long line, when its delimiter arrives, with its length in bytes. */
  onOverflow: (bytes: number) => void;
}

/** A Transform from bytes to lines (UTF-8 strings without the delimiter). */
export class LineSplitter extends Transform {
  private readonly delimiter: Buffer;
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes of the current over-long line dropped so far; 0 while collecting normally. */
  private skipped = 0;

  constructor(private readonly options: LineSplitterOptions) {
    super({ readableObjectMode: true });
    this.delimiter = Buffer.from(options.delimiter, "utf8");
  }

  /** Bytes of the unfinished line held in memory. */
  get pendingBytes(): number {
    return this.pending.length;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    // The unfinished line is carried over, so a delimiter split across chunks is found.
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    for (let at = data.indexOf(this.delimiter); at !== -1; at = data.indexOf(this.delimiter)) {
      this.endLine(data.subarray(0, at));
      data = data.subarray(at + this.delimiter.length);
    }
    const { maxBytes } = this.options;
    // Keep a delimiter's width beyond the cap so that a delimiter split across chunks is
    // still found; everything before that belongs to a line already too long.
    const keep = maxBytes + this.delimiter.length - 1;
    if (data.length > keep) {
      this.skipped += data.length - (this.delimiter.length - 1);
      data = data.subarray(data.length - (this.delimiter.length - 1));
    }
    this.pending = Buffer.from(data);
    done();
  }

  override _flush(done: TransformCallback): void {
    // An unfinished line at the end of the stream is a fragment, not a frame: drop it.
    this.pending = Buffer.alloc(0);
    this.skipped = 0;
    done();
  }

  private endLine(bytes: Buffer): void {
    if (this.skipped) {
      this.options.onOverflow(this.skipped + bytes.length);
      this.skipped = 0;
      return;
    }
    if (bytes.length > this.options.maxBytes) {
      this.options.onOverflow(bytes.length);
      return;
    }
    this.push(bytes.toString("utf8"));
  }
}
