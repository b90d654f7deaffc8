// The training page in headless Chromium, used as a person would: press Start,
// pause and resume, let it finish, fine-tune the shipped model, save the result.
// The loss chart must have points, samples must appear, and the saved file must
// be a model wasm-rnn loads. UPDATE_SCREENSHOT=1 trains a full default run and
// writes examples/char-train/screenshot.png (the README's); otherwise the
// screenshot of the short run goes to the temporary directory.
//
//   node --test examples/char-train/web.test.mjs       (needs Debian's chromium)
//   UPDATE_SCREENSHOT=1 node --test examples/char-train/web.test.mjs
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { init, loadSafetensors } from "wasm-rnn";
import { startDemo } from "./serve.mjs";
import { openDemoPage } from "../char-rnn/demo-page.mjs";

const UPDATE = process.env.UPDATE_SCREENSHOT === "1";
const SCREENSHOT = UPDATE
  ? fileURLToPath(new URL("./screenshot.png", import.meta.url))
  : join(tmpdir(), "wasm-rnn-char-train-screenshot.png");

let page;
let pageLog;
let pageErrors;
let close;

before(async () => {
  ({
    page,
    log: pageLog,
    errors: pageErrors,
    close,
  } = await openDemoPage(startDemo, "#start:not([disabled])", {
    viewport: { width: 940, height: 1000 },
    acceptDownloads: true,
  }));
});

after(() => close?.());

async function waitForState(state, timeout = 120_000) {
  try {
    await page.waitForSelector(`#status[data-state="${state}"]`, { timeout });
  } catch (error) {
    const shown = await page.textContent("#status");
    throw new Error(`${error.message}\npage shows: ${shown}\n${pageLog.join("\n")}`);
  }
}

const readNumber = async (selector) => Number(await page.textContent(selector));

test("the page loads a kernel and the default text", async () => {
  assert.match(await page.textContent("#backend"), /^(relaxed|simd|scalar)$/);
  assert.match(await page.textContent("#text-info"), /^111902 characters · vocabulary 61$/);
});

test("training from scratch runs, pauses, resumes and draws its loss curve", async (t) => {
  const steps = 300;
  await page.fill("#steps", String(steps));
  await page.click("#start");
  // Pause from inside the page, in the same task that sees step 5: a click sent
  // from here can arrive after a fast machine has finished the whole run.
  await page.waitForFunction(
    () => {
      const running = document.getElementById("status").dataset.state === "running";
      if (!running || Number(document.getElementById("step").textContent) < 5) return false;
      document.getElementById("start").click();
      return true;
    },
    null,
    { timeout: 60_000, polling: 10 },
  );
  await waitForState("paused");
  const pausedAt = await readNumber("#step");
  assert.ok(pausedAt < steps, `paused at ${pausedAt}`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(await readNumber("#step"), pausedAt, "no step runs while paused");
  assert.equal(await page.textContent("#start"), "Resume");
  await page.click("#start"); // Resume
  await waitForState("done");
  assert.equal(await readNumber("#step"), steps);
  assert.equal(await page.getAttribute("#chart", "data-points"), String(steps));
  const loss = await readNumber("#loss");
  assert.ok(loss < Math.log(61) - 0.5, `loss ${loss} after ${steps} steps`);
  assert.match(await page.textContent("#speed"), /^\d+\.\d$/);
  // The untrained sample at step 0, then every 20 steps (about fifteen per run).
  assert.equal(await page.locator("#samples li").count(), 1 + steps / 20);
  t.diagnostic(`chromium: ${steps} steps, loss ${loss}, ${await page.textContent("#speed")} steps/s`);
});

test("Save .safetensors downloads the trained model with PyTorch's key names", async () => {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#save")]);
  assert.equal(download.suggestedFilename(), "char-train-step300.safetensors");
  const bytes = readFileSync(await download.path());
  assert.equal(String(bytes.length), await page.getAttribute("#save", "data-bytes"));
  await init();
  const file = loadSafetensors(bytes);
  // The keys of the model train.mjs wrote and PyTorch loaded (node.test.mjs lists them).
  const fixture = loadSafetensors(readFileSync(new URL("./fixture/model.safetensors", import.meta.url)));
  assert.deepEqual(Object.keys(file.tensors).sort(), Object.keys(fixture.tensors).sort());
  assert.deepEqual(file.tensors["rnn.weight_hh_l0"].shape, [256, 64]);
  assert.match(file.metadata.source, /300 steps/);
});

test("fine-tuning the shipped model on pasted text maps its unknown characters", async () => {
  await page.check("input[name=mode][value=finetune]");
  assert.equal(await page.inputValue("#lr"), "0.001");
  await page.fill("#text", "Caf\u00e9 au lait, s'il vous pla\u00eet.\n".repeat(30));
  await page.fill("#steps", "6");
  await page.click("#start");
  await waitForState("done");
  assert.match(
    await page.textContent("#text-info"),
    /vocabulary 61 · Embedding\(61, 32\) → LSTM\(32, 160\).* 2 characters mapped/,
  );
  assert.equal(await page.getAttribute("#chart", "data-points"), "6");
});

test("screenshot of the loss curve", { timeout: 600_000 }, async (t) => {
  await page.check("input[name=mode][value=scratch]");
  await page.reload();
  await page.waitForSelector("#start:not([disabled])", { timeout: 30_000 });
  // The README's screenshot shows a whole default run; the test's a short one.
  if (!UPDATE) await page.fill("#steps", "40");
  await page.click("#start");
  await waitForState("done", 600_000);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  t.diagnostic(`screenshot ${SCREENSHOT}: ${await page.textContent("#status")}`);
});

test("the page logs no console errors and throws no page errors", () => {
  assert.deepEqual(pageErrors, []);
});
