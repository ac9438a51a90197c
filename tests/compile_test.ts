// `deno task compile`: everything up to the one piece these machines lack (a denort base).
import { assert, assertEquals } from "./assert.ts";

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
});

Deno.test({
  name: "compile: builds with DENORT_BIN, and refuses a base that is not denort",
  sanitizeResources: false,
  async fn() {
    const out = await Deno.makeTempDir();
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
      assert((await Deno.stat(`${out}/halton-maskgit`)).size > 60e6);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
