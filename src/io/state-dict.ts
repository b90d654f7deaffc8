// Loading PyTorch state dicts: key selection by prefix, strict key checks and
// shape checks with PyTorch's messages, all before anything is changed.

import { Tensor } from "../core/tensor.js";
import { describe, formatShape } from "../core/describe.js";
import { exactFloats, typedArrayLength } from "../core/snapshot.js";

/** A state dict: PyTorch key → tensor. Also accepted: a loader's `{ tensors }` result, or a Map. */
export type StateDictInput = Record<string, Tensor> | Map<string, Tensor> | { tensors: Record<string, Tensor> };

/** Options of `loadStateDict`. */
export interface LoadStateDictOptions {
  /** Missing or unexpected keys are errors (default true). Shape mismatches always are. */
  strict?: boolean;
  /** Only keys starting with this are used, with it stripped, e.g. "rnn." for `model.rnn`. */
  prefix?: string;
}

/**
 * Validates a state dict against the module's parameter specs and returns
 * copies of the values to load, by name.
 * @throws TypeError for a malformed argument; Error with PyTorch-style lines for key or shape problems.
 */
export function loadParameters(
  input: StateDictInput,
  specs: readonly { name: string; shape: readonly number[] }[],
  options: LoadStateDictOptions,
  moduleName: string,
): Map<string, Float32Array> {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`loadStateDict: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== "strict" && key !== "prefix") {
      throw new TypeError(`loadStateDict: unknown option '${key}' (the options are strict and prefix)`);
    }
  }
  const strict = options.strict === undefined ? true : options.strict;
  const prefix = options.prefix === undefined ? "" : options.prefix;
  if (typeof strict !== "boolean")
    throw new TypeError(`loadStateDict: strict should be a boolean, got ${describe(strict)}`);
  if (typeof prefix !== "string")
    throw new TypeError(`loadStateDict: prefix should be a string, got ${describe(prefix)}`);

  const entries = selectEntries(toEntries(input), prefix);
  const wanted = new Map(specs.map((s) => [s.name, s.shape]));
  const problems: string[] = [];
  const missing = specs.filter((s) => !entries.has(s.name)).map((s) => s.name);
  const unexpected = [...entries.keys()].filter((k) => !wanted.has(k));
  if (strict && unexpected.length > 0)
    problems.push(`Unexpected key(s) in state_dict: ${quoteAll(unexpected, prefix)}.`);
  if (strict && missing.length > 0) problems.push(`Missing key(s) in state_dict: ${quoteAll(missing, prefix)}.`);

  const values = new Map<string, Float32Array>();
  for (const [name, value] of entries) {
    const shape = wanted.get(name);
    if (shape === undefined) continue;
    // One read of data and shape; the copy takes exactly the validated count, bit for bit (NaN payloads too).
    const tensor = readTensorLike(value);
    if (tensor === null) {
      problems.push(`${prefix}${name} is not a Tensor (got ${describe(value)}).`);
      continue;
    }
    const numel = tensor.shape.reduce((a, b) => a * b, 1);
    if (numel !== tensor.length) {
      problems.push(
        `${prefix}${name} has shape ${formatShape(tensor.shape)} (${numel} elements) but ${tensor.length} data elements.`,
      );
      continue;
    }
    if (tensor.shape.length !== shape.length || tensor.shape.some((s, i) => s !== shape[i])) {
      problems.push(
        `size mismatch for ${prefix}${name}: copying a param with shape ${formatShape(tensor.shape)} from checkpoint, ` +
          `the shape in current model is ${formatShape(shape)}.`,
      );
      continue;
    }
    values.set(name, exactFloats(tensor.data, numel).slice());
  }
  if (problems.length > 0) {
    throw new Error(`Error(s) in loading state_dict for ${moduleName}:\n\t${problems.join("\n\t")}`);
  }
  return values;
}

function toEntries(input: StateDictInput): Map<string, unknown> {
  if (input instanceof Map) return new Map(input);
  if (input === null || typeof input !== "object" || input instanceof Tensor) {
    throw new TypeError(`loadStateDict expects an object of tensors keyed by PyTorch names, got ${describe(input)}`);
  }
  const record = isLoaderResult(input) ? input.tensors : (input as Record<string, unknown>);
  return new Map(Object.entries(record));
}

/** A loader's result: `{ tensors: {...}, metadata?: {...} }` rather than a state dict. */
function isLoaderResult(input: object): input is { tensors: Record<string, Tensor> } {
  const tensors = (input as { tensors?: unknown }).tensors;
  return tensors !== null && typeof tensors === "object" && !isTensorLike(tensors) && !(tensors instanceof Map);
}

function selectEntries(entries: Map<string, unknown>, prefix: string): Map<string, unknown> {
  if (prefix === "") return entries;
  const out = new Map<string, unknown>();
  for (const [k, v] of entries) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}

/**
 * A Tensor, or a structurally equal object (e.g. from another copy of this package), read once:
 * its data (with its true length) and a copy of its shape; null if it is not one.
 */
function readTensorLike(value: unknown): { data: Float32Array; length: number; shape: readonly number[] } | null {
  if (value === null || typeof value !== "object") return null;
  const { data, shape } = value as { data?: unknown; shape?: unknown };
  const length = typedArrayLength(data, "Float32Array");
  if (length === null || !Array.isArray(shape)) return null;
  const dims: unknown[] = Array.prototype.slice.call(shape);
  if (!dims.every((s) => Number.isSafeInteger(s) && (s as number) >= 0)) return null;
  return { data: data as Float32Array, length, shape: dims as number[] };
}

/** A Tensor, or a structurally equal object (e.g. from another copy of this package). */
function isTensorLike(value: unknown): boolean {
  return readTensorLike(value) !== null;
}

function quoteAll(keys: string[], prefix: string): string {
  return keys.map((k) => `"${prefix}${k}"`).join(", ");
}
