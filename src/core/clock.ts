// Scheduling uses the monotonic clock; stored times are UTC wall-clock milliseconds.
// Both come through this interface so tests can hand in a fake.

export interface Clock {
  /** UTC wall-clock milliseconds since the epoch. */
  now(): number;
  /** Monotonic milliseconds; only differences are meaningful. */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};
