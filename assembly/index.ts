// The kernel's ABI. Every export takes and returns numbers; pointers are byte
// offsets into the exported memory, owned by the host. Constants: abi.ts.
export { alloc, free, allocated_bytes, set_write_window } from "./memory";
export { pack_panels, pack_gate_panels, pack_gate_bias, pack_transposed } from "./pack";
export { gemm } from "./gemm";
export { gemm_tn } from "./gemm_tn";
export { rnn_layer } from "./rnn";
export { gru_layer } from "./gru";
export { lstm_layer } from "./lstm";
export { rnn_layer_backward, gru_layer_backward, lstm_layer_backward } from "./backward";
export { kernel_build } from "./build";
