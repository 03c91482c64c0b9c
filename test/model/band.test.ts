import { describe, expect, it } from "vitest";
import { learningSchema } from "../../src/config/schema.js";
import { initBackend } from "../../src/model/backend.js";
import { trainModel } from "../../src/model/fit.js";
import { residuals } from "../../src/model/holdout.js";
import { loadNetwork } from "../../src/model/network.js";
import { dataFile, requireOrSkip } from "../support/data.js";
import { CCPP_FEATURES, ccppRows } from "./support/fakes.js";

const ccpp = dataFile("ccpp.csv");

describe.runIf(requireOrSkip(ccpp.missing))("prediction band on CCPP", () => {
  it("covers about the share of unseen rows its quantiles promise", async () => {
    const runtime = await initBackend();
    const config = learningSchema.parse({
      target: "plant.PE",
      model: { kind: "mlp", hiddenUnits: [16], epochs: 60, batchSize: 64, learningRate: 0.01 },
    });
    const train = ccppRows(ccpp.path, 0, 3000);
    const result = await trainModel(runtime, {
      ...train,
      features: CCPP_FEATURES,
      model: config.model,
      holdoutFraction: 0.3,
      band: config.band,
    });
    const band = result.band as { lower: number; upper: number };

    // Rows the model never saw, neither in training nor in the holdout the band came from.
    const unseen = ccppRows(ccpp.path, 3000, 7000);
    const network = await loadNetwork(runtime.tf, result.files);
    const res = residuals(runtime.tf, network, result.scalers, unseen.x, unseen.y);
    network.dispose();
    const below = res.filter((r) => r < band.lower).length / res.length;
    const above = res.filter((r) => r > band.upper).length / res.length;

    expect(band.lower).toBeLessThan(0);
    expect(band.upper).toBeGreaterThan(0);
    // 5 % and 95 % quantiles from 900 holdout rows: each tail near 5 % on 4,000 new rows.
    expect(below).toBeGreaterThan(0.02);
    expect(below).toBeLessThan(0.09);
    expect(above).toBeGreaterThan(0.02);
    expect(above).toBeLessThan(0.09);
    expect(1 - below - above).toBeGreaterThan(0.84);
  }, 60_000);
});
