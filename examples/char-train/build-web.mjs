// Builds the training page into examples/char-train/dist/ as char-rnn's page is
// built (../char-rnn/build-web.mjs): the bundle, the kernels, the page, and the
// two files it fetches, the default training text and the shipped model it can
// fine-tune.
//
//   node examples/char-train/build-web.mjs
import { fileURLToPath } from "node:url";
import { bundleDemo } from "../char-rnn/build-web.mjs";

export function buildWeb() {
  return bundleDemo(new URL("./", import.meta.url), [
    "./index.html",
    "../char-rnn/data/coriolanus.txt",
    "../char-rnn/model.safetensors",
  ]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`built ${await buildWeb()}`);
}
