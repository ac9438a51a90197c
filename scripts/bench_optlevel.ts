/**
 * ONNX Runtime's graph optimisation level, weighed: for each level, the time to open a session on
 * an ONNX file (native backend, by path as the project opens it) and the time of one forward pass
 * of a batch, medians over runs, levels interleaved run by run so drift hits them alike. A level
 * that makes opening slower must pay it back in forwards: a generation makes `steps` of them.
 *
 * ```sh
 * deno run --allow-all scripts/bench_optlevel.ts FILE.onnx [RUNS=5] [BATCH=2]
 * ```
 *
 * @module
 */

import * as ort from "onnxruntime-node";
import { stats } from "../src/bench.ts";

const LEVELS = ["basic", "extended", "all"] as const;
const USAGE = "usage: bench_optlevel.ts FILE.onnx [RUNS=5] [BATCH=2]";
if (Deno.args.some((arg) => arg === "--help" || arg === "-h")) {
  console.log(USAGE);
  Deno.exit(0);
}
const [file, runs = "5", batch = "2"] = Deno.args;
if (!file || !(Number(runs) >= 1) || !(Number(batch) >= 1)) {
  console.error(USAGE);
  Deno.exit(2);
}
ort.env.logLevel = "fatal";

/** Zero inputs of the session's types, symbolic dimensions set to the batch (or 1). */
function zeroFeeds(session: ort.InferenceSession, rows: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of session.inputMetadata) {
    if (!input.isTensor) continue;
    const dims = input.shape.map((d, axis) => typeof d === "number" ? d : axis === 0 ? rows : 1);
    const size = dims.reduce((a, b) => a * b, 1);
    feeds[input.name] = input.type === "int64"
      ? new ort.Tensor("int64", new BigInt64Array(size), dims)
      : input.type === "bool"
      ? new ort.Tensor("bool", new Uint8Array(size), dims)
      : new ort.Tensor("float32", new Float32Array(size), dims);
  }
  return feeds;
}

const open: Record<string, number[]> = {};
const forward: Record<string, number[]> = {};
for (let run = 0; run < Number(runs); run++) {
  for (const level of LEVELS) {
    let start = performance.now();
    const session = await ort.InferenceSession.create(file, {
      graphOptimizationLevel: level,
      intraOpNumThreads: navigator.hardwareConcurrency,
      interOpNumThreads: 1,
      executionMode: "sequential",
    });
    (open[level] ??= []).push(performance.now() - start);
    const feeds = zeroFeeds(session, Number(batch));
    await session.run(feeds); // the first run allocates
    start = performance.now();
    await session.run(feeds);
    (forward[level] ??= []).push(performance.now() - start);
    await session.release();
  }
}
console.log(`| level | open (ms) | forward, batch ${batch} (ms) |`);
console.log("| --- | ---: | ---: |");
for (const level of LEVELS) {
  const o = stats(open[level]), f = stats(forward[level]);
  console.log(`| ${level} | ${o.median.toFixed(0)} | ${f.median.toFixed(1)} |`);
}
