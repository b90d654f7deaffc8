// The bounded hostile-input fuzz of `npm test` (tests/fuzz/hostile.mjs; the long run is
// `node tests/fuzz/hostile.mjs --cases N`): lying objects, sizes near 2^31 and 2^32 and edited
// packed sequences, in a child process under a heap cap and a timeout, so a crash or a hang
// fails this test instead of the run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const FUZZER = fileURLToPath(new URL("../fuzz/hostile.mjs", import.meta.url));
const CASES = 400;
const SEED = 20261207;

test(`${CASES} hostile calls (seed ${SEED}) are answered as their honest copy or refused clearly, no victim changes`, () => {
  const child = spawnSync(
    process.execPath,
    [
      "--experimental-wasm-relaxed-simd",
      "--max-old-space-size=512",
      FUZZER,
      "--cases",
      String(CASES),
      "--seed",
      String(SEED),
    ],
    { encoding: "utf8", timeout: 120_000, maxBuffer: 16 * 2 ** 20 },
  );
  const tail = `status ${child.status}, signal ${child.signal}, error ${child.error?.code}\n${(child.stderr ?? "").slice(-1500)}`;
  let result;
  try {
    result = JSON.parse(child.stdout.trim().split("\n").at(-1));
  } catch {
    assert.fail(`the fuzzer died without a report: ${tail}`);
  }
  assert.equal(result.cases, CASES);
  assert.deepEqual(result.failures.slice(0, 20), [], `${result.failures.length} failures`);
  assert.equal(child.status, 0, tail);
});
