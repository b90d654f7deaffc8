// The package as served from a host that lost dist/web-thread.js: threads must fall back, saying why.
import * as pkg from "/no-thread-script/node_modules/wasm-rnn/dist/browser.js";
import { run } from "./run.js";

window.result = run(pkg);
