// Validation of the RNN constructor options, following PyTorch main's checks
// (reference/pytorch-rnn.md §1.2) with JavaScript names and types.

import { describe } from "../core/describe.js";
import { seed32 } from "../core/random.js";

export type Nonlinearity = "tanh" | "relu";

/** Options of `new RNN()`: PyTorch's constructor arguments in camelCase, plus `seed`. */
export interface RNNOptions {
  /** Features per input step (PyTorch `input_size`). */
  inputSize: number;
  /** Features of the hidden state (PyTorch `hidden_size`). */
  hiddenSize: number;
  /** Stacked layers; default 1. */
  numLayers?: number;
  /** 'tanh' (default) or 'relu'. */
  nonlinearity?: Nonlinearity;
  /** Whether the layers have `bias_ih`/`bias_hh`; default true. */
  bias?: boolean;
  /** Batched tensors are (batch, seq, feature) instead of (seq, batch, feature); default false. Never applies to h0/hN. */
  batchFirst?: boolean;
  /** Dropout probability on the outputs of every layer but the last, in training mode; default 0. */
  dropout?: number;
  /** Adds a reverse direction per layer; default false. */
  bidirectional?: boolean;
  /** Makes the initial weights bit-identical to `torch.manual_seed(seed); nn.RNN(...)`; random when omitted. */
  seed?: number | bigint;
}

/** Options after validation, with defaults filled in. */
export interface RNNConfig {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly nonlinearity: Nonlinearity;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  readonly seed: number | null;
}

const KNOWN = new Set([
  "inputSize", "hiddenSize", "numLayers", "nonlinearity", "bias", "batchFirst", "dropout", "bidirectional", "seed",
]);

/** Validates `new RNN()` options; throws TypeError/RangeError naming the option, expected and given value. */
export function checkRNNOptions(options: unknown): RNNConfig {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`RNN options must be an object like { inputSize: 10, hiddenSize: 20 }, got ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  if ("projSize" in o) throw new RangeError("projSize argument is only supported for LSTM, not RNN or GRU");
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new TypeError(`RNN got an unexpected option '${key}'`);
  }
  const nonlinearity = o.nonlinearity === undefined ? "tanh" : o.nonlinearity;
  if (nonlinearity !== "tanh" && nonlinearity !== "relu") {
    throw new RangeError(`Unknown nonlinearity ${describe(nonlinearity)}. Select from 'tanh' or 'relu'.`);
  }
  const dropout = checkDropout(o.dropout === undefined ? 0 : o.dropout);
  const bias = checkBoolean(o.bias === undefined ? true : o.bias, "bias");
  const batchFirst = checkBoolean(o.batchFirst === undefined ? false : o.batchFirst, "batchFirst");
  const bidirectional = checkBoolean(o.bidirectional === undefined ? false : o.bidirectional, "bidirectional");
  const inputSize = checkPositiveInteger(o.inputSize, "inputSize");
  const hiddenSize = checkPositiveInteger(o.hiddenSize, "hiddenSize");
  const numLayers = checkPositiveInteger(o.numLayers === undefined ? 1 : o.numLayers, "numLayers");
  const seed = o.seed === undefined ? null : seed32(o.seed as number | bigint, "seed");
  if (dropout > 0 && numLayers === 1) {
    console.warn(
      "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects " +
      `num_layers greater than 1, but got dropout=${dropout} and num_layers=${numLayers}`);
  }
  return { inputSize, hiddenSize, numLayers, nonlinearity, bias, batchFirst, dropout, bidirectional, seed };
}

/** A dropout probability: a number in [0, 1]. */
export function checkDropout(value: unknown): number {
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw new RangeError(
      "dropout should be a number in range [0, 1] representing the probability of an element being zeroed, " +
      `got ${describe(value)}`);
  }
  return value;
}

function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(`${name} should be of type boolean, got ${typeof value} (${describe(value)})`);
  }
  return value;
}

function checkPositiveInteger(value: unknown, name: string): number {
  if (value === undefined) throw new TypeError(`RNN option ${name} is required (a positive integer)`);
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`${name} should be an integer, got ${typeof value} (${describe(value)})`);
  }
  if (value <= 0) throw new RangeError(`${name} must be greater than zero, got ${value}`);
  if (value > 0x7fffffff) throw new RangeError(`${name} must be at most ${0x7fffffff}, got ${value}`);
  return value;
}
