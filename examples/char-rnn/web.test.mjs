// The web demo in headless Chromium, driven as a person would use it: type a
// prompt, tick "Greedy", press Generate, read the streamed text. Greedy text must
// equal PyTorch's (expected.json), and so must the page's default sampled run
// (seed 42), of which a screenshot is taken: to the temporary directory, or to
// examples/char-rnn/screenshot.png (the README's) with UPDATE_SCREENSHOT=1, so
// a test run leaves the working tree as it was. The page is served cross-origin
// isolated (threads: "auto" takes a thread per core) and, for the last tests,
// without COOP/COEP (one thread, the page shows why; the text stays PyTorch's).
//
//   node --test examples/char-rnn/web.test.mjs       (needs Debian's chromium)
//   UPDATE_SCREENSHOT=1 node --test examples/char-rnn/web.test.mjs
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { serveStatic, startDemo } from "./serve.mjs";
import { DIST } from "./build-web.mjs";
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

/**
 * Fills the form, presses Generate and waits for the page to finish; returns the text and median µs.
 * On the isolated page unless `demo` (what openDemoPage resolves to) names another.
 */
async function run({ prompt, length, greedy, temperature = 0.8 }, demo = { page, log: pageLog }) {
  await demo.page.fill("#prompt", prompt);
  await demo.page.fill("#length", String(length));
  await demo.page.setChecked("#greedy", greedy);
  if (!greedy) await demo.page.fill("#temperature", String(temperature));
  await demo.page.click("#generate");
  try {
    await demo.page.waitForSelector('#output[data-state="done"]', { timeout: 60_000 });
  } catch (error) {
    const shown = await demo.page.textContent("#output");
    throw new Error(`${error.message}\npage shows: ${shown}\n${demo.log.join("\n")}`);
  }
  return demo.page.evaluate(() => ({
    text: document.getElementById("generated").textContent,
    medianUs: Number(document.getElementById("output").dataset.medianUs),
  }));
}

test("the page loads a kernel and shows its backend", async () => {
  const backend = await page.textContent("#backend");
  assert.match(backend, /^(relaxed|simd|scalar)$/);
});

test('served with COOP/COEP, the page is cross-origin isolated and "auto" takes a thread per core', async (t) => {
  const { isolated, cores } = await page.evaluate(() => ({
    isolated: crossOriginIsolated,
    cores: navigator.hardwareConcurrency,
  }));
  assert.equal(isolated, true);
  const expected = Math.min(cores, 8);
  assert.ok(expected > 1, `this machine reports ${cores} core(s): no threads to show`);
  assert.equal(await page.textContent("#threads"), String(expected));
  assert.equal(await page.textContent("#threads-note"), "");
  t.diagnostic(`chromium: ${cores} cores, ${expected} threads`);
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

test("without COOP/COEP the same page runs on one thread, says why, and still writes PyTorch's text", async (t) => {
  const plain = await openDemoPage((port) => serveStatic(DIST, port, { isolated: false }), "#generate:not([disabled])");
  try {
    assert.equal(await plain.page.evaluate(() => crossOriginIsolated), false);
    assert.equal(await plain.page.textContent("#threads"), "1");
    const note = await plain.page.textContent("#threads-note");
    assert.match(note, /crossOriginIsolated/);
    const [sample] = expected.samples;
    const { text } = await run({ prompt: sample.prompt, length: sample.length, greedy: true }, plain);
    assert.equal(text, sample.greedy);
    assert.deepEqual(plain.errors, []);
    t.diagnostic(`chromium, not isolated: ${note}`);
  } finally {
    await plain.close();
  }
});
