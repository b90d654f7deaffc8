// Headless Debian Chromium driven by playwright-core (which cannot download
// browsers here). The flags keep Chromium from reaching for the network.
import { execFileSync } from "node:child_process";
import { chromium } from "playwright-core";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * V8 has no switch for wasm SIMD any more, but it only offers SIMD on x64 CPUs
 * with SSE4.1; pretending the CPU lacks it makes the SIMD probes fail the way
 * they do on such machines.
 */
export const NO_SIMD = ["--js-flags=--no-enable-sse4-1"];

function executable() {
  try {
    return execFileSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("no `chromium` on PATH: install Debian's (apt-get install -y chromium)");
  }
}

export function launch(extraArgs = []) {
  return chromium.launch({ executablePath: executable(), args: [...FLAGS, ...extraArgs] });
}

/**
 * Opens `url` in a fresh context and resolves to what the page's `window.result`
 * promise resolves to; rejects with its error, and the page's console, otherwise.
 */
export async function runPage(browser, url, timeout = 60_000) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const log = [];
  page.on("console", (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => log.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  try {
    await page.goto(url);
    await page.waitForFunction(() => "result" in window, null, { timeout });
    return await page.evaluate(() => /** @type {any} */ (window).result);
  } catch (error) {
    throw new Error(`${url}: ${error.message}${log.length ? `\n  ${log.join("\n  ")}` : ""}`);
  } finally {
    await context.close();
  }
}
