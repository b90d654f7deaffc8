// Shows that the runtime suite can fail: builds the kernel with one sign
// flipped in exp, so in tanh and sigmoid (in a scratch copy of assembly/,
// never the real file), puts those builds into a scratch copy of the package, runs run.mjs on it and
// checks that every runtime failed, and failed on PyTorch's numbers.
//
//   npm run build && node tests/runtimes/broken-kernel.mjs
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const RUNTIMES = ["node", "deno", "bun", "workerd", "chromium"];
const BUILDS = ["scalar", "simd", "relaxed"];

const scratch = mkdtempSync(join(tmpdir(), "wasm-rnn-broken-"));
try {
  cpSync(join(ROOT, "assembly"), join(scratch, "assembly"), { recursive: true });
  cpSync(join(ROOT, "asconfig.json"), join(scratch, "asconfig.json"));
  const activation = join(scratch, "assembly", "activation.ts");
  const source = readFileSync(activation, "utf8");
  const broken = source.replace(/(const E3: f32 = )(\d)/, "$1-$2"); // exp's x³ coefficient, every build
  if (broken === source)
    throw new Error("assembly/activation.ts no longer has `const E3: f32 = <positive>`: pick another mutation");
  writeFileSync(activation, broken);

  const pkg = join(scratch, "package");
  cpSync(join(ROOT, "package.json"), join(pkg, "package.json"));
  cpSync(join(ROOT, "dist"), join(pkg, "dist"), { recursive: true });
  for (const build of BUILDS) {
    console.log(`broken-kernel: asc --target ${build} (exp with E3 negated)`);
    execFileSync(
      join(ROOT, "node_modules", ".bin", "asc"),
      ["assembly/index.ts", "--config", "asconfig.json", "--target", build],
      { cwd: scratch, stdio: "inherit" },
    );
    cpSync(join(scratch, "build", `rnn.${build}.wasm`), join(pkg, "build", `rnn.${build}.wasm`));
  }

  const { status, stdout } = spawnSync(
    process.execPath,
    [join(ROOT, "tests", "runtimes", "run.mjs"), "--package", pkg, ...RUNTIMES],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  process.stdout.write(stdout);
  // A runtime's block runs from its PASS/FAIL line to the next one.
  const blocks = stdout.split(/^(?= {2}(?:PASS|FAIL) )/m).slice(1);
  const caught = RUNTIMES.filter((runtime) =>
    blocks.some((b) => b.startsWith(`  FAIL ${runtime} `) && b.includes("max |ours - PyTorch float64|")),
  );
  const missed = RUNTIMES.filter((r) => !caught.includes(r));
  if (status !== 1) missed.push(`run.mjs's exit status (${status}, expected 1)`);
  console.log(
    missed.length === 0
      ? `broken-kernel: every runtime (${caught.join(", ")}) rejected the broken kernel on PyTorch's numbers`
      : `broken-kernel: NOT caught by ${missed.join(", ")}`,
  );
  process.exitCode = missed.length === 0 ? 0 : 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
