// Everything a user imports, identical in every runtime. Each platform entry
// (src/platform/*.ts) re-exports this and adds only its own `init`.
export { Tensor, type NestedArray } from "./core/tensor.js";
export { RNNCell, type RNNCellOptions } from "./modules/rnn-cell.js";
export { RNN, type RNNOptions, type Nonlinearity, type ParameterSpec } from "./modules/rnn.js";
export { type LoadStateDictOptions, type StateDictInput } from "./io/state-dict.js";
export {
  PackedSequence, packPaddedSequence, padPackedSequence, packSequence, padSequence, unpackSequence, unpadSequence,
} from "./sequence/packed.js";
export type {
  IntegerArrayLike, PackPaddedSequenceOptions, PadPackedSequenceOptions, PackSequenceOptions, PadSequenceOptions,
  UnpadSequenceOptions,
} from "./sequence/packed.js";
export { loadSafetensors, saveSafetensors, type SafetensorsFile, type FloatDtype } from "./io/safetensors.js";
export { loadTorch, type TorchFile } from "./io/torch/load.js";
export { backend, type InitOptions, type Runtime } from "./runtime/runtime.js";
export { detectFeatures, type Backend, type Features } from "./runtime/features.js";
