// The kernel's ABI. Every export takes and returns numbers; pointers are byte
// offsets into the exported memory, owned by the host. Constants: abi.ts.
// The routines are exported through their guarded entries (entries.ts): each
// writes only inside the block named by set_write_window.
export { alloc, free, allocated_bytes, set_write_window } from "./memory";
export {
  guardedPackPanels as pack_panels,
  guardedPackGatePanels as pack_gate_panels,
  guardedPackGateBias as pack_gate_bias,
  guardedPackTransposed as pack_transposed,
  guardedGemm as gemm,
  guardedGemmTn as gemm_tn,
  guardedRnnLayer as rnn_layer,
  guardedGruLayer as gru_layer,
  guardedLstmLayer as lstm_layer,
  guardedRnnLayerBackward as rnn_layer_backward,
  guardedGruLayerBackward as gru_layer_backward,
  guardedLstmLayerBackward as lstm_layer_backward,
} from "./entries";
export { kernel_build } from "./build";
