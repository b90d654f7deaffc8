// Opens a demo page in headless Chromium for the demos' tests (this one's and
// ../char-train's) and records what the page says: every console message and
// uncaught error (for failure messages), and the errors alone (which a test
// asserts are none). Console errors include the browser's own, such as "Failed
// to load resource" for a 404.
import { launch } from "../../tests/runtimes/lib/chromium.mjs";

/**
 * Builds and serves the demo with `startDemo`, opens it and waits for `ready` (a
 * selector). Resolves to `{ page, log, errors, close() }`; `pageOptions` go to
 * browser.newPage (viewport, acceptDownloads…).
 */
export async function openDemoPage(startDemo, ready, pageOptions) {
  const server = await startDemo(0);
  const browser = await launch();
  const page = await browser.newPage(pageOptions);
  const log = [];
  const errors = [];
  page.on("console", (m) => {
    const line = `console.${m.type()}: ${m.text()} (${m.location().url || "no url"})`;
    log.push(line);
    if (m.type() === "error") errors.push(line);
  });
  page.on("pageerror", (e) => {
    log.push(`page error: ${e.message}`);
    errors.push(`page error: ${e.message}`);
  });
  const close = async () => {
    await browser.close();
    await server.close();
  };
  try {
    await page.goto(server.url);
    await page.waitForSelector(ready, { timeout: 30_000 });
  } catch (error) {
    await close();
    throw new Error(`${error.message}\n${log.join("\n")}`);
  }
  return { page, log, errors, close };
}
