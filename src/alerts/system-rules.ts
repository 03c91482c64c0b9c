// Rules plantgate adds by itself, about the gateway rather than the line. They drive outputs
// like configured rules: a line that follows the worst of all rules lights for them too,
// and a line can name one with `rule`.

import type { RuleConfig } from "../config/schema.js";

/** Signal fed once a second: 1 while the buffer cannot write or has lost untaken readings. */
export const BUFFER_FAULT_SIGNAL = "system.bufferFault";

export const SYSTEM_RULES: readonly RuleConfig[] = [
  {
    name: "bufferFault",
    signal: BUFFER_FAULT_SIGNAL,
    above: { alarm: 0.5 },
    hysteresis: 0,
    debounceMs: 0,
  },
];
