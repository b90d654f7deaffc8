// The strict-CSP page's script: the browser entry by path (an import map would be inline script).
import * as pkg from "/node_modules/wasm-rnn/dist/browser.js";
import { run } from "./run.js";

window.result = run(pkg);
