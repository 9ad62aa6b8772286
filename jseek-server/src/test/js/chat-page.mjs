// Opens the chat page of a running jseek server in headless Chromium, sends a message and waits for the
// streamed answer. Usage: node chat-page.mjs URL. Exit code 0 when every check passes.
import { chromium } from "playwright-core";

const url = process.argv[2];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const problems = [];
try {
  const page = await browser.newPage();
  page.on("console", m => { if (m.type() === "error") problems.push("console: " + m.text()); });
  page.on("pageerror", e => problems.push("page error: " + e.message));
  page.on("request", r => { if (!r.url().startsWith(url)) problems.push("external request: " + r.url()); });
  await page.goto(url);
  await page.fill("#max_tokens", "24");
  await page.fill("#temperature", "0"); // greedy: the same answer every run
  await page.fill("#prompt", "Why is the sky blue?");
  await page.click("#send");
  await page.waitForSelector(".assistant[data-done]", { timeout: 30000 });
  const done = await page.getAttribute(".assistant", "data-done");
  const reasoning = await page.textContent("details.reasoning .text");
  const stats = await page.textContent("#stats");
  const model = await page.textContent("#model");
  if (done !== "true") problems.push("answer ended as " + done);
  if (!reasoning || reasoning.length === 0) problems.push("no streamed reasoning");
  if (!/\d+ tokens, [\d.]+ tokens\/s/.test(stats)) problems.push("stats: " + stats);
  if (model !== "test-model") problems.push("model: " + model);
  console.log(JSON.stringify({ done, reasoningChars: reasoning.length, stats, model }));
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
