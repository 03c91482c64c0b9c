// Champion and challenger: a retrained model replaces the champion only when it is
// measurably better on the same rows, so one run on unlucky data cannot make predictions
// worse. Both are measured on the newest rows of the current window.

import type { HoldoutMetrics } from "./types.js";

export interface Verdict {
  promote: boolean;
  /** Why, in words for a log line or an event. */
  reason: string;
}

/**
 * Promote when the challenger's holdout MAE is at least `margin` (a share) below the
 * champion's. Without a champion, or one that could not be measured, any finite challenger
 * wins.
 */
export function judgeChallenger(
  challenger: HoldoutMetrics,
  champion: HoldoutMetrics | undefined,
  margin: number,
): Verdict {
  const c = challenger.holdoutMae;
  if (!Number.isFinite(c)) {
    return { promote: false, reason: "holdout error is not finite (training diverged)" };
  }
  if (!champion) return { promote: true, reason: "first model" };
  const k = champion.holdoutMae;
  if (!Number.isFinite(k)) return { promote: true, reason: "champion could not be measured" };

  const needed = k * (1 - margin);
  if (c <= needed && c < k) {
    return { promote: true, reason: `holdout MAE ${fmt(c)} beats the champion's ${fmt(k)}` };
  }
  const share = Math.round(margin * 1000) / 10;
  return {
    promote: false,
    reason: `holdout MAE ${fmt(c)} is not ${share}% below the champion's ${fmt(k)}`,
  };
}

function fmt(n: number): string {
  return n.toPrecision(4);
}
