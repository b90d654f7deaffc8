// The fixture bundle the smoke suite runs in every runtime: a handful of cases
// picked from the PyTorch golden fixtures, written as one JSON file so that
// runtimes without a file system (workerd, Chromium) and Deno without
// permissions can import it. Tensors stay base64 (smoke.js decodes them).
import { readFileSync, writeFileSync } from "node:fs";

// Covers tanh and relu, bias or not, h0 or not, time- and batch-first, 1–3
// layers, both directions, unbatched input, hidden sizes off the SIMD width,
// tanh saturation, and packed sequences given sorted and unsorted; GRU and
// LSTM (with and without projSize) batched, unbatched and packed; Linear and
// Embedding.
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
  gated: [
    "GRU-bias-bf0-bi1-L2-state-batched-I9-H7-T4-B4",
    "GRU-bias-bf0-bi0-L2-state-unbatched-I5-H9-T2",
    "saturate-x8-GRU-bias-bf0-bi0-L1-state-sorted-I5-H9-len6_4_1",
    "LSTM-bias-bf1-bi1-L1-state-batched-I8-H1-T5-B3",
    "LSTM-P5-bias-bf0-bi0-L1-state-batched-I8-H7-T3-B3",
    "LSTM-bias-bf0-bi0-L2-state-unsorted-I1-H7-len3_1_4_4_2_6",
  ],
  "linear-embedding": ["Linear-bias-in1-out1-x2x3x1", "Embedding-n10-dim3-padNone-x3x1x4"],
};

const FIELDS = [
  "name",
  "module",
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
  "c0",
  "cN",
  "cN64",
  "torch32Error",
  "indices",
  "shape",
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
