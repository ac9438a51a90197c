/**
 * `deno task compile`: the standalone binary `dist/halton-maskgit` (the CLI with `serve`),
 * with the default model and the web page embedded — its script bundle (`build:web`, run
 * first) and the onnxruntime-web files in-browser generation loads included — and of ONNX
 * Runtime's native binaries only linux-x64's.
 *
 * `deno compile` builds on a `denort` base binary that it downloads from dl.deno.land; where
 * that host cannot be reached, point `DENORT_BIN` at a `denort` you have. `--dry-run` prints
 * the command without running it.
 *
 * @example
 * ```sh
 * DENORT_BIN=/opt/denort deno task compile && dist/halton-maskgit generate --class A --out a.png
 * ```
 *
 * @module
 */

import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ORT_WEB_FILES } from "../routes/page.ts";

const { values } = parseArgs({
  options: {
    output: { type: "string", default: "dist/halton-maskgit" },
    "dry-run": { type: "boolean", default: false },
  },
  strict: true,
});

const ROOT = new URL("..", import.meta.url).pathname;
const PACKAGES = `${ROOT}node_modules/.deno`;

/** Folders under node_modules/.deno that the binary must not carry. */
async function excluded(): Promise<string[]> {
  // A fresh clone has no node_modules yet: install first, so there is something to sift.
  await new Deno.Command(Deno.execPath(), { args: ["install"], cwd: ROOT, stdout: "null" })
    .output();
  const paths: string[] = [];
  for await (const entry of Deno.readDir(PACKAGES)) {
    const name = entry.name;
    // Test and load tools, and types.
    const tool = name.match(/^(playwright-core|autocannon|@types\+node|@redocly\+openapi-core)@/)
      ?.[1];
    if (tool) paths.push(`node_modules/.deno/${name}/node_modules/${tool.replace("+", "/")}`);
    if (name.startsWith("onnxruntime-web@")) {
      // The binary runs the native backend; of the WASM runtime it keeps what the page loads.
      const web = `node_modules/.deno/${name}/node_modules/onnxruntime-web`;
      for await (const { name: part } of Deno.readDir(`${ROOT}${web}`)) {
        if (part !== "dist" && part !== "package.json") paths.push(`${web}/${part}`);
      }
      for await (const { name: file } of Deno.readDir(`${ROOT}${web}/dist`)) {
        if (!ORT_WEB_FILES.includes(file)) paths.push(`${web}/dist/${file}`);
      }
    }
    if (name.startsWith("onnxruntime-node@")) {
      const bin = `node_modules/.deno/${name}/node_modules/onnxruntime-node/bin/napi-v6`;
      for (const platform of ["darwin", "win32", "linux/arm64"]) paths.push(`${bin}/${platform}`);
    }
  }
  return paths.sort();
}

const args = [
  "compile",
  ...["--allow-read", "--allow-write", "--allow-ffi", "--allow-env", "--allow-sys", "--allow-net"],
  ...["--include", "models/glyphs", "--include", "routes/static"],
  ...(await excluded()).flatMap((path) => ["--exclude", path]),
  "--output",
  values.output!,
  "main.ts",
];

if (values["dry-run"]) {
  console.log(["deno", ...args].join(" "));
  Deno.exit(0);
}

// The page's script bundle, embedded with routes/static.
const bundle = await new Deno.Command(Deno.execPath(), {
  args: ["task", "--quiet", "build:web"],
  cwd: ROOT,
}).spawn().status;
if (!bundle.success) {
  console.error("error: deno task build:web failed");
  Deno.exit(bundle.code);
}

const denort = Deno.env.get("DENORT_BIN");
console.error(
  denort ? `base binary: DENORT_BIN=${denort}` : "base binary: downloaded by deno compile",
);
const { code } = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT }).spawn().status;
if (code !== 0) {
  console.error(
    "error: deno compile failed" +
      (denort ? "" : "; if it could not download denort, set DENORT_BIN to a denort binary"),
  );
  Deno.exit(code);
}

// A base that is not denort (e.g. the full deno binary) yields a program that runs Deno
// itself, not ours: say so rather than hand over a binary that does the wrong thing.
const probe = await new Deno.Command(resolve(ROOT, values.output!), {
  args: ["halton", "--grid", "2"],
  stdin: "null",
}).output();
const text = new TextDecoder().decode(probe.stdout);
if (probe.code !== 0 || !text.startsWith("[[")) {
  await Deno.remove(resolve(ROOT, values.output!)); // nobody should run it by mistake
  console.error(
    `error: ${values.output} does not run this program (its base binary is not denort): ` +
      `'halton --grid 2' printed ${JSON.stringify(text.slice(0, 60))}; removed it`,
  );
  Deno.exit(2);
}
console.error(`${values.output}: ok ('halton --grid 2' → ${text.trim()})`);
