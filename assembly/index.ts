// The kernel's ABI. Every export takes and returns numbers; pointers are byte
// offsets into the exported memory, owned by the host. Constants: abi.ts.
// The routines are exported through their guarded entries (entries.ts): each
// writes only inside the block named by set_write_window.
export { alloc, free, allocated_bytes, set_write_window } from "./memory";
export {
  guardedPackPanels as pack_panels,
  guardedPackGatePanels as pack_gate_panels,
  guardedPackGateBias as pack_gate_bias,
  guardedGemm as gemm,
  guardedRnnLayer as rnn_layer,
  guardedGruLayer as gru_layer,
  guardedLstmLayer as lstm_layer,
} from "./entries";
export { pack_transposed } from "./pack";
export { gemm_tn } from "./gemm_tn";
export { rnn_layer_backward, gru_layer_backward, lstm_layer_backward } from "./backward";
export { kernel_build } from "./build";
