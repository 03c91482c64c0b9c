// A sensor that prints its measurements as text lines on a serial port: a weather station,
// a scale, a GPS receiver. A bounded line splitter cuts the byte stream; each line becomes
// one reading per configured field, tagged `sensor.field`. Garbage is counted and dropped
// (a stream that loses its delimiter costs at most one line's worth of memory); a port
// that goes away is reported down and reopened with backoff in the background, so a USB
// adapter that is re-plugged comes back by itself. With `timeoutMs`, a sensor that falls
// silent while its port stays open (a cut wire, a hung instrument) is reported down too.

import type { SensorConfig } from "../../config/schema.js";
import type { Clock } from "../../core/clock.js";
import type { EventSink } from "../../core/events.js";
import type { Component, Health } from "../../core/lifecycle.js";
import type { Logger } from "../../core/logger.js";
import { GOOD, type Reading, type ReadingSink } from "../../core/reading.js";
import { backoffDelay, systemTimers, type Timers } from "../modbus/tcp-transport.js";
import { createFrameParser, type FieldValue, type FrameParser, MAX_LINE_LENGTH } from "./frame.js";
import { LineSplitter } from "./line-splitter.js";
import { LineStats } from "./line-stats.js";
import { closePort, type OpenPort, openSerialPort, type SensorPort } from "./port.js";

const DEFAULT_SUMMARY_INTERVAL_MS = 60_000;

/** Room for MAX_LINE_LENGTH characters of any UTF-8 width; frame.ts counts characters. */
const MAX_LINE_BYTES = 4 * MAX_LINE_LENGTH + 1;

export interface SerialSensorDeps {
  config: SensorConfig;
  sink: ReadingSink;
  events: EventSink;
  clock: Clock;
  logger: Logger;
  /** Default: node-serialport. */
  openPort?: OpenPort;
  timers?: Timers;
  /** Source of reconnect jitter in [0, 1). */
  random?: () => number;
  /** How often garbage is summarised in the log while it lasts. */
  summaryIntervalMs?: number;
}

export class SerialSensor implements Component {
  readonly name: string;
  private readonly log: Logger;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly stats: LineStats;
  private parse: FrameParser | undefined;
  private port: SensorPort | undefined;
  private stopped = true;
  /** A device.down event was recorded and no device.up since. */
  private down = false;
  private everOpened = false;
  private retries = 0;
  private reconnects = 0;
  private reconnectTimer: unknown;
  private summaryTimer: unknown;
  private silenceTimer: unknown;
  private lastError: string | undefined;

  constructor(private readonly deps: SerialSensorDeps) {
    this.name = `sensor ${deps.config.name}`;
    this.log = deps.logger.child({ sensor: deps.config.name, path: deps.config.path });
    this.timers = deps.timers ?? systemTimers;
    this.random = deps.random ?? Math.random;
    this.stats = new LineStats(this.log);
  }

  /** Resolves after the first attempt to open the port, whether or not it succeeded. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    try {
      this.parse = createFrameParser(this.deps.config);
    } catch (err) {
      throw new Error(`sensor ${this.deps.config.name}: ${(err as Error).message}`);
    }
    this.stopped = false;
    this.scheduleSummary();
    await this.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timers.clearTimeout(this.reconnectTimer);
    this.timers.clearTimeout(this.summaryTimer);
    this.timers.clearTimeout(this.silenceTimer);
    const port = this.port;
    this.port = undefined;
    if (port) await closePort(port);
    this.log.info("sensor stopped");
  }

  health(): Health {
    const open = this.port !== undefined;
    const s = this.stats;
    return {
      status: !open || this.down ? "down" : s.troubled ? "degraded" : "ok",
      open,
      lines: s.lines,
      parsed: s.parsed,
      badFields: s.badFields,
      garbage: { ...s.garbage },
      reconnects: this.reconnects,
      lastError: this.lastError,
    };
  }

  // Port

  private async open(): Promise<void> {
    this.reconnectTimer = undefined;
    const { config } = this.deps;
    let port: SensorPort;
    try {
      port = await (this.deps.openPort ?? openSerialPort)(config);
    } catch (err) {
      this.lastError = (err as Error).message;
      if (this.down) this.log.debug({ err: this.lastError }, "sensor open failed");
      this.markDown("sensor open failed; retrying in background", "disconnected");
      this.scheduleReopen();
      return;
    }
    if (this.stopped) {
      await closePort(port);
      return;
    }
    this.attach(port);
  }

  private attach(port: SensorPort): void {
    this.port = port;
    this.retries = 0;
    if (this.everOpened) this.reconnects++;
    this.everOpened = true;

    const lines = port.pipe(
      new LineSplitter({
        delimiter: this.deps.config.delimiter,
        maxBytes: MAX_LINE_BYTES,
        onOverflow: (bytes) => this.onOverlong(bytes),
      }),
    );
    lines.on("data", (line: string) => this.onLine(line));
    port.on("error", (err: Error) => {
      this.lastError = err.message;
      port.destroy();
    });
    // node-serialport closes with a `disconnected` error when the device goes away.
    port.once("close", (err?: Error | null) => {
      if (err) this.lastError = err.message;
      this.onClose(port);
    });

    this.log.info("sensor port open");
    this.armSilence();
    this.markUp("open again");
  }

  /** Ends an outage: a device.up event, and `logLine` at info when given. */
  private markUp(what: string, logLine?: string): void {
    if (!this.down) return;
    this.down = false;
    const { name, path } = this.deps.config;
    if (logLine !== undefined) this.log.info(logLine);
    this.deps.events.event({
      ts: this.deps.clock.now(),
      kind: "device.up",
      source: name,
      message: `sensor ${name} on ${path} ${what}`,
    });
  }

  private onClose(port: SensorPort): void {
    if (port !== this.port) return;
    this.port = undefined;
    this.timers.clearTimeout(this.silenceTimer);
    if (this.stopped) return;
    this.lastError ??= "port closed";
    const message = "sensor port lost; reopening in background";
    // Down already, for its silence: the same outage, but the loss is still worth a line.
    if (this.down) this.log.warn({ err: this.lastError }, message);
    this.markDown(message, "disconnected");
    this.scheduleReopen();
  }

  /** (Re)starts the wait for the next frame, when the sensor has a timeout. */
  private armSilence(): void {
    const timeoutMs = this.deps.config.timeoutMs;
    if (timeoutMs === undefined) return;
    this.timers.clearTimeout(this.silenceTimer);
    this.silenceTimer = this.timers.setTimeout(() => {
      this.silenceTimer = undefined;
      if (this.stopped || this.port === undefined) return;
      this.lastError = `no good frame within ${timeoutMs} ms`;
      this.markDown("sensor silent: no good frame within its timeout", "timeout");
    }, timeoutMs);
  }

  /**
   * Reports the sensor down once per outage: a warn, a device.down event, and one bad reading
   * per field so that the gap is stored explicitly rather than the last value going stale.
   */
  private markDown(message: string, reason: "disconnected" | "timeout"): void {
    if (this.down) return;
    this.down = true;
    const { config, clock } = this.deps;
    this.log.warn({ err: this.lastError }, message);
    this.deps.events.event({
      ts: clock.now(),
      kind: "device.down",
      source: config.name,
      message: `sensor ${config.name} on ${config.path}: ${this.lastError ?? "unknown"}`,
      data: { path: config.path },
    });
    const ts = clock.now();
    const quality = { status: "bad", reason, detail: this.lastError } as const;
    this.deps.sink.write(
      config.fields.map((f) => ({ tag: `${config.name}.${f.name}`, ts, value: null, quality })),
    );
  }

  private scheduleReopen(): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.retries++, this.deps.config.reconnect, this.random);
    this.reconnectTimer = this.timers.setTimeout(() => {
      if (!this.stopped) void this.open();
    }, delay);
  }

  private scheduleSummary(): void {
    const every = this.deps.summaryIntervalMs ?? DEFAULT_SUMMARY_INTERVAL_MS;
    this.summaryTimer = this.timers.setTimeout(() => {
      if (this.stopped) return;
      this.stats.summarize(every);
      this.scheduleSummary();
    }, every);
  }

  // Lines

  // A throw here would surface in the stream's "data" handler and take the process down;
  // a line is never worth that.
  private onLine(line: string): void {
    try {
      this.handleLine(line);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "sensor line handling failed");
    }
  }

  private onOverlong(bytes: number): void {
    this.stats.lines++;
    this.stats.dropped("tooLong", `${bytes} bytes before a delimiter`);
  }

  private handleLine(line: string): void {
    const parse = this.parse;
    if (!parse) return;
    this.stats.lines++;
    const result = parse(line);
    if (!result.ok) {
      this.stats.dropped(result.reason, result.detail);
      return;
    }
    this.stats.parsed++;
    this.armSilence();
    this.markUp("sending frames again", "sensor sending frames again");
    const ts = this.deps.clock.now();
    this.deps.sink.write(result.fields.map((f) => this.reading(f, ts)));
  }

  private reading(field: FieldValue, ts: number): Reading {
    const tag = `${this.deps.config.name}.${field.name}`;
    if (field.ok) return { tag, ts, value: field.value, quality: GOOD };
    this.stats.badField(field.name, field.text);
    const detail = `not a number: "${field.text}"`;
    return { tag, ts, value: null, quality: { status: "bad", reason: "decode", detail } };
  }
}
