// The composition root: the one place that knows every part. It builds them from the
// config, starts them in order, and stops them in reverse: pollers stop first, outputs go
// to their safe state, and the buffer is flushed last.

import { isAbsolute, join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { AlertEngine } from "../alerts/engine.js";
import { BUFFER_FAULT_SIGNAL, SYSTEM_RULES } from "../alerts/system-rules.js";
import { ClockMonitor, clockListeners } from "../clock/clock-monitor.js";
import { configWarnings, listTags } from "../config/load.js";
import type { Config, LearningConfig } from "../config/schema.js";
import { ControlServer, SOCKET_NAME } from "../control/channel.js";
import type { Clock } from "../core/clock.js";
import type { Component, Health } from "../core/lifecycle.js";
import type { Logger } from "../core/logger.js";
import type { Reading, ReadingSink } from "../core/reading.js";
import type { Prediction } from "../core/series.js";
import { StoreAlarmSpans } from "../model/alarm-spans.js";
import { StoreBadReadings } from "../model/bad-readings.js";
import { Learner } from "../model/learner.js";
import { Outputs } from "../outputs/outputs.js";
import { recentSpanMs } from "../preprocess/dataset.js";
import { SimulatorServer } from "../simulator/server.js";
import type { ModbusPoller } from "../sources/modbus/poller.js";
import { createModbusSource } from "../sources/modbus/source.js";
import { SerialSensor } from "../sources/serial-ascii/sensor.js";
import { LatestValues } from "../store/latest.js";
import { Store } from "../store/store.js";
import { chooseGpioDriver } from "./gpio-choice.js";

export function statePath(config: Config, file: string): string {
  return isAbsolute(file) ? file : join(config.gateway.stateDir, file);
}

/** The inputs of the model: the configured features, else every numeric tag but the target. */
export function featureTags(config: Config): string[] {
  const learning = config.learning;
  if (!learning) return [];
  if (learning.features) return learning.features;
  return [...listTags(config)]
    .filter(([name, t]) => name !== learning.target && t.type !== "bool")
    .map(([name]) => name);
}

export class Daemon {
  private readonly started: Component[] = [];
  private readonly latest: LatestValues;
  private store?: Store;
  private alerts?: AlertEngine;
  private learner?: Learner;
  private readonly pollers: ModbusPoller[] = [];
  private statusTimer?: NodeJS.Timeout;
  /** Event-loop stalls delay polls: the status line reports the worst since the last one. */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });
  private systemTimer?: NodeJS.Timeout;
  private predictions = 0;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {
    this.latest = new LatestValues(config.learning ? recentSpanMs(config.learning) : 0);
  }

  async start(): Promise<void> {
    const { config, logger } = this;
    logger.info({ gateway: config.gateway.name, stateDir: config.gateway.stateDir }, "starting");
    for (const warning of configWarnings(config)) logger.warn({ warning }, "config warning");
    try {
      await this.startParts();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.loopDelay.enable();
    this.startStatusLog();
    this.startSystemSignals();
    this.store?.event({
      ts: this.clock.now(),
      kind: "daemon.started",
      source: config.gateway.name,
      message: "started",
    });
    logger.info({ components: this.started.map((c) => c.name) }, "started");
  }

  async stop(): Promise<void> {
    clearInterval(this.statusTimer);
    this.loopDelay.disable();
    clearInterval(this.systemTimer);
    this.store?.event({
      ts: this.clock.now(),
      kind: "daemon.stopped",
      source: this.config.gateway.name,
      message: "stopped",
    });
    const anything = this.started.length > 0;
    while (this.started.length) {
      const part = this.started.pop() as Component;
      try {
        await part.stop();
      } catch (err) {
        this.logger.error({ component: part.name, err: (err as Error).message }, "stop failed");
      }
    }
    if (anything) this.logger.info("stopped");
  }

  health(): Record<string, Health> {
    return Object.fromEntries(this.started.map((c) => [c.name, c.health()]));
  }

  private async startParts(): Promise<void> {
    // The control socket doubles as the state directory's lock: a second daemon on the same
    // directory stops here, before it could touch the outputs or the buffer of the first.
    await this.startControl();
    const store = await this.startBuffer();
    await this.startOutputs(store);
    if (this.config.learning) await this.startLearning(this.config.learning, store);
    await this.startSources(store);
  }

  private child(component: string): Logger {
    return this.logger.child({ component });
  }

  /** The buffer first, so every later part can record events; the clock watch beside it. */
  private async startBuffer(): Promise<Store> {
    const { config, clock } = this;
    const store = new Store({
      path: statePath(config, config.store.path),
      config: config.store,
      tags: [...listTags(config)].map(([name, t]) => ({ name, ...t })),
      clock,
      logger: this.child("store"),
    });
    this.store = store;
    await this.run(store);
    // A jump also restarts the in-memory windows inference and alerts read. The learner
    // starts later; until then there is nothing of its to restart.
    const learner = {
      clockJumped: (deltaMs: number) => this.learner?.clockJumped(deltaMs),
      clockSynchronized: () => {},
    };
    const listener = clockListeners(store, this.latest, learner);
    await this.run(new ClockMonitor(config.clock, clock, listener, store, this.child("clock")));
    if (config.simulator.enabled) {
      await this.run(new SimulatorServer(config.simulator, this.child("simulator")));
    }
    return store;
  }

  /** Outputs at their safe level, and the rules that drive them. */
  private async startOutputs(store: Store): Promise<Outputs> {
    const { config, clock } = this;
    const driver = await chooseGpioDriver(config, this.child("gpio"));
    const outputs = new Outputs(config.outputs.lines, driver, this.child("outputs"));
    await this.run(outputs);
    this.alerts = new AlertEngine({
      rules: [...config.alerts.rules, ...SYSTEM_RULES],
      clock,
      logger: this.child("alerts"),
      events: store,
      onChange: (states) => outputs.apply(states),
    });
    // Started after the outputs, so on stop the rules settle before the outputs go safe.
    await this.run(this.alerts);
    return outputs;
  }

  private async startLearning(learning: LearningConfig, store: Store): Promise<void> {
    const { config } = this;
    this.learner = new Learner({
      config: learning,
      features: featureTags(config),
      modelDir: join(config.gateway.stateDir, "models"),
      history: store,
      badReadings: new StoreBadReadings(statePath(config, config.store.path)),
      latest: this.latest,
      recent: this.latest,
      alarmSpans: new StoreAlarmSpans(statePath(config, config.store.path)),
      onPrediction: (p) => this.onPrediction(p),
      clock: this.clock,
      logger: this.child("learner"),
      events: store,
    });
    await this.run(this.learner);
  }

  /** Modbus connections (transport, then poller) and serial sensors, all into one sink. */
  private async startSources(store: Store): Promise<void> {
    const { config, clock, logger } = this;
    const sink = this.readingSink();
    for (const connection of config.connections) {
      const deps = { sink, events: store, clock, logger };
      const { transport, poller } = createModbusSource(connection, deps);
      await this.run(transport);
      await this.run(poller);
      this.pollers.push(poller);
    }
    for (const sensorConfig of config.sensors) {
      const logger = this.child("sensor");
      await this.run(
        new SerialSensor({ config: sensorConfig, sink, events: store, clock, logger }),
      );
    }
  }

  private async startControl(): Promise<void> {
    await this.run(
      new ControlServer(
        join(this.config.gateway.stateDir, SOCKET_NAME),
        {
          status: () => this.status(),
          // `plantgate models rollback` moved the pointer: load that version now.
          "models.reload": () => {
            if (!this.learner) throw new Error("learning is not configured");
            return this.learner.reload();
          },
        },
        this.child("control"),
      ),
    );
  }

  private async run(part: Component): Promise<void> {
    await part.start();
    this.started.push(part);
  }

  /**
   * Readings go to the buffer, the latest-value cache, the learner (whose inference stops a
   * tag's fill at a bad reading) and rules watching a tag.
   */
  private readingSink(): ReadingSink {
    const store = this.store as Store;
    const alerts = this.alerts as AlertEngine;
    const watched = alerts.signals();
    const learner = this.learner;
    return {
      write: (readings: readonly Reading[]) => {
        store.write(readings);
        this.latest.write(readings);
        learner?.observe(readings);
        for (const r of readings) {
          if (!watched.has(r.tag)) continue;
          const value = r.quality.status === "good" ? Number(r.value) : undefined;
          alerts.feed(r.tag, value);
        }
      },
    };
  }

  private onPrediction(p: Prediction | undefined): void {
    if (p) {
      this.store?.writePrediction(p);
      if (this.predictions++ === 0) {
        this.logger.info(
          { target: p.target, value: p.value, model: p.modelVersion },
          "first prediction",
        );
      }
    }
    this.alerts?.feed("prediction", p?.value);
  }

  status(): Record<string, unknown> {
    return {
      gateway: this.config.gateway.name,
      polls: this.pollers.reduce((n, p) => n + p.progress, 0),
      health: this.health(),
      rules: Object.fromEntries(this.alerts?.states() ?? []),
      predictions: this.predictions,
      latest: this.latest.snapshot().map((r) => ({
        tag: r.tag,
        ts: r.ts,
        value: typeof r.value === "bigint" ? r.value.toString() : r.value,
        quality: r.quality,
      })),
    };
  }

  /** Feeds the gateway's own signals to the system rules, once a second. */
  private startSystemSignals(): void {
    this.systemTimer = setInterval(() => {
      const fault = this.store?.health().status === "ok" ? 0 : 1;
      this.alerts?.feed(BUFFER_FAULT_SIGNAL, fault);
    }, 1000);
    this.systemTimer.unref();
  }

  private startStatusLog(): void {
    const every = this.config.log.statusIntervalMs;
    if (!every) return;
    this.statusTimer = setInterval(() => {
      const store = this.store?.health();
      const learner = this.learner?.health();
      const loop = this.loopDelay;
      this.logger.info(
        {
          eventLoopMaxMs: Math.round(loop.max / 1e6),
          eventLoopP99Ms: Math.round(loop.percentile(99) / 1e6),
          polls: this.pollers.reduce((n, p) => n + p.progress, 0),
          stored: store?.written,
          queued: store?.queued,
          dropped: store?.dropped,
          predictions: this.predictions,
          model: learner?.modelVersion,
          rules: Object.fromEntries(this.alerts?.states() ?? []),
        },
        "status",
      );
      loop.reset();
    }, every);
    this.statusTimer.unref();
  }
}
