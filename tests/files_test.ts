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

Deno.test("atomic writes: a path that is a folder fails the whole set, naming that path", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/p-1.png`);
  await Deno.writeFile(`${dir}/p.png`, Uint8Array.of(9)); // an older grid, to be kept
  const set = ["p-0.png", "p-1.png", "p.png"].map((name) => `${dir}/${name}`);
  await assertRejects(() => assertWritable(set), /cannot write .*\/p-1.png: is a folder/);
  await assertRejects(
    () => writeAtomically(set.map((path) => ({ path, bytes: Uint8Array.of(1) }))),
    /cannot write .*\/p-1.png: is a folder/,
  );
  assertEquals(Array.from(Deno.readDirSync(dir), (e) => e.name).sort(), ["p-1.png", "p.png"]);
  assertEquals(await Deno.readFile(`${dir}/p.png`), Uint8Array.of(9));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("atomic writes: a file replaced before a later failure is put back", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/a.png`, Uint8Array.of(7));
  // The disk fails while b.png is moved into place, after a.png already was.
  const rename = Deno.rename;
  Deno.rename = (from, to) =>
    String(to) === `${dir}/b.png` ? Promise.reject(new Error("disk full")) : rename(from, to);
  try {
    await assertRejects(
      () =>
        writeAtomically([
          { path: `${dir}/a.png`, bytes: Uint8Array.of(1) },
          { path: `${dir}/b.png`, bytes: Uint8Array.of(2) },
        ]),
      /cannot write .*\/b.png: disk full/,
    );
  } finally {
    Deno.rename = rename;
  }
  assertEquals(await Deno.readFile(`${dir}/a.png`), Uint8Array.of(7));
  assertEquals(Array.from(Deno.readDirSync(dir), (e) => e.name), ["a.png"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("folders to create are made only by a write that succeeds", async () => {
  const dir = await Deno.makeTempDir();
  const fresh = `${dir}/fresh/a/b`;
  await assertWritable([`${fresh}/x.png`], fresh);
  assertEquals(Array.from(Deno.readDirSync(dir)).length, 0); // checked, nothing created
  await Deno.mkdir(`${dir}/taken`);
  await assertRejects(
    () =>
      writeAtomically([
        { path: `${fresh}/x.png`, bytes: Uint8Array.of(1) },
        { path: `${dir}/taken`, bytes: Uint8Array.of(1) },
      ], fresh),
    /taken: is a folder/,
  );
  assertEquals(Array.from(Deno.readDirSync(dir), (e) => e.name), ["taken"]);
  await writeAtomically([{ path: `${fresh}/x.png`, bytes: Uint8Array.of(1) }], fresh);
  assertEquals(await Deno.readFile(`${fresh}/x.png`), Uint8Array.of(1));
  await Deno.writeTextFile(`${dir}/notes.txt`, "keep");
  for (const folder of [`${dir}/notes.txt`, "/dev/null"]) {
    await assertRejects(
      () => assertWritable([`${folder}/x.png`], folder),
      new RegExp(`cannot write to ${folder}: exists and is not a folder`),
    );
  }
  await assertRejects(() => assertWritable(["/dev/null"]), /not a regular file/);
  await Deno.remove(dir, { recursive: true });
});
