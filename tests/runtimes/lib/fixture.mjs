// The fixture bundle the smoke suite runs in every runtime: a handful of cases
// picked from the PyTorch golden fixtures, written as one JSON file so that
// runtimes without a file system (workerd, Chromium) and Deno without
// permissions can import it. Tensors stay base64 (smoke.js decodes them).
import { readFileSync, writeFileSync } from "node:fs";

// Covers tanh and relu, bias or not, h0 or not, time- and batch-first, 1–3
// layers, both directions, unbatched input, hidden sizes off the SIMD width,
// tanh saturation, and packed sequences given sorted and unsorted.
const PICKS = {
  forward: [
    "tanh-bias-bf0-bi0-L2-h0-batched-I5-H31-T3-B3",
    "relu-bias-bf1-bi0-L2-noh0-batched-I5-H31-T5-B2",
    "relu-nobias-bf1-bi1-L2-h0-batched-I3-H7-T6-B4",
    "tanh-bias-bf1-bi1-L3-noh0-unbatched-I5-H5-T5",
    "saturate-x5-tanh-bias-bf0-bi1-L2-h0-batched-I7-H5-T6-B3",
  ],
  packed: [
    "cudnn-tanh-bias-bf0-bi0-L2-h0-sorted-len7_5_5_2_1_1-ties",
    "varseq-relu-bias-bf1-bi1-L2-h0-unsorted-len2_1_3_2_10_5_3-ties",
    "distinct-tanh-bias-bf0-bi1-L3-h0-unsorted-len4_1_6_2_5_3",
  ],
};

const FIELDS = [
  "name",
  "config",
  "stateDict",
  "packed",
  "input",
  "h0",
  "output",
  "output64",
  "hN",
  "hN64",
  "packedData",
  "packedData64",
];

/** Writes the bundle to `path`; throws if a picked case is no longer in the fixtures. */
export function writeFixtureBundle(path) {
  const cases = [];
  for (const [file, names] of Object.entries(PICKS)) {
    const all = JSON.parse(readFileSync(new URL(`../../fixtures/${file}.json`, import.meta.url), "utf8")).cases;
    for (const name of names) {
      const c = all.find((x) => x.name === name);
      if (c === undefined) throw new Error(`tests/fixtures/${file}.json has no case '${name}'`);
      cases.push(Object.fromEntries(FIELDS.filter((f) => f in c).map((f) => [f, c[f]])));
    }
  }
  writeFileSync(path, JSON.stringify({ cases }));
}
