/**
 * Debian's Python for the tests that need PyTorch (the converter and the PyTorch reference):
 * running its scripts, whether torch and onnx are there, and a random-weight checkpoint
 * converted into a model folder.
 *
 * @module
 */

import { assertEquals } from "./assert.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Runs `/usr/bin/python3 ARGS` in the repository root; returns the exit code and output. */
export async function python(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const result = await new Deno.Command(PYTHON, { args, cwd: ROOT }).output()
    .catch(() => ({
      code: 127,
      stdout: new Uint8Array(),
      stderr: new TextEncoder().encode("no python3"),
    }));
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: result.code, stdout: text(result.stdout), stderr: text(result.stderr) };
}

/** The interpreter the scripts name in their shebang and the tests run. */
export const PYTHON = "/usr/bin/python3";

const INSTALL = "apt-get install -y python3-torch python3-onnx python3-numpy";

/**
 * Why the PyTorch tests cannot run here ("python3 missing", or torch or onnx missing from
 * it), or undefined when they can. Probes the same interpreter the scripts use.
 */
export async function torchMissing(): Promise<string | undefined> {
  if (!(await Deno.stat(PYTHON).then((info) => info.isFile, () => false))) {
    return `python3 missing: no ${PYTHON} (${INSTALL})`;
  }
  const probe = await python(["-c", "import torch, onnx"]);
  if (probe.code === 0) return undefined;
  return `${PYTHON} lacks torch or onnx: ${probe.stderr.trim().split("\n").at(-1)} (${INSTALL})`;
}

/**
 * Writes toy random-weight checkpoints in a family's official layout into `WORK/ckpt` and
 * converts them into `WORK/model` (no ORT check: the tests make their own).
 */
export async function convertRandom(
  work: string,
  family: string,
  grid: number,
  extra: string[] = [],
): Promise<{ checkpoints: string; model: string }> {
  const checkpoints = `${work}/ckpt`, model = `${work}/model`;
  const made = await python([
    "scripts/convert/random_checkpoints.py",
    ...["--family", family, "--grid", String(grid), "--out", checkpoints],
  ]);
  assertEquals(made.code, 0, made.stderr);
  const converted = await python([
    "scripts/convert.py",
    ...["--family", family, "--transformer", `${checkpoints}/transformer.pth`],
    ...["--tokenizer", `${checkpoints}/tokenizer.pth`, "--out", model],
    ...["--heads", "4", "--no-check", ...extra],
  ]);
  assertEquals(converted.code, 0, converted.stderr);
  return { checkpoints, model };
}
