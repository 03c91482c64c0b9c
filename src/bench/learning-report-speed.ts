// The speed table of the learning bench: one retrain as the daemon runs it, with the error
// of the model it made (a faster but worse retrain would show), one prediction, and the
// poller's cadence while the retrain runs.

import { modelSchema } from "../config/schema.js";
import { initBackend } from "../model/backend.js";
import { loadCcpp } from "./learning-data.js";
import { describeModel, modelLabel } from "./learning-model.js";
import { speedBench, WINDOW_ROWS } from "./learning-speed.js";
import { atMost, printTable } from "./learning-table.js";

const GOAL_RETRAIN_MS = 3000;
const GOAL_PREDICT_MS = 2;

export async function speedTable(path: string): Promise<void> {
  const runtime = await initBackend();
  const daemonModel = modelSchema.parse({});
  const s = await speedBench(runtime, loadCcpp(path), daemonModel);
  const gapGoal = 1.5 * s.idleGapP99Ms + 10;
  const window = `${WINDOW_ROWS.toLocaleString("en")}-row window`;
  const ols = { baselineName: "OLS closed form, same rows and holdout", unit: "MW", digits: 2 };
  console.log(`\nLearning: speed on this machine (worker backend ${s.backend}):`);
  printTable([
    {
      figure: `one retrain, ${window}, daemon default model: read, build, fit`,
      value: s.retrainMs,
      baselineName: "OLS closed form, same rows",
      baseline: s.olsMs,
      unit: "ms",
      digits: 0,
      goal: atMost(s.retrainMs, GOAL_RETRAIN_MS, "ms", 0),
    },
    {
      ...ols,
      figure: "that retrain's holdout RMSE",
      value: s.holdout.rmse,
      baseline: s.olsHoldout.rmse,
    },
    {
      ...ols,
      figure: "that retrain's holdout MAE",
      value: s.holdout.mae,
      baseline: s.olsHoldout.mae,
    },
    {
      figure: "one-row prediction p99, main thread",
      value: s.predictP99Ms,
      baselineName: "JS dot product, OLS weights",
      baseline: s.dotP99Ms,
      unit: "ms",
      digits: 3,
      goal: atMost(s.predictP99Ms, GOAL_PREDICT_MS, "ms", 3),
    },
    {
      figure: "poll cycle gap p99 at 10 ms, while a retrain runs",
      value: s.trainingGapP99Ms,
      baselineName: "same poller, idle",
      baseline: s.idleGapP99Ms,
      unit: "ms",
      digits: 1,
      goal: atMost(s.trainingGapP99Ms, gapGoal, "ms", 1),
    },
  ]);
  console.log(
    `daemon default model: ${modelLabel(daemonModel)}, ${describeModel(daemonModel)}. The ` +
      `retrain reads CCPP's rows, wrapped round to ${WINDOW_ROWS.toLocaleString("en")} ` +
      "seconds, from a SQLite buffer and builds them on the main thread " +
      `(${s.readMs.toFixed(0)} ms), then fits in the worker and measures on the newest 20% ` +
      `(${s.fitMs.toFixed(0)} ms). Poll gaps: ${s.trainingCycles} cycles during the retrain, ` +
      `${s.idleCycles} idle; goal ≤ 1.5 × idle + 10 ms.`,
  );
}
