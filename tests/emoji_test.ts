/**
 * The shipped emoji model (text-to-image, trained here): ONNX Runtime matches PyTorch, the
 * tokenizer's Python twin used in training gives the runtime's ids, the README's command is
 * reproducible and draws what it is asked, the server gives the CLI's bytes, unseen and empty
 * prompts still make images, and `deno task eval` scores it (a reduced sample count for CI), also
 * by kind of emoji.
 */
import { runCli } from "./cli.ts";
import { createApp } from "../routes/app.ts";
import { nodeBackend } from "../src/backend/onnx-node.ts";
import { evaluate, loadEvaluator } from "../src/eval/evaluator.ts";
import { render } from "../src/generate.ts";
import { decodePng } from "../src/image.ts";
import { loadModel, SHIPPED_MODEL_DIRS, type TextManifest } from "../src/model.ts";
import { GenerationService } from "../src/server/service.ts";
import { assert, assertEquals, assertNotEquals } from "./assert.ts";
import { needing } from "./needs.ts";
import { python, torchMissing } from "./python.ts";
import { assertModelMatchesReference } from "./reference.ts";
import { baseName, KINDS, kindsOf } from "../scripts/train/emoji/fidelity.ts";

const EMOJI = new URL("../models/emoji", import.meta.url).pathname;
const MODELS = new URL("../models", import.meta.url).pathname;
const model = await loadModel(EMOJI, { backend: nodeBackend });
const manifest = model.manifest as TextManifest;
const evaluator = await loadEvaluator(model, { backend: nodeBackend });
const prompts: string[] = JSON.parse(await Deno.readTextFile(`${EMOJI}/eval/eval.json`)).classes;

/** Bytes under a folder, recursively. */
function size(path: string): number {
  const info = Deno.statSync(path);
  if (!info.isDirectory) return info.size;
  return Array.from(Deno.readDirSync(path)).reduce((n, e) => n + size(`${path}/${e.name}`), 0);
}

/** Runs `deno task generate ARGS` in-process; returns its exit code. */
async function generateCli(...args: string[]): Promise<number> {
  return (await runCli("generate", ...args, "--quiet")).code;
}

Deno.test("emoji: a format 2 text-to-image folder within the size budget, served by default", () => {
  assertEquals([manifest.format, manifest.task], ["halton-maskgit/model@2", "text-to-image"]);
  assertEquals(manifest.image, { width: 64, height: 64, channels: 3 });
  assertEquals(manifest.text.null, "empty-prompt");
  assert((manifest.attribution ?? []).some((a) => a.includes("Twemoji")), "Twemoji attribution");
  const files = size(EMOJI) - size(`${EMOJI}/eval`);
  assert(files <= 45 * 2 ** 20, `models/emoji is ${files} bytes`);
  assert(size(MODELS) <= 90 * 2 ** 20, `models/ is ${size(MODELS)} bytes`);
  assert(SHIPPED_MODEL_DIRS.includes(EMOJI));
});

Deno.test("emoji: ONNX Runtime reproduces the PyTorch outputs recorded at export", async () => {
  await assertModelMatchesReference(model, 1e-4);
});

Deno.test("emoji: the training tokenizer (Python) gives the runtime's ids, prompt for prompt", async () => {
  const tricky = [
    "",
    "Red Apple",
    "thumbs up: medium-dark skin tone",
    "flag: Côte d’Ivoire",
    "a cat 🐱 with\u00a0a hat",
    "x".repeat(120),
    "[PAD] [UNK] ##ing",
    "ÉCLAIR, crème brûlée!",
    "apple ".repeat(40),
  ];
  const all = [...prompts, ...tricky];
  const script = [
    "import json, sys",
    "sys.path.insert(0, 'scripts/train/emoji')",
    "from text import Words",
    "words = Words(json.load(open('models/emoji/tokenizer.json')))",
    "prompts = json.load(sys.stdin)",
    "print(json.dumps([words.row(words.encode(p), int(sys.argv[1])) for p in prompts]))",
  ].join("\n");
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-c", script, String(manifest.text.length)],
    cwd: new URL("..", import.meta.url).pathname,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(all)));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  const rows: number[][] = JSON.parse(new TextDecoder().decode(stdout));
  const { tokenizer } = model.prompts!;
  all.forEach((prompt, i) =>
    assertEquals(Array.from(tokenizer.encode(prompt).ids), rows[i], prompt)
  );
});

Deno.test(needing(await torchMissing(), {
  name:
    "emoji training: masked-token logits and the one-pass loss equal the full path and PyTorch's",
  async fn() {
    // The training step computes only the masked tokens' logits (MaskGIT.forward with a mask)
    // and its own smoothed cross-entropy; both must be the plain computation, gradients too.
    const script = [
      "import json, sys, torch, torch.nn.functional as F",
      "sys.path.insert(0, 'scripts/train/emoji')",
      "from common import MaskGIT, SmoothedCrossEntropy",
      "torch.manual_seed(0)",
      "model = MaskGIT(64, 2, 2, 32, codebook=50)",
      "tokens = torch.randint(50, (3, 256)); mask = torch.rand(3, 256) < 0.6",
      "text, pooled = torch.randn(3, 5, 32), torch.randn(3, 32)",
      "inputs = torch.where(mask, torch.full_like(tokens, 50), tokens)",
      "full = model(inputs, text, pooled)[mask]",
      "logits, picked = model(inputs, text, pooled, mask)",
      "order = picked.argsort()",
      "assert torch.equal(picked[order], mask.flatten().nonzero().squeeze(1)), 'picked'",
      "gaps = {'logits': (logits[order] - full).abs().max().item()}",
      "x = torch.randn(40, 51, requires_grad=True); y = torch.randint(51, (40,))",
      "F.cross_entropy(x, y, label_smoothing=0.1).backward(); want = x.grad.clone(); x.grad = None",
      "ref = F.cross_entropy(x, y, label_smoothing=0.1).item()",
      "loss = SmoothedCrossEntropy.apply(x, y, 0.1); loss.backward()",
      "gaps.update(loss=abs(loss.item() - ref), grad=(x.grad - want).abs().max().item())",
      "print(json.dumps(gaps))",
    ].join("\n");
    const { code, stdout, stderr } = await python(["-c", script]);
    assertEquals(code, 0, stderr);
    const gaps: Record<string, number> = JSON.parse(stdout);
    assertEquals(Object.keys(gaps).sort(), ["grad", "logits", "loss"]);
    for (const [name, gap] of Object.entries(gaps)) assert(gap < 1e-5, `${name} differs by ${gap}`);
  },
}));

Deno.test("emoji: the README's command twice gives identical bytes: a red object on white", async () => {
  const out = await Deno.makeTempDir();
  try {
    const args = ["--model", EMOJI, "--prompt", "red apple", "--seed", "1"];
    assertEquals(await generateCli(...args, "--out", `${out}/a.png`), 0);
    assertEquals(await generateCli(...args, "--out", `${out}/b.png`), 0);
    const png = await Deno.readFile(`${out}/a.png`);
    assertEquals(await Deno.readFile(`${out}/b.png`), png);
    const { width, height, pixels } = decodePng(png);
    assertEquals([width, height], [64, 64]);
    // The drawn part (not near-white) is mostly red, and there is a white margin around it.
    const drawn = [0, 0, 0];
    let count = 0, whiteCorners = 0;
    for (let i = 0; i < 64 * 64; i++) {
      const [r, g, b] = pixels.subarray(4 * i, 4 * i + 3);
      if (Math.min(r, g, b) > 235) {
        const [x, y] = [i % 64, Math.floor(i / 64)];
        if ((x < 4 || x > 59) && (y < 4 || y > 59)) whiteCorners++;
        continue;
      }
      [drawn[0], drawn[1], drawn[2], count] = [drawn[0] + r, drawn[1] + g, drawn[2] + b, count + 1];
    }
    const [r, g, b] = drawn.map((v) => v / count);
    assert(count > 500 && r > g + 60 && r > b + 60, `${count} drawn pixels, mean rgb ${[r, g, b]}`);
    assert(whiteCorners > 32, `${whiteCorners} white corner pixels`);
    // A different colour asked for gives a different colour.
    const { pictures } = await render({ model, prompts: ["blue heart"], settings: { seed: 1 } });
    let blue = 0;
    for (let i = 0; i < pictures[0].pixels.length; i += 3) {
      const [pr, , pb] = pictures[0].pixels.subarray(i, i + 3);
      if (pb > pr + 60) blue++;
    }
    assert(blue > 300, `${blue} blue pixels for "blue heart"`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("emoji server: same bytes as the CLI for a prompt; both shipped models listed", async () => {
  const glyphs = await loadModel(SHIPPED_MODEL_DIRS[0], { backend: nodeBackend });
  const app = createApp(new GenerationService([glyphs, model], { concurrency: 1 }));
  const out = await Deno.makeTempDir();
  try {
    const response = await app.request("/v1/generate", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "image/png" },
      body: JSON.stringify({ model: "emoji", prompt: "rocket", seed: 3, steps: 8 }),
    });
    assertEquals(response.status, 200);
    const args = ["--model", EMOJI, "--prompt", "rocket", "--seed", "3", "--steps", "8"];
    assertEquals(await generateCli(...args, "--out", `${out}/cli.png`), 0);
    assertEquals(
      new Uint8Array(await response.arrayBuffer()),
      await Deno.readFile(`${out}/cli.png`),
    );
    const { models } = await (await app.request("/v1/models")).json();
    assertEquals(
      models.map((m: { name: string; task: string }) => [m.name, m.task]),
      [["glyphs", "class-to-image"], ["emoji", "text-to-image"]],
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("emoji: an unseen prompt and the empty prompt still make images; prompts matter", async () => {
  const settings = { seed: 5, steps: 8 };
  const unseen = await render({ model, prompts: ["a purple giraffe playing chess"], settings });
  const empty = await render({ model, prompts: [""], settings });
  const apple = await render({ model, prompts: ["red apple"], settings });
  assertEquals(unseen.truncated, [false]);
  for (const r of [unseen, empty, apple]) assertEquals(r.pictures[0].pixels.length, 64 * 64 * 3);
  assertNotEquals(apple.pictures[0].pixels, empty.pictures[0].pixels);
  // The empty prompt is the null condition: guidance pulls it nowhere, so the weight is moot.
  const unguided = await render({ model, prompts: [""], settings: { ...settings, cfg: 0 } });
  assertEquals(unguided.tokens, empty.tokens);
});

Deno.test("emoji eval: generated emoji are read as their prompt far above chance (reduced sample count)", async () => {
  assert(evaluator.targets.length >= 256, `${evaluator.targets.length} evaluation emoji`);
  const report = await evaluate({ model, evaluator, samples: 32, settings: { steps: 8, seed: 0 } });
  assertEquals([report.samples, report.steps], [32, 8]);
  // Chance is 1/3786 top-1 and 5/3786 top-5.
  assert(report.top5 >= 0.15, `top-5 ${report.top5}`);
  assert(report.top5 >= report.accuracy);
  const { realHeldOut: held, realTrainSample: train } = report;
  assert(held.top5 >= held.accuracy && held.accuracy > 0.05, `ceiling ${held.accuracy}`);
  assert(train.frechet < report.frechet, `floor ${train.frechet}, generated ${report.frechet}`);
});

Deno.test("emoji fidelity by kind: the names give the data's kinds; the script scores each", async () => {
  const kinds = kindsOf(prompts);
  const count = (kind: string) => kinds.filter((k) => k === kind).length;
  // The data's own split (emoji keys with skin-tone modifiers, training README): 1,875 variants of
  // 323 bases; the five bare tone swatches ("dark skin tone") are emoji without tones.
  assertEquals(KINDS.map(count), [1326, 323, 1875, 262]);
  assertEquals(kinds[prompts.indexOf("dark skin tone")], "no skin tones");
  assertEquals(baseName("person: dark skin tone, red hair"), "person: red hair");
  const script = new URL("../scripts/train/emoji/fidelity.ts", import.meta.url).pathname;
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", script, "--model", EMOJI, "--per-kind", "2", "--steps", "2"],
    stderr: "inherit",
  }).output();
  assertEquals(code, 0);
  const figures = JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").at(-1)!);
  assertEquals(Object.keys(figures), [...KINDS]);
  for (const { prompts, top1, top5 } of Object.values(figures) as Record<string, number>[]) {
    assert(prompts === 2 && top1 >= 0 && top1 <= top5 && top5 <= 1, JSON.stringify(figures));
  }
  // A class model is refused with one line, not a stack trace.
  const refused = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", script, "--model", `${MODELS}/glyphs`],
  }).output();
  assertEquals(refused.code, 1);
  const said = new TextDecoder().decode(refused.stderr).trim().split("\n").at(-1)!;
  assert(/^fidelity: .*glyphs is a class model/.test(said), said);
});
