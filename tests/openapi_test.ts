import { createConfig, lintFromString } from "@redocly/openapi-core";
import { createApp } from "../routes/app.ts";
import { nodeBackend } from "../src/backend/onnx-node.ts";
import { loadModel } from "../src/model.ts";
import { GenerationService } from "../src/server/service.ts";
import { assertEquals } from "./assert.ts";

const model = await loadModel(new URL("../models/tiny-random", import.meta.url).pathname, {
  backend: nodeBackend,
  threads: 1,
});
// Redocly's recommended rule set, as `npx @redocly/cli lint` applies it by default.
const config = await createConfig({ extends: ["recommended"] });

async function lintServed(apiKey?: string) {
  const app = createApp(new GenerationService([model], { concurrency: 1 }), { apiKey });
  const source = await (await app.request("/openapi.json")).text();
  const problems = await lintFromString({ source, absoluteRef: "openapi.json", config });
  return {
    document: JSON.parse(source),
    problems: problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}`),
  };
}

/**
 * The warnings left, each true of the API rather than an omission in its description: the
 * project has no licence of its own to name, and these operations have no 4xx answer (no
 * input; without a key nothing to refuse).
 */
const noClientError = (path: string) =>
  `warn operation-4xx-response #/paths/${path.replaceAll("/", "~1")}/get/responses`;
const ACCEPTED = ["warn info-license #/info", noClientError("/health"), noClientError("/ready")];

Deno.test("openapi: /openapi.json passes Redocly's recommended rules, without an API key", async () => {
  const { document, problems } = await lintServed();
  assertEquals(problems, [...ACCEPTED, noClientError("/metrics"), noClientError("/v1/models")]);
  assertEquals(document.security, []);
  assertEquals(document.paths["/v1/generate"].post.responses["401"], undefined);
});

Deno.test("openapi: with an API key, the keyed routes declare bearer auth and a 401", async () => {
  const { document, problems } = await lintServed("s3cret");
  assertEquals(problems, ACCEPTED);
  assertEquals(document.security, [{ apiKey: [] }]);
  assertEquals(document.components.securitySchemes.apiKey, {
    type: "http",
    scheme: "bearer",
    description: document.components.securitySchemes.apiKey.description,
  });
  assertEquals(document.paths["/health"].get.security, []);
  for (const path of ["/v1/generate", "/v1/generate/stream"]) {
    assertEquals(Object.keys(document.paths[path].post.responses).includes("401"), true, path);
  }
});
