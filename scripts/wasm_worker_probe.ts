/**
 * Why the WASM sessions stay on the server's thread: times one onnxruntime-web session (one
 * thread, the glyph transformer, 40 rows — a batch of 20 with guidance) run after run, on the
 * main thread and then in a Web Worker, in one process. Under Deno 2.9.6 on the 2-core dev
 * machine the worker's runs took 1.5× the main thread's (median of the second half, 2148 vs
 * 1454 ms), 2.2× with `--v8-flags=--no-wasm-deopt`; a worker alone in its process ran at the
 * main thread's speed for eight runs, then at 2.5× for good. Re-run this on a new Deno: when the
 * two columns agree, the sessions can move into a worker.
 *
 * ```sh
 * deno run --allow-read --allow-env scripts/wasm_worker_probe.ts [RUNS]
 * ```
 *
 * @module
 */

import * as ort from "onnxruntime-web";

const USAGE = "usage: wasm_worker_probe.ts [RUNS=20] (at least 2)";
const RUNS = Number(Deno.args[0] ?? 20);
const MODEL = new URL("../models/glyphs/transformer.onnx", import.meta.url);
const inWorker = "WorkerGlobalScope" in globalThis;
// onnxruntime-web, once it has started on a thread, puts node:worker_threads' Worker in its place.
const WebWorker = globalThis.Worker;

/** Milliseconds of each of `runs` forward passes of a fresh one-thread session. */
async function time(runs: number): Promise<number[]> {
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "fatal";
  const session = await ort.InferenceSession.create(await Deno.readFile(MODEL));
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of session.inputMetadata) {
    if (!input.isTensor) continue;
    const dims = input.shape.map((d, axis) => typeof d === "number" ? d : axis === 0 ? 40 : 64);
    const size = dims.reduce((a, b) => a * b, 1);
    feeds[input.name] = input.type === "int64"
      ? new ort.Tensor("int64", new BigInt64Array(size), dims)
      : new ort.Tensor("bool", new Uint8Array(size), dims);
  }
  const times = [];
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    await session.run(feeds);
    times.push(Math.round(performance.now() - start));
  }
  return times;
}

if (inWorker) {
  const scope = self as unknown as Worker;
  scope.onmessage = async ({ data }: MessageEvent<number>) => {
    scope.postMessage(await time(data));
    self.close();
  };
} else if (Deno.args.some((arg) => arg === "--help" || arg === "-h")) {
  console.log(USAGE);
  Deno.exit(0);
} else if (!(RUNS >= 2)) {
  console.error(USAGE);
  Deno.exit(2);
} else {
  const main = await time(RUNS);
  const worker = new WebWorker(new URL(import.meta.url), { type: "module" });
  const inside = await new Promise<number[]>((resolve) => {
    worker.onmessage = ({ data }) => resolve(data);
    worker.postMessage(RUNS);
  });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  console.log("run  main ms  worker ms");
  main.forEach((ms, run) =>
    console.log(`${run + 1}`.padStart(3), `${ms}`.padStart(8), `${inside[run]}`.padStart(10))
  );
  const late = (xs: number[]) => median(xs.slice(RUNS >> 1));
  console.log(
    `median of the second half: main ${late(main)} ms, worker ${late(inside)} ms ` +
      `(worker / main ${(late(inside) / late(main)).toFixed(2)})`,
  );
}
