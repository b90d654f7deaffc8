// What the one-thread path needs to know of threaded builds: how to tell one,
// and the shared memory it imports. The pool itself (pool.ts, support.ts) is
// reached only from the runtime entries that start threads.

/** Whether `module` is a threaded kernel build: it imports its memory, which it shares with its threads. */
export function isThreadedBuild(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.imports(module).some((i) => i.module === "env" && i.name === "memory");
}

/** Pages of the shared memory a threaded build starts with: its declared minimum (asconfig.json initialMemory). */
const THREADED_INITIAL_PAGES = 4;
/** 4 GiB, the most a 32-bit memory grows to; a shared memory must declare its maximum. */
const THREADED_MAXIMUM_PAGES = 65536;

/** The imports of a threaded build: a new shared memory. */
export function threadedImports(): WebAssembly.Imports {
  const memory = new WebAssembly.Memory({
    initial: THREADED_INITIAL_PAGES,
    maximum: THREADED_MAXIMUM_PAGES,
    shared: true,
  });
  return { env: { memory } };
}
