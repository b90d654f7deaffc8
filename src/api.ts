// Everything a user imports, identical in every runtime. Each platform entry
// (src/platform/*.ts) re-exports this and adds only its own `init`.
export { Tensor, type NestedArray } from "./tensor.js";
export { RNNCell, type RNNCellOptions } from "./cell.js";
export { RNN, type RNNOptions, type Nonlinearity, type ParameterSpec } from "./rnn.js";
export { type LoadStateDictOptions, type StateDictInput } from "./state-dict.js";
export {
  PackedSequence, packPaddedSequence, padPackedSequence, packSequence, padSequence, unpackSequence, unpadSequence,
} from "./packed.js";
export type {
  IntegerArrayLike, PackPaddedSequenceOptions, PadPackedSequenceOptions, PackSequenceOptions, PadSequenceOptions,
  UnpadSequenceOptions,
} from "./packed.js";
export { loadSafetensors, saveSafetensors, type SafetensorsFile, type FloatDtype } from "./safetensors.js";
export { loadTorch, type TorchFile } from "./torch.js";
export { backend, type InitOptions, type Runtime } from "./runtime.js";
export { detectFeatures, type Backend, type Features } from "./features.js";
