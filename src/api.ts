// Everything a user imports, identical in every runtime. Each platform entry
// (src/platform/*.ts) re-exports this and adds only its own `init`.
export { Tensor, type NestedArray } from "./core/tensor.js";
export { RNN } from "./modules/rnn.js";
export { GRU } from "./modules/gru.js";
export { LSTM } from "./modules/lstm.js";
export { RNNCell } from "./modules/rnn-cell.js";
export { GRUCell } from "./modules/gru-cell.js";
export { LSTMCell } from "./modules/lstm-cell.js";
export { Linear, type LinearOptions } from "./modules/linear.js";
export { Embedding, type EmbeddingOptions, type NestedIndices } from "./modules/embedding.js";
export { SGD, type SGDOptions } from "./train/sgd.js";
export { Adam, AdamW, type AdamOptions, type AdamWOptions } from "./train/adam.js";
export { clipGradNorm } from "./train/clip.js";
export {
  crossEntropy,
  mseLoss,
  type CrossEntropyOptions,
  type MSELossOptions,
  type LossResult,
  type Reduction,
} from "./train/losses.js";
export type { Modules } from "./train/modules.js";
export type {
  RecurrentOptions,
  RNNOptions,
  GRUOptions,
  LSTMOptions,
  CellOptions,
  RNNCellOptions,
  GRUCellOptions,
  LSTMCellOptions,
  Nonlinearity,
} from "./modules/options.js";
export type { ParameterSpec } from "./modules/parameters.js";
export type { LoadStateDictOptions, StateDictInput } from "./io/state-dict.js";
export {
  PackedSequence,
  packPaddedSequence,
  padPackedSequence,
  packSequence,
  padSequence,
  unpackSequence,
  unpadSequence,
} from "./sequence/packed.js";
export type {
  IntegerArrayLike,
  PackPaddedSequenceOptions,
  PadPackedSequenceOptions,
  PackSequenceOptions,
  PadSequenceOptions,
  UnpadSequenceOptions,
} from "./sequence/packed.js";
export { loadSafetensors, saveSafetensors, type SafetensorsFile, type FloatDtype } from "./io/safetensors.js";
export { loadTorch, type TorchFile } from "./io/torch/load.js";
export { backend, threads, terminate, type InitOptions, type Runtime } from "./runtime/runtime.js";
export { detectFeatures, type Backend, type Features } from "./runtime/features.js";
export type { Calibration } from "./runtime/calibrate.js";
