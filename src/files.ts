/**
 * Writing output files so that a failed run leaves nothing behind: no half-written file, no
 * partial set, no folder it created.
 *
 * @module
 */

import { dirname, relative } from "node:path";

/** One file to write. */
export interface OutputFile {
  path: string;
  bytes: Uint8Array;
}

function tempPath(path: string): string {
  return `${path}.${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.tmp`;
}

function reason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "folder does not exist";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotCapable) return "not allowed for this process";
  if (error instanceof Deno.errors.NotADirectory) return "a parent is not a folder";
  if (error instanceof Deno.errors.IsADirectory) return "is a folder";
  return (error as Error).message;
}

async function info(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`cannot write ${path}: ${reason(error)}`);
  }
}

/** Throws unless `path` is free or a file that may be replaced (not a folder, not a device). */
async function assertReplaceable(path: string): Promise<void> {
  const found = await info(path);
  if (found?.isDirectory) throw new Error(`cannot write ${path}: is a folder`);
  if (found && !found.isFile && !found.isSymlink) {
    throw new Error(`cannot write ${path}: exists and is not a regular file`);
  }
}

/** The deepest existing folder at or above `folder`, and the topmost one missing below it. */
async function existingAncestor(folder: string): Promise<{ existing: string; missing?: string }> {
  let missing: string | undefined;
  for (let path = folder;; missing = path, path = dirname(path)) {
    const found = await info(path);
    if (found?.isDirectory) return { existing: path, missing };
    if (found) {
      const what = path === folder ? "exists and is not a folder" : `${path} is not a folder`;
      throw new Error(`cannot write to ${folder}: ${what}`);
    }
    if (dirname(path) === path) return { existing: path, missing };
  }
}

function inside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === "" || (!rel.startsWith("..") && !rel.startsWith("/"));
}

/**
 * Throws one clear line naming the path at fault unless every path can be written: none is a
 * folder or a device, and a file can be created in each one's folder (probed with a
 * temporary file that is removed again). Folders at or below `create` may be missing (the
 * write creates them); nothing is created here. Call it before long work.
 *
 * @example
 * ```ts
 * import { assertWritable } from "./files.ts";
 * const dir = await Deno.makeTempDir();
 * await assertWritable([`${dir}/new/a.png`], `${dir}/new`); // fine, and creates nothing
 * await Deno.remove(dir);
 * ```
 */
export async function assertWritable(paths: string[], create?: string): Promise<void> {
  for (const folder of new Set(paths.map((path) => dirname(path)))) {
    const creatable = create !== undefined && inside(folder, create);
    const probed = creatable ? (await existingAncestor(folder)).existing : folder;
    const probe = tempPath(`${probed}/.write-probe`);
    try {
      await Deno.writeFile(probe, new Uint8Array(0), { createNew: true });
    } catch (error) {
      throw new Error(`cannot write to ${probed}: ${reason(error)}`);
    }
    await Deno.remove(probe);
  }
  for (const path of paths) await assertReplaceable(path);
}

interface Staged {
  temp: string;
  path: string;
  /** Where the file this one replaces waits until every file is in place. */
  backup?: string;
  placed: boolean;
}

/**
 * Writes every file to a temporary name first, then moves them all into place: either every
 * file appears whole, or (on an error) none does — files they would replace are restored,
 * temporaries removed, and the folder `create` (made with its parents, only now) is removed
 * again if this call made it. The error names the path at fault.
 *
 * @example
 * ```ts
 * import { writeAtomically } from "./files.ts";
 * const dir = await Deno.makeTempDir();
 * await writeAtomically([{ path: `${dir}/out/a.png`, bytes: Uint8Array.of(1) }], `${dir}/out`);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeAtomically(files: OutputFile[], create?: string): Promise<void> {
  const staged: Staged[] = [];
  let current = files[0]?.path ?? "";
  let made: string | undefined;
  try {
    if (create !== undefined) {
      current = create;
      made = (await existingAncestor(create)).missing;
      await Deno.mkdir(create, { recursive: true });
    }
    for (const { path, bytes } of files) {
      current = path;
      await assertReplaceable(path);
      const entry: Staged = { temp: tempPath(path), path, placed: false };
      staged.push(entry);
      await Deno.writeFile(entry.temp, bytes, { createNew: true });
    }
    for (const entry of staged) {
      current = entry.path;
      if (await info(entry.path)) {
        entry.backup = tempPath(entry.path);
        await Deno.rename(entry.path, entry.backup);
      }
      await Deno.rename(entry.temp, entry.path);
      entry.placed = true;
    }
  } catch (error) {
    for (const entry of staged.reverse()) {
      await Deno.remove(entry.placed ? entry.path : entry.temp).catch(() => {});
      if (entry.backup) await Deno.rename(entry.backup, entry.path).catch(() => {});
    }
    if (made !== undefined) await Deno.remove(made, { recursive: true }).catch(() => {});
    const message = (error as Error).message;
    throw message.startsWith("cannot write") ? error : new Error(
      `cannot write ${current}: ${reason(error)}`,
    );
  }
  for (const { backup } of staged) if (backup) await Deno.remove(backup);
}
