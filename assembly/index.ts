// The kernel's ABI. Every export takes and returns numbers; pointers are byte
// offsets into the exported memory, owned by the host.
export { alloc, free, allocated_bytes } from "./memory";
export { packed_floats, pack_panels } from "./pack";
export { gemm } from "./gemm";
export { activate } from "./activation";
export { rnn_layer } from "./rnn";
