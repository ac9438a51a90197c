import { Buffer } from "node:buffer";
import { main } from "../main.ts";
import { createApp } from "../routes/app.ts";
import { nodeBackend } from "../src/backend/onnx-node.ts";
import { decodePng } from "../src/image.ts";
import { apiName, KNOBS } from "../src/knobs.ts";
import { classNames, loadModel, type Model } from "../src/model.ts";
import { Rng } from "../src/rng.ts";
import { GenerationService, type ServiceLimits } from "../src/server/service.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";

const STANDIN = new URL("../models/tiny-random", import.meta.url).pathname;
const model = await loadModel(STANDIN, { backend: nodeBackend, threads: 1 });
const N = model.manifest.grid ** 2;

/** The stand-in, slowed down and counting its forward passes. */
function slowModel(ms: number): Model & { calls: () => number } {
  let calls = 0;
  return {
    ...model,
    calls: () => calls,
    transformer: {
      selectsPositions: model.transformer.selectsPositions,
      async run(input) {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, ms));
        return model.transformer.run(input);
      },
    },
  };
}

function appWith(models: Model[] = [model], limits: ServiceLimits = {}) {
  const service = new GenerationService(models, { concurrency: 2, ...limits });
  return { service, app: createApp(service) };
}

const { app, service } = appWith();

function post(body: unknown, path = "/v1/generate", headers: Record<string, string> = {}) {
  return app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const fromBase64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));

/** Parses a Server-Sent Events body into [event, data] pairs. */
async function serverEvents(response: Response): Promise<[string, Record<string, unknown>][]> {
  const text = await response.text();
  return text.trim().split("\n\n").map((block) => {
    const event = block.match(/^event: (.*)$/m)![1];
    return [event, JSON.parse(block.match(/^data: (.*)$/m)![1])];
  });
}

Deno.test("server: health, ready, models, OpenAPI, page and script answer", async () => {
  assertEquals(await (await app.request("/health")).json(), { status: "ok" });
  assertEquals(await (await app.request("/ready")).json(), {
    status: "ready",
    models: ["tiny-random"],
  });
  const { models } = await (await app.request("/v1/models")).json();
  assertEquals(models.length, 1);
  assertEquals(models[0].name, "tiny-random");
  assertEquals(models[0].classes, classNames(model.manifest));
  assertEquals(models[0].defaults.steps, 16); // the manifest's default over the library's 32
  assertEquals(models[0].tokens, N);
  assertEquals(models[0].precision, "fp32"); // no `precision` in its model.json

  const openapi = await (await app.request("/openapi.json")).json();
  assertEquals(openapi.openapi, "3.1.0");
  const schema = openapi.paths["/v1/generate"].post.requestBody.content["application/json"].schema;
  for (const knob of KNOBS) assert(schema.properties[apiName(knob)], apiName(knob));

  const page = await app.request("/");
  assert(page.headers.get("content-type")!.startsWith("text/html"));
  assert((await page.text()).includes('src="/page.js"'));
  const script = await app.request("/page.js");
  assert(script.headers.get("content-type")!.startsWith("text/javascript"));
  assert((await script.text()).includes("/v1/generate/stream"));
});

Deno.test("server: a model's own files (and only those) and ORT's WASM build are served", async () => {
  const manifest = await app.request("/v1/models/tiny-random/files/model.json");
  assertEquals(await manifest.json(), JSON.parse(await Deno.readTextFile(`${STANDIN}/model.json`)));
  const onnx = await app.request("/v1/models/tiny-random/files/transformer.onnx");
  assertEquals(
    new Uint8Array(await onnx.arrayBuffer()),
    await Deno.readFile(`${STANDIN}/transformer.onnx`),
  );
  for (
    const path of [
      "/v1/models/tiny-random/files/..%2Fglyphs%2Fmodel.json",
      "/v1/models/tiny-random/files/reference.json",
      "/v1/models/nope/files/model.json",
      "/vendor/onnxruntime-web/package.json",
    ]
  ) {
    const response = await app.request(path);
    assertEquals(response.status, 404, path);
    assert((await response.json()).error, path);
  }
  const ort = await app.request("/vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm");
  assertEquals(ort.headers.get("content-type"), "application/wasm");
  await ort.body?.cancel();
  const page = await app.request("/");
  assertEquals(page.headers.get("cross-origin-embedder-policy"), "require-corp");
});

Deno.test("server: same settings give the same PNG bytes as the CLI", async () => {
  const out = await Deno.makeTempDir();
  try {
    const cases: [Record<string, unknown>, string[]][] = [
      [{ class: 1, seed: 3 }, ["--class", "1", "--seed", "3"]],
      [
        {
          class: "seven",
          seed: 11,
          scheduler: "confidence",
          steps: 5,
          cfg: 0,
          temperature: 0.8,
          top_k: 9,
        },
        [
          "--class",
          "seven",
          "--seed",
          "11",
          "--scheduler",
          "confidence",
          "--steps",
          "5",
          "--cfg",
          "0",
        ]
          .concat(["--temperature", "0.8", "--top-k", "9"]),
      ],
    ];
    for (const [body, args] of cases) {
      const response = await post(body);
      assertEquals(response.status, 200);
      assertEquals(response.headers.get("content-type"), "image/png");
      assertEquals(response.headers.get("x-seed"), String(body.seed));
      const path = `${out}/cli.png`;
      assertEquals(
        await main(["generate", "--model", STANDIN, ...args, "--out", path, "--quiet"]),
        0,
      );
      assertEquals(new Uint8Array(await response.arrayBuffer()), await Deno.readFile(path));
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("server: JSON answers carry every image and the seed; image b is seed + b alone", async () => {
  const response = await post({ class: "two", seed: 5, count: 3 }, "/v1/generate", {
    accept: "application/json",
  });
  const body = await response.json();
  assertEquals([body.model, body.class, body.label, body.seed], ["tiny-random", "two", 2, 5]);
  assertEquals(body.settings.steps, 16);
  assertEquals(body.images.length, 3);
  const third = await post({ class: "two", seed: 7 });
  assertEquals(fromBase64(body.images[2]), new Uint8Array(await third.arrayBuffer()));

  // Without a seed the server draws one and says which.
  const drawn = await (await post({ class: 0 }, "/v1/generate", { accept: "application/json" }))
    .json();
  const again = await post({ class: 0, seed: drawn.seed });
  assertEquals(fromBase64(drawn.images[0]), new Uint8Array(await again.arrayBuffer()));

  // Several images as PNG: one tiled picture.
  const tiled = await post({ class: 0, seed: 1, count: 4 });
  assertEquals(tiled.headers.get("x-images"), "4");
  const picture = decodePng(new Uint8Array(await tiled.arrayBuffer()));
  assert(picture.width > model.manifest.image.width);
});

Deno.test("server: every malformed request gets a 4xx JSON error naming the field", async () => {
  const cases: [unknown, number, string | undefined][] = [
    ["not json", 400, "body"],
    [[1, 2], 400, "body"],
    [null, 400, "body"],
    [{}, 400, "class"],
    [{ class: "eleven" }, 400, "class"],
    [{ class: 10 }, 400, "class"],
    [{ class: -1 }, 400, "class"],
    [{ class: 1.5 }, 400, "class"],
    [{ class: true }, 400, "class"],
    [{ class: 1, colour: "red" }, 400, "colour"],
    [{ class: 1, model: "../models/glyphs" }, 400, "model"],
    [{ class: 1, model: 3 }, 400, "model"],
    [{ class: 1, model: "no-such-model" }, 404, "model"],
    [{ class: 1, count: 0 }, 400, "count"],
    [{ class: 1, count: 17 }, 400, "count"],
    [{ class: 1, count: "2" }, 400, "count"],
    [{ class: 1, preview_every: -1 }, 400, "preview_every"],
    [{ class: 1, steps: 0 }, 400, "steps"],
    [{ class: 1, steps: N + 1 }, 400, "steps"],
    [{ class: 1, seed: -1 }, 400, "seed"],
    [{ class: 1, scheduler: "best" }, 400, "scheduler"],
    [{ class: 1, temperature: 0 }, 400, "temperature"],
    [{ class: 1, temperature_end: -2 }, 400, "temperature_end"],
    [{ class: 1, temperature_warmup: 1.5 }, 400, "temperature_warmup"],
    [{ class: 1, top_k: -3 }, 400, "top_k"],
    [{ class: 1, count_mode: "cubic" }, 400, "count_mode"],
    [{ class: 1, noise: "loud" }, 400, "noise"],
    [{ class: 1, noise_temperature: -1 }, 400, "noise_temperature"],
    [{ class: 1, cfg_ramp: "cubic" }, 400, "cfg_ramp"],
    // Numbers that would turn logits into NaN or overflow a seed.
    [{ class: 1, cfg: 1e308 }, 400, "cfg"],
    [{ class: 1, cfg: -5 }, 400, "cfg"],
    [{ class: 1, temperature: 1e-320 }, 400, "temperature"],
    [{ class: 1, temperature_power: 1e308 }, 400, "temperature_power"],
    [{ class: 1, noise_temperature: 1e308 }, 400, "noise_temperature"],
    [{ class: 1, seed: Number.MAX_SAFE_INTEGER, count: 2 }, 400, "seed"],
    // A class model takes no prompt.
    [{ prompt: "a red apple" }, 400, "prompt"],
    [{ class: 1, prompt: "a red apple" }, 400, "prompt"],
    [{ class: 1, negative_prompt: "blue" }, 400, "negative_prompt"],
  ];
  // Every knob refuses a value of the wrong JSON type.
  for (const knob of KNOBS) {
    cases.push([
      { class: 1, [apiName(knob)]: knob.kind === "string" ? 3 : "3" },
      400,
      apiName(knob),
    ]);
  }
  for (const [body, status, field] of cases) {
    for (const path of ["/v1/generate", "/v1/generate/stream"]) {
      const response = await post(body, path);
      const what = `${path} ${JSON.stringify(body)}`;
      assertEquals(response.status, status, what);
      assertEquals(response.headers.get("content-type"), "application/json", what);
      const answer = await response.json();
      assertEquals(answer.field, field, what);
      assert(typeof answer.error === "string" && answer.error.length > 0, what);
    }
  }

  const plain = await app.request("/v1/generate", { method: "POST", body: '{"class":1}' });
  assertEquals(plain.status, 415);
  const huge = await post({ class: 1, padding: "x".repeat(20_000) });
  assertEquals(huge.status, 413);
  assertEquals((await huge.json()).field, "body");
  const missing = await app.request("/v1/nothing");
  assertEquals(missing.status, 404);
  assert((await missing.json()).error.includes("/v1/nothing"));
});

/** A random JSON value of any type: huge, tiny, negative and edge numbers, long strings. */
function randomJson(rng: Rng, depth = 0): unknown {
  const numbers = [0, 1, -1, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 1e308, -1e308, 1e-320, 0.5, 16, 17];
  const strings = ["", "A", "0", "halton", "confidence", "linear", "x".repeat(5000), "ü\u0000"];
  switch (rng.int(8)) {
    case 0:
      return null;
    case 1:
      return rng.int(2) === 1;
    case 2:
      return numbers[rng.int(numbers.length)];
    case 3:
      return (rng.uniform() - 0.5) * 10 ** rng.int(12);
    case 4:
      return strings[rng.int(strings.length)];
    case 5:
      return rng.int(40);
    case 6:
      return depth > 1 ? [] : [randomJson(rng, depth + 1)];
    default:
      return depth > 1 ? {} : { a: randomJson(rng, depth + 1) };
  }
}

Deno.test("server: no JSON body, however odd, gets a 5xx", async () => {
  const fields = ["model", "class", "prompt", "negative_prompt", "count", "preview_every"]
    .concat(KNOBS.map(apiName), ["unknown"]);
  const rng = new Rng(17);
  for (let i = 0; i < 400; i++) {
    const body: Record<string, unknown> = { class: rng.int(3) === 0 ? "A" : rng.int(16) };
    for (let k = rng.int(4); k > 0; k--) {
      body[fields[rng.int(fields.length)]] = randomJson(rng);
    }
    // Keep the generations that are valid short, so many bodies fit in the test's time.
    if (body.steps === undefined) body.steps = 2;
    const what = JSON.stringify(body).slice(0, 300);
    const path = i % 2 === 0 ? "/v1/generate" : "/v1/generate/stream";
    const response = await post(i % 50 === 0 ? randomJson(rng) : body, path);
    assert(response.status < 500, `${response.status} for ${what}`);
    if (response.status >= 400) {
      assertEquals(response.headers.get("content-type"), "application/json", what);
      assert(typeof (await response.json()).error === "string", what);
    } else if (path.endsWith("stream")) {
      const events = await serverEvents(response);
      assertEquals(events.at(-1)![0], "done", `${JSON.stringify(events.at(-1))} for ${what}`);
    } else await response.arrayBuffer();
  }
});

Deno.test("server: the stream sends start, one event per step with previews, then the image", async () => {
  const response = await post(
    { class: 3, seed: 2, steps: 6, preview_every: 2 },
    "/v1/generate/stream",
  );
  assertEquals(response.headers.get("content-type"), "text/event-stream");
  const events = await serverEvents(response);
  assertEquals(events.map(([name]) => name), ["start", ...Array(6).fill("step"), "done"]);
  assertEquals(events[0][1], {
    model: "tiny-random",
    class: "three",
    seed: 2,
    steps: 6,
    tokens: N,
    queued: 0,
  });
  const steps = events.slice(1, 7).map(([, data]) => data);
  assertEquals(steps.map((s) => s.step), [1, 2, 3, 4, 5, 6]);
  assertEquals(steps.map((s) => s.preview !== undefined), [false, true, false, true, false, true]);
  assert(steps.every((s, i) => i === 0 || (s.known as number) > (steps[i - 1].known as number)));
  assertEquals(steps[5].known, N);
  assert(decodePng(fromBase64(steps[1].preview as string)));
  const done = events[7][1] as { images: string[]; seed: number };
  const direct = await post({ class: 3, seed: 2, steps: 6 });
  assertEquals(fromBase64(done.images[0]), new Uint8Array(await direct.arrayBuffer()));
});

Deno.test("server: beyond the queue the answer is 429 with Retry-After; the rest finish", async () => {
  const slow = slowModel(20);
  const { app } = appWith([slow], { concurrency: 1, queueSize: 1 });
  const ask = () =>
    app.request("/v1/generate", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ class: 1, steps: 4 }),
    });
  const answers = await Promise.all([ask(), ask(), ask(), ask()]);
  assertEquals(answers.map((r) => r.status).sort(), [200, 200, 429, 429]);
  for (const refused of answers.filter((r) => r.status === 429)) {
    assert(Number(refused.headers.get("retry-after")) >= 1);
    assert((await refused.json()).error.includes("busy"));
  }
  assertEquals((await ask()).status, 200);
});

Deno.test("server: a request past its timeout gets 503 and stops between steps", async () => {
  const slow = slowModel(30);
  const { app, service } = appWith([slow], { timeoutMs: 100 });
  const response = await app.request("/v1/generate", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ class: 1, steps: 64 }),
  });
  assertEquals(response.status, 503);
  assert((await response.json()).error.includes("longer than 0.1 s"));
  assert(slow.calls() < 10, `ran ${slow.calls()} forward passes`);
  assertEquals(service.limiter.inFlight, 0);
});

Deno.test("server: a client that goes away cancels its generation between steps", async () => {
  for (const path of ["/v1/generate", "/v1/generate/stream"]) {
    const slow = slowModel(10);
    const { app, service } = appWith([slow], { concurrency: 1 });
    const client = new AbortController();
    const pending = Promise.resolve(app.request(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ class: 1, steps: 200 }),
      signal: client.signal,
    }));
    // The stream is read as a browser would (unread events hold the generation back).
    const reader = path.endsWith("stream") ? (await pending).body!.getReader() : undefined;
    while (slow.calls() < 3) {
      if (reader) await reader.read();
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
    client.abort();
    await (reader ? reader.cancel() : pending).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    const calls = slow.calls();
    assert(calls < 40, `${path}: ran ${calls} of 400 forward passes`);
    assertEquals(service.limiter.inFlight, 0, path);
    assert(service.metrics.render().includes("maskgit_generations_cancelled_total 1"), path);
  }
});

Deno.test("server: metrics count requests by route and status, and generations", async () => {
  const { app } = appWith();
  await app.request("/health");
  await app.request("/v1/generate", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ class: 1, steps: 2 }),
  });
  await app.request("/v1/generate", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{",
  });
  await app.request("/missing");
  const text = await (await app.request("/metrics")).text();
  for (
    const line of [
      'maskgit_http_requests_total{route="/health",status="200"} 1',
      'maskgit_http_requests_total{route="/v1/generate",status="200"} 1',
      'maskgit_http_requests_total{route="/v1/generate",status="400"} 1',
      'maskgit_http_requests_total{route="unmatched",status="404"} 1',
      'maskgit_generation_seconds_bucket{le="+Inf"} 1',
      `maskgit_tokens_total ${N}`,
      "maskgit_queue_depth 0",
      "maskgit_in_flight 0",
    ]
  ) {
    assert(text.includes(line), line);
  }
  assert(/^process_resident_memory_bytes \d+$/m.test(text));
});

Deno.test("server: ready answers 503 while draining", async () => {
  const { app, service } = appWith();
  service.draining = true;
  assertEquals((await app.request("/ready")).status, 503);
  assertEquals((await app.request("/health")).status, 200);
});

Deno.test("server: with an API key, /v1/* and /metrics need it; health, ready, page stay open", async () => {
  const keyed = createApp(new GenerationService([model], { concurrency: 1 }), { apiKey: "s3cret" });
  const get = (path: string, authorization?: string) =>
    keyed.request(path, { headers: authorization ? { authorization } : {} });
  for (const path of ["/health", "/ready", "/", "/page.js", "/openapi.json"]) {
    assertEquals((await get(path)).status, 200, path);
  }
  for (const path of ["/v1/models", "/metrics"]) {
    for (const header of [undefined, "Bearer wrong", "Basic s3cret", "Bearer "]) {
      const response = await get(path, header);
      assertEquals(response.status, 401, `${path} ${header}`);
      assertEquals(response.headers.get("content-type"), "application/json");
      assertEquals((await response.json()).field, "authorization");
    }
    assertEquals((await get(path, "Bearer s3cret")).status, 200, path);
  }
  const generated = await keyed.request("/v1/generate", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer s3cret" },
    body: JSON.stringify({ class: 1, steps: 2 }),
  });
  assertEquals(generated.status, 200);
  await generated.arrayBuffer();
  // Without a key everything stays open, as before.
  assertEquals((await app.request("/v1/models")).status, 200);
  assertThrows(() => createApp(service, { apiKey: "two words" }), /API key must be/);
});

Deno.test("server: two model folders with one name are refused", () => {
  let message = "";
  try {
    new GenerationService([model, model]);
  } catch (error) {
    message = (error as Error).message;
  }
  assert(message.includes("two model folders are named 'tiny-random'"));
});

// Answers are checked above; the shared app's service must have no work left behind.
Deno.test("server: nothing is left running", () => {
  assertEquals([service.limiter.inFlight, service.limiter.queued], [0, 0]);
});
