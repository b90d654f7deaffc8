// Types of deno-kernels.js: each kernel build, compiled.
export declare const relaxed: WebAssembly.Module;
export declare const simd: WebAssembly.Module;
export declare const scalar: WebAssembly.Module;
