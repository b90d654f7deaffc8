// The long fuzz run (`npm run fuzz`): random configurations against the float64
// reference in every kernel build for a given time, then a summary. Exits 1 if
// any case failed; each failure prints a minimal reproducer to paste into
// tests/fuzz/regressions.json.
//
//   node --experimental-wasm-relaxed-simd tests/fuzz/run.mjs [--seconds N] [--cases N] [--seed S]
//        [--backends scalar,simd,relaxed] [--no-shrink]
//
// Default: 60 seconds from a seed taken from the clock (printed, so a run can be repeated).
import { fuzz } from "./differential.mjs";

function parseArgs(argv) {
  const args = { seconds: undefined, cases: undefined, seed: undefined, backends: undefined, shrink: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    const number = (name) => {
      const v = Number(value());
      if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number`);
      return v;
    };
    if (arg === "--seconds") args.seconds = number("--seconds");
    else if (arg === "--cases") args.cases = Math.floor(number("--cases"));
    else if (arg === "--seed") args.seed = Math.floor(number("--seed")) >>> 0;
    else if (arg === "--backends") args.backends = value().split(",").filter(Boolean);
    else if (arg === "--no-shrink") args.shrink = false;
    else if (arg === "--help" || arg === "-h") {
      console.log("usage: run.mjs [--seconds N] [--cases N] [--seed S] [--backends scalar,simd,relaxed] [--no-shrink]");
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  if (args.seconds === undefined && args.cases === undefined) args.seconds = 60;
  args.seed ??= Date.now() >>> 0;
  return args;
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (error) {
  console.error(
    `fuzz: ${error.message}\nusage: run.mjs [--seconds N] [--cases N] [--seed S] [--backends scalar,simd,relaxed] [--no-shrink]`,
  );
  process.exit(2);
}
console.log(
  `fuzz: seed ${args.seed}, ${args.cases !== undefined ? `${args.cases} cases` : `${args.seconds} s`}` +
    `${args.backends ? `, builds ${args.backends.join(", ")}` : ""}`,
);
const result = await fuzz({
  seed: args.seed,
  cases: args.cases,
  seconds: args.seconds,
  backends: args.backends,
  shrink: args.shrink,
  progress: true,
});
console.log(
  `fuzz: ${result.cases} cases (${result.runs} runs across builds) in ${result.seconds.toFixed(1)} s, ` +
    `${result.failures.length} failure(s); ${result.rescaled} case(s) regenerated at unit scale (relu overflow); ` +
    `worst passing error/tolerance ${result.worst.ratio.toFixed(3)} (${result.worst.backend})`,
);
if (result.worst.spec) console.log(`fuzz: closest passing case: ${JSON.stringify(result.worst.spec)}`);
process.exit(result.failures.length === 0 ? 0 : 1);
