import { describe, expect, it } from "vitest";
import { loadCcpp } from "../../src/bench/learning-data.js";
import { prequential, RETRAIN_EVERY, STREAM_MLP } from "../../src/bench/learning-streaming.js";
import { initBackend } from "../../src/model/backend.js";
import { dataFile, requireOrSkip } from "../support/data.js";

const ccpp = dataFile("ccpp.csv");

// The bench's streaming protocol (src/bench/learning-streaming.ts) with less training per
// retrain than the bench's default, so it runs in well under a minute and a half.
describe.runIf(requireOrSkip(ccpp.missing))("CCPP as a stream", () => {
  it("keeps the prequential RMSE within 4.5 MW, below OLS on the same schedule", async () => {
    const runtime = await initBackend();
    const data = loadCcpp(ccpp.path);

    const figures = await prequential(runtime, data, { model: STREAM_MLP, rowEpochs: 40_000 });

    expect(figures.retrains).toBe(Math.ceil(data.x.length / RETRAIN_EVERY) - 1);
    expect(figures.model.count).toBe(data.x.length - RETRAIN_EVERY);
    expect(figures.model.rmse).toBeLessThanOrEqual(4.5);
    expect(figures.model.rmse).toBeLessThan(figures.ols.rmse);
  }, 150_000);
});
