// The web demo in headless Chromium, driven as a person would use it: type a
// prompt, tick "Greedy", press Generate, read the streamed text. Greedy text must
// equal PyTorch's (expected.json), and so must the page's default sampled run
// (seed 42), of which a screenshot is taken: to the temporary directory, or to
// examples/char-rnn/screenshot.png (the README's) with UPDATE_SCREENSHOT=1, so
// a test run leaves the working tree as it was.
//
//   node --test examples/char-rnn/web.test.mjs       (needs Debian's chromium)
//   UPDATE_SCREENSHOT=1 node --test examples/char-rnn/web.test.mjs
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { startDemo } from "./serve.mjs";
import { openDemoPage } from "./demo-page.mjs";

const expected = JSON.parse(readFileSync(new URL("./expected.json", import.meta.url), "utf8"));
const SCREENSHOT =
  process.env.UPDATE_SCREENSHOT === "1"
    ? fileURLToPath(new URL("./screenshot.png", import.meta.url))
    : join(tmpdir(), "wasm-rnn-char-rnn-screenshot.png");

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
  } = await openDemoPage(startDemo, "#generate:not([disabled])", { viewport: { width: 900, height: 860 } }));
});

after(() => close?.());

/** Fills the form, presses Generate and waits for the page to finish; returns the text and median µs. */
async function run({ prompt, length, greedy, temperature = 0.8 }) {
  await page.fill("#prompt", prompt);
  await page.fill("#length", String(length));
  await page.setChecked("#greedy", greedy);
  if (!greedy) await page.fill("#temperature", String(temperature));
  await page.click("#generate");
  try {
    await page.waitForSelector('#output[data-state="done"]', { timeout: 60_000 });
  } catch (error) {
    const shown = await page.textContent("#output");
    throw new Error(`${error.message}\npage shows: ${shown}\n${pageLog.join("\n")}`);
  }
  return page.evaluate(() => ({
    text: document.getElementById("generated").textContent,
    medianUs: Number(document.getElementById("output").dataset.medianUs),
  }));
}

test("the page loads a kernel and shows its backend", async () => {
  const backend = await page.textContent("#backend");
  assert.match(backend, /^(relaxed|simd|scalar)$/);
});

for (const sample of expected.samples) {
  test(`greedy text from ${JSON.stringify(sample.prompt)} equals PyTorch's`, async (t) => {
    const { text, medianUs } = await run({ prompt: sample.prompt, length: sample.length, greedy: true });
    assert.equal(text, sample.greedy);
    t.diagnostic(`chromium: median ${medianUs.toFixed(1)} µs per character (${await page.textContent("#backend")})`);
  });
}

test("the default sampled run equals PyTorch's; screenshot", async (t) => {
  const { prompt, length, temperature, seed } = expected.sampled;
  await page.fill("#seed", String(seed));
  const { text, medianUs } = await run({ prompt, length, greedy: false, temperature });
  assert.equal(text, expected.sampled.text);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  t.diagnostic(`chromium: median ${medianUs.toFixed(1)} µs per character; screenshot ${SCREENSHOT}`);
});

// Last, so that it sees everything the page did, the favicon request included.
test("the page logs no console errors and throws no page errors", () => {
  assert.deepEqual(pageErrors, []);
});
