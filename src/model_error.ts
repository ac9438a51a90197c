/**
 * The error every model-folder problem raises: it names the file and what is wrong.
 *
 * @module
 */

/**
 * A problem with one file of a model folder.
 *
 * @example
 * ```ts
 * import { ModelError } from "./model_error.ts";
 * new ModelError("models/x/model.json", "field 'grid' must be an integer ≥ 1").message;
 * // "models/x/model.json: field 'grid' must be an integer ≥ 1"
 * ```
 */
export class ModelError extends Error {
  /** The file at fault. */
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = "ModelError";
    this.file = file;
  }
}
