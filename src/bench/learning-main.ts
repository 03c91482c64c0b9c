// The learning figures of `npm run bench` on their own, all or some of them:
//   node dist/bench/learning-main.js [cv] [stream] [skab] [speed]
// They take minutes; the whole bench measures acquisition and storage first.

import { LEARNING_PARTS, type LearningPart, learningBench } from "./learning-report.js";

const named = process.argv.slice(2);
const unknown = named.filter((p) => !(LEARNING_PARTS as readonly string[]).includes(p));
if (unknown.length > 0) {
  console.error(`unknown part ${unknown.join(", ")}; parts: ${LEARNING_PARTS.join(", ")}`);
  process.exit(2);
}
await learningBench(named.length > 0 ? new Set(named as LearningPart[]) : undefined);
