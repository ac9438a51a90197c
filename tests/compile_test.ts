// `deno task compile`: everything up to the one piece these machines lack (a denort base).
import { ORT_WEB_FILES } from "../routes/page.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";

const ROOT = new URL("..", import.meta.url).pathname;

function compile(args: string[], env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-env",
      "scripts/compile.ts",
    ]
      .concat(args),
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
  }).output();
}

Deno.test("compile: embeds the model and page, and only linux-x64 ONNX Runtime binaries", async () => {
  const result = await compile(["--dry-run"]);
  assertEquals(result.code, 0);
  const command = new TextDecoder().decode(result.stdout);
  for (const part of ["--include models/glyphs", "--include routes/static", "main.ts"]) {
    assert(command.includes(part), part);
  }
  for (const platform of ["darwin", "win32", "linux/arm64"]) {
    assert(new RegExp(`--exclude \\S+/bin/napi-v6/${platform} `).test(command), platform);
  }
  assert(!command.includes("linux/x64"));
  assert(/--exclude \S+\/playwright-core /.test(command));
  // Of onnxruntime-web, only the files the page loads stay in.
  assert(/--exclude \S+\/onnxruntime-web\/dist\/ort-wasm-simd-threaded\.jsep\.wasm /.test(command));
  for (const name of ORT_WEB_FILES) assert(!command.includes(`/dist/${name} `), name);
  assert(!/onnxruntime-web /.test(command));
});

Deno.test({
  name: "compile: builds with DENORT_BIN, and refuses (and removes) a base that is not denort",
  sanitizeResources: false,
  async fn() {
    const out = await Deno.makeTempDir();
    const started = new Date(Date.now() - 2000); // file times may be coarser than the clock
    try {
      // The deno binary is the only base reachable here; the program it yields runs Deno itself.
      const result = await compile(["--output", `${out}/halton-maskgit`], {
        DENORT_BIN: Deno.execPath(),
      });
      const stderr = new TextDecoder().decode(result.stderr);
      assert(stderr.includes("Embedded Files"), stderr.slice(-400));
      assert(/models\/glyphs/.test(stderr) && /linux\/x64/.test(stderr));
      assert(!/darwin|win32/.test(stderr));
      assertEquals(result.code, 2, stderr.slice(-400));
      assert(stderr.includes("its base binary is not denort"));
      // The page's bundle was built for it and ORT's WASM files embedded (listed by name, as
      // their siblings are left out); the refused binary is gone.
      const bundle = await Deno.stat(`${ROOT}routes/static/dist/maskgit.js`);
      assert(bundle.mtime! >= started, "build:web ran");
      for (const name of ORT_WEB_FILES) assert(stderr.includes(`── ${name} (`), name);
      await assertRejects(() => Deno.stat(`${out}/halton-maskgit`), Deno.errors.NotFound);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
