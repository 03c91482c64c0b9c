// Accuracy on CCPP under the original study's protocol (Tüfekci 2014): 5×2 cross-validation,
// five repetitions of a seeded random split into two halves, each half once the test fold.
// Figures are the mean of the ten folds' MAE and RMSE, for plantgate's models and for
// ordinary least squares in closed form on the same folds.

import type { ModelConfig } from "../config/schema.js";
import type { TfRuntime } from "../model/backend.js";
import type { Regression } from "./learning-data.js";
import {
  ErrorSum,
  type Errors,
  fitOls,
  predictLinear,
  seededRandom,
  shuffledIndices,
} from "./learning-math.js";
import { fitRows } from "./learning-model.js";

export const CV_REPETITIONS = 5;
const CV_SEED = 20140601;

export interface CvFigures {
  /** Mean over the folds, per model label; "ols" is the closed-form baseline. */
  byModel: Map<string, Errors>;
  /** Each fold's errors, per model label, for the spread. */
  perFold: Map<string, Errors[]>;
  folds: number;
  seconds: number;
}

type Fold = { x: number[][]; y: number[] };

export async function crossValidate(
  runtime: TfRuntime,
  data: Regression,
  models: ReadonlyMap<string, ModelConfig>,
  repetitions = CV_REPETITIONS,
): Promise<CvFigures> {
  const started = performance.now();
  const random = seededRandom(CV_SEED);
  const perFold = new Map<string, Errors[]>();
  const record = (label: string, e: Errors) =>
    perFold.set(label, [...(perFold.get(label) ?? []), e]);

  for (let rep = 0; rep < repetitions; rep++) {
    const [a, b] = halves(data, random);
    for (const [train, test] of [
      [a, b],
      [b, a],
    ] as const) {
      record("ols", olsErrors(train, test));
      for (const [label, model] of models) {
        const fitted = await fitRows(runtime, model, data.features, train, test);
        record(label, errorsOf(fitted.predict(test.x), test.y));
        fitted.dispose();
      }
    }
  }

  const byModel = new Map<string, Errors>();
  for (const [label, folds] of perFold) byModel.set(label, meanErrors(folds));
  const seconds = (performance.now() - started) / 1000;
  return { byModel, perFold, folds: 2 * repetitions, seconds };
}

function halves(data: Regression, random: () => number): [Fold, Fold] {
  const order = shuffledIndices(data.x.length, random);
  const pick = (idx: number[]): Fold => ({
    x: idx.map((i) => data.x[i] as number[]),
    y: idx.map((i) => data.y[i] as number),
  });
  const cut = Math.floor(order.length / 2);
  return [pick(order.slice(0, cut)), pick(order.slice(cut))];
}

function olsErrors(train: Fold, test: Fold): Errors {
  const fit = fitOls(train.x, train.y);
  return errorsOf(
    test.x.map((row) => predictLinear(fit, row)),
    test.y,
  );
}

export function errorsOf(predicted: readonly number[], actual: readonly number[]): Errors {
  const sum = new ErrorSum();
  sum.addAll(predicted, actual);
  return sum.errors();
}

function meanErrors(folds: readonly Errors[]): Errors {
  const avg = (f: (e: Errors) => number) => folds.reduce((s, e) => s + f(e), 0) / folds.length;
  return { mae: avg((e) => e.mae), rmse: avg((e) => e.rmse), count: folds.length };
}
