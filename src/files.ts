/**
 * Writing output files so that a failed run leaves nothing half-written.
 *
 * @module
 */

import { dirname } from "node:path";

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

/**
 * Throws one clear line unless a file can be created at each path's folder (probed with a
 * temporary file that is removed again). Call it before long work.
 *
 * @example
 * ```ts ignore
 * await assertWritable(["out/a.png"]);
 * ```
 */
export async function assertWritable(paths: string[]): Promise<void> {
  for (const folder of new Set(paths.map((path) => dirname(path)))) {
    const probe = tempPath(`${folder}/.write-probe`);
    try {
      await Deno.writeFile(probe, new Uint8Array(0), { createNew: true });
    } catch (error) {
      throw new Error(`cannot write to ${folder}: ${reason(error)}`);
    }
    await Deno.remove(probe);
  }
}

/**
 * Writes every file to a temporary name first, then renames them all into place: either
 * every file appears whole, or (on an error) none does and the temporaries are removed.
 *
 * @example
 * ```ts ignore
 * await writeAtomically([{ path: "out/a.png", bytes: png }]);
 * ```
 */
export async function writeAtomically(files: OutputFile[]): Promise<void> {
  const staged: { temp: string; path: string }[] = [];
  try {
    for (const { path, bytes } of files) {
      const temp = tempPath(path);
      staged.push({ temp, path });
      await Deno.writeFile(temp, bytes, { createNew: true });
    }
    for (const { temp, path } of staged) await Deno.rename(temp, path);
  } catch (error) {
    await Promise.all(staged.map(({ temp }) => Deno.remove(temp).catch(() => {})));
    const path = staged.at(-1)?.path ?? "";
    throw new Error(`cannot write ${path}: ${reason(error)}`);
  }
}
