// A small simulated production line: slow random drift in its inputs, and degradation
// episodes carried by the inputs (vibration and temperature rise), so that efficiency,
// computed from the inputs plus noise, falls with them. Seeded: the same seed and step
// give the same values.

import { seededRandom } from "../core/random.js";

export interface LineState {
  step: number;
  temperature: number;
  humidity: number;
  pressure: number;
  vibration: number;
  spindleSpeed: number;
  efficiency: number;
  goodParts: number;
  /** 0 outside an episode, up to 1 at its peak. */
  degradation: number;
}

export interface EpisodePlan {
  stepMs: number;
  firstEpisodeAfterMs: number;
  episodeEveryMs: number;
  episodeDurationMs: number;
}

/** Episode intensity at a time since start: ramp up, hold, ramp down. */
export function degradationAt(ms: number, plan: EpisodePlan): number {
  if (ms < plan.firstEpisodeAfterMs) return 0;
  const into = (ms - plan.firstEpisodeAfterMs) % plan.episodeEveryMs;
  const d = plan.episodeDurationMs;
  if (into >= d) return 0;
  const rise = 0.4 * d;
  const fall = 0.3 * d;
  if (into < rise) return into / rise;
  if (into > d - fall) return (d - into) / fall;
  return 1;
}

/** Drift terms are AR(1) processes: x ← φx + σ·noise, with stationary spread σ/√(1−φ²). */
const PHI = 0.9;

export class SimulatedLine {
  private readonly random: () => number;
  private readonly drift = { temperature: 0, humidity: 0, pressure: 0, vibration: 0, speed: 0 };
  private state: LineState;

  constructor(
    seed: number,
    private readonly plan: EpisodePlan,
  ) {
    this.random = seededRandom(seed);
    this.state = this.compute(0, 0);
  }

  get current(): LineState {
    return this.state;
  }

  /** Advances one step and returns the new state. */
  advance(): LineState {
    const d = this.drift;
    d.temperature = PHI * d.temperature + 0.9 * this.gauss();
    d.humidity = PHI * d.humidity + 2.5 * this.gauss();
    d.pressure = PHI * d.pressure + 0.08 * this.gauss();
    d.vibration = PHI * d.vibration + 0.18 * this.gauss();
    d.speed = PHI * d.speed + 30 * this.gauss();
    this.state = this.compute(this.state.step + 1, this.state.goodParts);
    return this.state;
  }

  private compute(step: number, goodParts: number): LineState {
    const d = this.drift;
    const degradation = degradationAt(step * this.plan.stepMs, this.plan);
    const temperature = 45 + d.temperature + 14 * degradation;
    const humidity = 40 + d.humidity;
    const pressure = 6 + d.pressure;
    const vibration = Math.max(0.1, 2 + d.vibration + 6 * degradation);
    const spindleSpeed = 1500 + d.speed;

    const efficiency =
      92 -
      0.8 * (temperature - 45) -
      3.5 * (vibration - 2) +
      0.01 * (spindleSpeed - 1500) -
      0.1 * (humidity - 40) -
      2 * (pressure - 6) +
      0.4 * this.gauss();
    const partsThisStep = Math.max(0, Math.round((efficiency / 100) * 3 + this.random() - 0.5));

    return {
      step,
      temperature,
      humidity,
      pressure,
      vibration,
      spindleSpeed,
      efficiency: Math.min(100, Math.max(0, efficiency)),
      goodParts: (goodParts + partsThisStep) >>> 0,
      degradation,
    };
  }

  /** A standard normal sample (Box–Muller). */
  private gauss(): number {
    const u = 1 - this.random();
    const v = this.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
