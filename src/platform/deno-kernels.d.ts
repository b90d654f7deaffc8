// Types of deno-kernels.js: each kernel build, compiled.
export declare const relaxed: WebAssembly.Module;
export declare const simd: WebAssembly.Module;
export declare const scalar: WebAssembly.Module;
/** The threaded builds, by backend, each compiled when first asked for. */
export declare const THREADED: Readonly<Record<"relaxed" | "simd" | "scalar", () => Promise<WebAssembly.Module>>>;
