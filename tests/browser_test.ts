// The web page in a real browser (Debian's Chromium driven by playwright-core). CI installs
// Chromium; where it is missing the test says so and is skipped (fails under CI=true).
import { Buffer } from "node:buffer";
import { createApp } from "../routes/app.ts";
import { nodeBackend } from "../src/backend/onnx-node.ts";
import type { Page } from "playwright-core";
import {
  classNames,
  DEFAULT_MODEL_DIR,
  loadModel,
  type Model,
  SHIPPED_MODEL_DIRS,
} from "../src/model.ts";
import { GenerationService } from "../src/server/service.ts";
import { assert, assertEquals } from "./assert.ts";
import { needing } from "./needs.ts";

const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
const noChromium = await Deno.stat(CHROMIUM).then(
  () => undefined,
  () => `no Chromium at ${CHROMIUM} (apt-get install chromium)`,
);
/** Where to save screenshots of the page (for the README), when set. */
const SCREENSHOTS = Deno.env.get("SCREENSHOT_DIR");

/** Serves `models` and opens Chromium on the page; `use` gets the page and the server's URL. */
async function withPage(
  models: Model[],
  use: (page: Page, url: string) => Promise<void>,
  apiKey?: string,
): Promise<void> {
  const { chromium } = await import("playwright-core");
  // The in-browser option needs the sampler bundle, as `deno task serve` builds it.
  const build = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "build:web"],
    cwd: new URL("..", import.meta.url).pathname,
  }).output();
  assertEquals(build.code, 0, new TextDecoder().decode(build.stderr));
  const app = createApp(new GenerationService(models), { apiKey });
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}/`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(url);
    await use(page, url);
    assertEquals(pageErrors, []);
  } finally {
    await browser.close();
    await server.shutdown();
  }
}

/** Ticks "Generate in this browser", generates, and waits until the page's own run is done. */
async function generateInBrowser(page: Page): Promise<void> {
  await page.check("#in-browser");
  await page.click("#generate");
  await page.waitForFunction(
    `document.querySelector("figure[data-where=browser][data-done]") ||
      document.getElementById("error").textContent`,
    null,
    { timeout: 120_000 },
  );
  assertEquals(await page.textContent("#error"), "");
}

Deno.test(needing(noChromium, {
  name: "browser: the page generates, compares schedulers, shows errors, and runs in the browser",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const model = await loadModel(DEFAULT_MODEL_DIR, { backend: nodeBackend });
    await withPage([model], async (page, url) => {
      await page.waitForSelector("#class option", { state: "attached" });
      assertEquals(await page.locator("#class option").count(), classNames(model.manifest).length);

      await page.selectOption("#class", "A");
      await page.fill("#seed", "3");
      await page.click("#generate");
      const done = page.locator("figure.result[data-done=true]");
      await done.first().waitFor({ timeout: 60_000 });
      const image = done.first().locator("img");
      assertEquals(
        await image.evaluate((element) => {
          // Decoded and displayed: the browser read the PNG and knows its size.
          const img = element as unknown as { decode(): Promise<void>; naturalWidth: number };
          return img.decode().then(() => img.naturalWidth);
        }),
        64,
      );
      assert((await done.first().locator("figcaption").textContent())!.includes("seed 3"));
      // The picture shown is the server's PNG for the same settings, byte for byte.
      const shown = (await image.getAttribute("src"))!.replace("data:image/png;base64,", "");
      const direct = await fetch(`${url}v1/generate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ class: "A", seed: 3 }),
      });
      const serverPng = new Uint8Array(await direct.arrayBuffer());
      assertEquals(new Uint8Array(Buffer.from(shown, "base64")), serverPng);
      if (SCREENSHOTS) await page.screenshot({ path: `${SCREENSHOTS}/page-generate.png` });

      await page.click("#compare");
      await page.waitForFunction(
        'document.querySelectorAll("figure[data-done]").length === 3',
        null,
        {
          timeout: 60_000,
        },
      );
      const captions = await page.locator("figure.result figcaption").allTextContents();
      for (const [i, scheduler] of ["halton", "confidence", "random"].entries()) {
        assert(captions[i].startsWith(scheduler) && captions[i].includes("seed 3"), captions[i]);
      }
      if (SCREENSHOTS) await page.screenshot({ path: `${SCREENSHOTS}/page-compare.png` });

      // The form's own limits stop most mistakes; what gets past them, the server explains.
      await page.locator("#steps").evaluate((input) => input.removeAttribute("max"));
      await page.fill("#steps", "9999");
      await page.click("#generate");
      await page.waitForFunction('document.getElementById("error").textContent !== ""');
      assert((await page.textContent("#error"))!.includes("steps"));

      // In-browser generation: the same PNG, made by the page itself with onnxruntime-web.
      await page.fill("#steps", "");
      await generateInBrowser(page);
      const local = page.locator("figure.result[data-where=browser][data-done=true]");
      const bytes = await local.locator("img").evaluate(async (element) => {
        const response = await fetch((element as unknown as { src: string }).src);
        return Array.from(new Uint8Array(await response.arrayBuffer()));
      });
      assertEquals(new Uint8Array(bytes), serverPng);
      if (SCREENSHOTS) await page.screenshot({ path: `${SCREENSHOTS}/page-browser.png` });
    });
  },
}));

Deno.test(needing(noChromium, {
  name: "browser: the emoji model gets a prompt box; the server's and the page's own runs finish",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const models = await Promise.all(
      SHIPPED_MODEL_DIRS.map((dir) => loadModel(dir, { backend: nodeBackend })),
    );
    await withPage(models, async (page, url) => {
      await page.waitForSelector("#class option", { state: "attached" });
      assert(await page.isVisible("#class") && !(await page.isVisible("#prompt")));
      await page.selectOption("#model", "emoji");
      assert(await page.isVisible("#prompt") && !(await page.isVisible("#class")));
      await page.fill("#prompt", "red apple");
      await page.fill("#seed", "2");
      await page.fill("#steps", "4");
      await page.click("#generate");
      const done = page.locator("figure.result[data-done=true]");
      await done.first().waitFor({ timeout: 60_000 });
      assert((await done.first().locator("figcaption").textContent())!.includes("“red apple”"));
      const shown = (await done.first().locator("img").getAttribute("src"))!
        .replace("data:image/png;base64,", "");
      const direct = await fetch(`${url}v1/generate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "emoji", prompt: "red apple", seed: 2, steps: 4 }),
      });
      const serverPng = new Uint8Array(await direct.arrayBuffer());
      assertEquals(new Uint8Array(Buffer.from(shown, "base64")), serverPng);

      // In this browser: the tokenizer and the text encoder run in the page too.
      await generateInBrowser(page);
      const caption = page.locator("figure[data-where=browser] figcaption");
      assert((await caption.textContent())!.includes("“red apple” (in this browser)"));
    });
  },
}));

Deno.test(needing(noChromium, {
  name: "browser: a server with an API key makes the page ask for it, then generate with it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const model = await loadModel(DEFAULT_MODEL_DIR, { backend: nodeBackend });
    await withPage([model], async (page) => {
      await page.waitForSelector("#key-field:not([hidden])");
      assert((await page.textContent("#error"))!.includes("needs an API key"));
      await page.fill("#api-key", "wrong");
      await page.dispatchEvent("#api-key", "change");
      await page.waitForFunction(`document.getElementById("error").textContent.includes("wrong")`);
      await page.fill("#api-key", "s3cret");
      await page.dispatchEvent("#api-key", "change");
      await page.waitForSelector("#class option", { state: "attached" });
      await page.click("#generate");
      await page.locator("figure.result[data-done=true]").first().waitFor({ timeout: 60_000 });
      // The in-browser mode downloads the model files through the same key.
      await generateInBrowser(page);
    }, "s3cret");
  },
}));
