import { assertWritable, writeAtomically } from "../src/files.ts";
import { assertEquals, assertRejects } from "./assert.ts";

Deno.test("atomic writes: all files appear whole, or none and no temporaries", async () => {
  const dir = await Deno.makeTempDir();
  await writeAtomically([
    { path: `${dir}/a.png`, bytes: Uint8Array.of(1) },
    { path: `${dir}/b.png`, bytes: Uint8Array.of(2, 3) },
  ]);
  assertEquals(await Deno.readFile(`${dir}/b.png`), Uint8Array.of(2, 3));
  await assertRejects(
    () =>
      writeAtomically([
        { path: `${dir}/c.png`, bytes: Uint8Array.of(1) },
        { path: `${dir}/missing/d.png`, bytes: Uint8Array.of(1) },
      ]),
    /cannot write .*missing\/d.png: folder does not exist/,
  );
  assertEquals(Array.from(Deno.readDirSync(dir), (e) => e.name).sort(), ["a.png", "b.png"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("assertWritable probes each folder and leaves nothing behind", async () => {
  const dir = await Deno.makeTempDir();
  await assertWritable([`${dir}/x.png`, `${dir}/y.png`]);
  assertEquals(Array.from(Deno.readDirSync(dir)).length, 0);
  await assertRejects(
    () => assertWritable([`${dir}/no/x.png`]),
    /cannot write to .*\/no: folder does not exist/,
  );
  await assertRejects(() => assertWritable(["/etc/hostname/x.png"]), /a parent is not a folder/);
  await Deno.remove(dir, { recursive: true });
});
