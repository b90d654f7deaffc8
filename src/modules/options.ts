// Validation of the modules' constructor options, following PyTorch main's
// checks and order (RNNBase.__init__, RNNCellBase, Linear, Embedding) with
// JavaScript names and types. Everything is checked before any per-layer list
// is built or any memory is taken.

import { describe } from "../core/describe.js";
import { seed32 } from "../core/random.js";
import { MAX_INT32 } from "../core/sizes.js";

export type Nonlinearity = "tanh" | "relu";

/** Options shared by `new RNN()`, `new GRU()` and `new LSTM()`: PyTorch's arguments in camelCase, plus `seed`. */
export interface RecurrentOptions {
  /** Features per input step (PyTorch `input_size`). */
  inputSize: number;
  /** Features of the hidden state (PyTorch `hidden_size`). */
  hiddenSize: number;
  /** Stacked layers; default 1. */
  numLayers?: number;
  /** Whether the layers have `bias_ih`/`bias_hh`; default true. */
  bias?: boolean;
  /** Batched tensors are (batch, seq, feature) instead of (seq, batch, feature); default false. Not for states. */
  batchFirst?: boolean;
  /** Dropout probability on the outputs of every layer but the last, in training mode; default 0. */
  dropout?: number;
  /** Adds a reverse direction per layer; default false. */
  bidirectional?: boolean;
  /** Makes the initial weights bit-identical to `torch.manual_seed(seed); nn.X(...)`; random when omitted. */
  seed?: number | bigint;
}

/** Options of `new RNN()`. */
export interface RNNOptions extends RecurrentOptions {
  /** 'tanh' (default) or 'relu'. */
  nonlinearity?: Nonlinearity;
}

/** Options of `new GRU()`. */
export type GRUOptions = RecurrentOptions;

/** Options of `new LSTM()`. */
export interface LSTMOptions extends RecurrentOptions {
  /** Size of the projected hidden state h (PyTorch `proj_size`); 0 (default) disables the projection. */
  projSize?: number;
}

/** Options of the cells: `new RNNCell()`, `new GRUCell()`, `new LSTMCell()`. */
export interface CellOptions {
  inputSize: number;
  /** May be 0, as in PyTorch (outputs then have no features). */
  hiddenSize: number;
  /** Default true. */
  bias?: boolean;
  /** Bit-identical to `torch.manual_seed(seed); nn.XCell(...)`; random when omitted. */
  seed?: number | bigint;
}

/** Options of `new RNNCell()`. */
export interface RNNCellOptions extends CellOptions {
  /** 'tanh' (default) or 'relu'. */
  nonlinearity?: Nonlinearity;
}

export type GRUCellOptions = CellOptions;
export type LSTMCellOptions = CellOptions;

/** Recurrent options after validation, with defaults filled in. */
export interface RecurrentConfig {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly nonlinearity: Nonlinearity;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  readonly projSize: number;
  readonly seed: number | null;
}

/** Cell options after validation. */
export interface CellConfig {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  readonly nonlinearity: Nonlinearity;
  readonly seed: number | null;
}

const RECURRENT_KEYS = [
  "inputSize",
  "hiddenSize",
  "numLayers",
  "bias",
  "batchFirst",
  "dropout",
  "bidirectional",
  "seed",
];

/**
 * Validates `new RNN()` / `new GRU()` / `new LSTM()` options; throws TypeError/RangeError
 * naming the option, expected and given value.
 */
export function checkRecurrentOptions(name: "RNN" | "GRU" | "LSTM", options: unknown): RecurrentConfig {
  const o = readOptionsObject(name, options);
  const lstm = name === "LSTM";
  if (!lstm && "projSize" in o) throw new RangeError("projSize argument is only supported for LSTM, not RNN or GRU");
  checkKnownKeys(
    name,
    o,
    name === "RNN" ? [...RECURRENT_KEYS, "nonlinearity"] : lstm ? [...RECURRENT_KEYS, "projSize"] : RECURRENT_KEYS,
  );
  const nonlinearity = name === "RNN" ? checkNonlinearity(o.nonlinearity) : "tanh";
  const dropout = checkDropout(valueOr(o, "dropout", 0));
  const bias = checkBoolean(valueOr(o, "bias", true), "bias");
  const batchFirst = checkBoolean(valueOr(o, "batchFirst", false), "batchFirst");
  const bidirectional = checkBoolean(valueOr(o, "bidirectional", false), "bidirectional");
  const inputSize = checkSize(name, o, "inputSize", 1);
  const hiddenSize = checkSize(name, o, "hiddenSize", 1);
  const numLayers = checkSize(name, { numLayers: valueOr(o, "numLayers", 1) }, "numLayers", 1);
  const projSize = lstm ? checkProjSize(valueOr(o, "projSize", 0), hiddenSize) : 0;
  const seed = readSeed(o);
  if (dropout > 0 && numLayers === 1) {
    console.warn(
      "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects " +
        `num_layers greater than 1, but got dropout=${dropout} and num_layers=${numLayers}`,
    );
  }
  return { inputSize, hiddenSize, numLayers, nonlinearity, bias, batchFirst, dropout, bidirectional, projSize, seed };
}

/** Validates the options of a cell (`RNNCell`, `GRUCell`, `LSTMCell`). */
export function checkCellOptions(name: "RNNCell" | "GRUCell" | "LSTMCell", options: unknown): CellConfig {
  const o = readOptionsObject(name, options);
  const rnn = name === "RNNCell";
  checkKnownKeys(
    name,
    o,
    rnn ? ["inputSize", "hiddenSize", "bias", "nonlinearity", "seed"] : ["inputSize", "hiddenSize", "bias", "seed"],
  );
  const nonlinearity = rnn ? checkNonlinearity(o.nonlinearity) : "tanh";
  const bias = checkBoolean(valueOr(o, "bias", true), "bias");
  const inputSize = checkSize(name, o, "inputSize", 1);
  const hiddenSize = checkSize(name, o, "hiddenSize", 0);
  return { inputSize, hiddenSize, bias, nonlinearity, seed: readSeed(o) };
}

/** A dropout probability: a number in [0, 1]. */
export function checkDropout(value: unknown): number {
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw new RangeError(
      "dropout should be a number in range [0, 1] representing the probability of an element being zeroed, " +
        `got ${describe(value)}`,
    );
  }
  return value;
}

/** The options argument as a plain record, or a TypeError showing the expected form. */
export function readOptionsObject(
  name: string,
  options: unknown,
  example = "{ inputSize: 10, hiddenSize: 20 }",
): Record<string, unknown> {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`${name} options must be an object like ${example}, got ${describe(options)}`);
  }
  // One read of every own option, so getters run once and later reads see the same values.
  return { ...(options as Record<string, unknown>) };
}

export function checkKnownKeys(name: string, o: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (!known.includes(key)) throw new TypeError(`${name} got an unexpected option '${key}'`);
  }
}

/** An option's value, or `fallback` when it is absent or undefined (null is a value and is checked). */
export function valueOr(o: Record<string, unknown>, key: string, fallback: unknown): unknown {
  return o[key] === undefined ? fallback : o[key];
}

export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(`${name} should be of type boolean, got ${typeof value} (${describe(value)})`);
  }
  return value;
}

/** A required integer size in [min, 2^31 − 1] (the kernel takes sizes as i32). */
export function checkSize(module: string, o: Record<string, unknown>, name: string, min: number): number {
  const value = o[name];
  if (value === undefined) {
    throw new TypeError(`${module} option ${name} is required (a ${min === 0 ? "non-negative" : "positive"} integer)`);
  }
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`${name} should be an integer, got ${typeof value} (${describe(value)})`);
  }
  if (value < min)
    throw new RangeError(`${name} must be ${min === 0 ? "non-negative" : "greater than zero"}, got ${value}`);
  if (value > MAX_INT32) throw new RangeError(`${name} must be at most ${MAX_INT32}, got ${value}`);
  return value;
}

export function readSeed(o: Record<string, unknown>): number | null {
  return o.seed === undefined ? null : seed32(o.seed as number | bigint, "seed");
}

function checkNonlinearity(value: unknown): Nonlinearity {
  const nonlinearity = value === undefined ? "tanh" : value;
  if (nonlinearity !== "tanh" && nonlinearity !== "relu") {
    throw new RangeError(`Unknown nonlinearity ${describe(nonlinearity)}. Select from 'tanh' or 'relu'.`);
  }
  return nonlinearity;
}

/** PyTorch's proj_size rules and messages (RNNBase.__init__). */
function checkProjSize(value: unknown, hiddenSize: number): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`projSize should be an integer, got ${typeof value} (${describe(value)})`);
  }
  if (value < 0)
    throw new RangeError(`proj_size should be a positive integer or zero to disable projections, got ${value}`);
  if (value >= hiddenSize) {
    throw new RangeError(
      `proj_size has to be smaller than hidden_size, got projSize ${value} and hiddenSize ${hiddenSize}`,
    );
  }
  return value;
}
