// What every Chromium page runs, steered by its query string:
// `?backend=B` — the smoke suite (init() must pick B), then the escape hatches
//   a page has when a bundler or CDN moved the kernel: init({ wasm }) from a
//   server sending the wrong MIME type, and init({ module });
// `?expect=refused` — init() must fail (the page's CSP forbids WebAssembly);
// `?threads=2,4` — the page must be crossOriginIsolated (served with COOP/COEP),
//   and those thread counts must compute every case bit for bit as one thread;
// `?fallback=TEXT` — threads must fall back to one thread, the reason naming TEXT.
import { smoke, checkCases, threadsFallbackSmoke, threadsSmoke } from "../smoke.js";

const SCALAR = "/node_modules/wasm-rnn/build/rnn.scalar.wasm";

export async function run(pkg) {
  const params = new URLSearchParams(location.search);
  if (params.get("expect") === "refused") {
    return pkg.init().then(
      () => {
        throw new Error("init() worked although the page's CSP forbids compiling WebAssembly");
      },
      (error) => ({ refused: String(error) }),
    );
  }
  const fixture = await (await fetch("/fixture.json")).json();
  if (params.has("threads")) {
    if (!crossOriginIsolated)
      throw new Error("the threads page is not crossOriginIsolated: check the server's headers");
    return threadsSmoke(pkg, fixture, { counts: params.get("threads").split(",").map(Number) });
  }
  if (params.has("fallback")) return threadsFallbackSmoke(pkg, fixture, { reason: params.get("fallback") });
  const summary = await smoke(pkg, fixture, { backend: params.get("backend") });

  await pkg.init({ wasm: `/wrong-mime${SCALAR}`, backend: "scalar" });
  if (pkg.backend() !== "scalar") throw new Error(`init({ wasm }) left backend() '${pkg.backend()}'`);
  checkCases(pkg, fixture);
  await pkg.init({ module: await WebAssembly.compileStreaming(fetch(SCALAR)) });
  if (pkg.backend() !== "custom") throw new Error(`init({ module }) left backend() '${pkg.backend()}'`);
  checkCases(pkg, fixture);
  // The one-thread path stays as small as before: the threaded builds, the pool's modules and the
  // worker script are extra files, fetched only when init() asks for threads.
  const threadFiles = performance
    .getEntriesByType("resource")
    .map((entry) => entry.name)
    .filter((name) => /-threads\.wasm$|-thread\.js$|\/threads\//.test(name));
  if (threadFiles.length > 0) throw new Error(`a page not using threads fetched ${threadFiles.join(", ")}`);
  return { ...summary, escapeHatches: ["wasm", "module"] };
}
