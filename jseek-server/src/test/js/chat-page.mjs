// Drives the chat page of two running jseek servers in headless Chromium. Usage:
//   node chat-page.mjs TEST_MODEL_URL EMBEDDED_MODEL_URL SCREENSHOT_DIR
// The first serves a random-weight R1-template model (reasoning, multi-turn), the second jseek's embedded addition
// model (128-token context, a single-turn template). Exit code 0 when every check passes; screenshots at 1280 and
// 390 px go to SCREENSHOT_DIR for review.
import { chromium } from "playwright-core";

const [url, embeddedUrl, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const problems = [];
const report = {};
const check = (ok, what) => { if (!ok) problems.push(what); };

async function open(base, width, height) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  // (The browser logs the 400 of the error step itself; that one is expected.)
  page.on("console", m => {
    if (m.type() === "error" && !m.text().includes("status of 400")) problems.push("console: " + m.text());
  });
  page.on("pageerror", e => problems.push("page error: " + e.message));
  page.on("request", r => { if (!r.url().startsWith(base)) problems.push("external request: " + r.url()); });
  await page.goto(base);
  await page.waitForFunction(() => document.getElementById("model").textContent.length > 0);
  return { page, context };
}

async function setting(page, id, value) {
  if (!(await page.isVisible("#" + id))) await page.click("#settings summary");
  await page.fill("#" + id, value);
}

async function sendAndWait(page, text) {
  const before = await page.locator(".msg.assistant[data-done='true']").count();
  await page.fill("#prompt", text);
  await page.click("#send");
  await page.waitForFunction(n => document.querySelectorAll(".msg.assistant[data-done='true']").length > n, before,
    { timeout: 60000 });
}

try {
  // 1. The embedded model, first message with the page's defaults (its context is 128 tokens).
  {
    const { page, context } = await open(embeddedUrl, 1280, 800);
    check(await page.locator(".note").count() === 1, "no single-turn note for a single-turn template");
    await sendAndWait(page, "47+38+95=");
    const answer = await page.locator(".msg.assistant .answer").last().textContent();
    check(answer.includes("180"), "embedded model's answer: " + answer);
    await sendAndWait(page, "1+2+3=");
    report.embedded = { answer, messages: await page.locator(".msg.user").count() };
    await page.screenshot({ path: shots + "/chat-1280.png" });
    await context.close();
  }
  // 2. The test model: reasoning visible while it streams, stats, markdown, reload, regenerate, edit, new chat, errors.
  {
    const { page, context } = await open(url, 1280, 800);
    await setting(page, "temperature", "0");
    await setting(page, "max_tokens", "40");
    // Whether reasoning text shows (its details open) while the answer streams: watched on every change, since a
    // fast model can finish between two polls.
    await page.evaluate(() => {
      window.sawReasoning = false;
      new MutationObserver(() => {
        const d = document.querySelector(".msg.assistant:not([data-done]) details.reasoning[open] .text");
        if (d && d.textContent.length > 0) window.sawReasoning = true;
      }).observe(document.getElementById("log"), { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.fill("#prompt", "Why is the sky blue?");
    await page.click("#send");
    await page.waitForSelector(".msg.assistant[data-done='true']", { timeout: 60000 });
    report.reasoningWhileStreaming = await page.evaluate(() => window.sawReasoning);
    check(report.reasoningWhileStreaming, "no reasoning shown while streaming");
    const stats = await page.textContent("#stats");
    check(/\d+ tokens, [\d.]+ tokens\/s/.test(stats), "stats: " + stats);
    // Markdown, and nothing a message says becomes markup of its own.
    const md = await page.evaluate(() => {
      const html = window.jseekMarkdown("# Title\n**bold** and `code`\n```js\nif (a < b) {}\n```\n- one\n- two\n"
        + "[link](https://example.org) [bad](javascript:alert(1)) <img src=x onerror=alert(1)> <script>alert(1)</script>");
      const div = document.createElement("div");
      div.innerHTML = html;
      return { html, h1: div.querySelectorAll("h1").length, strong: div.querySelectorAll("strong").length,
        pre: div.querySelectorAll("pre code").length, li: div.querySelectorAll("li").length,
        links: [...div.querySelectorAll("a")].map(a => a.getAttribute("href")),
        img: div.querySelectorAll("img").length, script: div.querySelectorAll("script").length,
        code: div.querySelector("pre code").textContent };
    });
    check(md.h1 === 1 && md.strong === 1 && md.pre === 1 && md.li === 2, "markdown: " + md.html);
    check(md.img === 0 && md.script === 0, "markup from text: " + md.html);
    check(md.links.length === 1 && md.links[0] === "https://example.org", "links: " + md.links);
    check(md.code === "if (a < b) {}", "code block: " + md.code);
    report.markdown = md;
    // A reload keeps the conversation.
    await page.reload();
    await page.waitForSelector(".msg.assistant[data-done='true']");
    check(await page.locator(".msg.user").count() === 1, "after reload: user messages");
    // Regenerate replaces the last answer.
    await page.click(".msg.assistant .actions button.regenerate");
    await page.waitForSelector(".msg.assistant[data-done='true']", { timeout: 60000 });
    check(await page.locator(".msg.assistant").count() === 1, "regenerate: one answer");
    // Edit puts a message back in the box and drops it and what followed.
    await page.click(".msg.user .actions button.edit");
    check((await page.inputValue("#prompt")) === "Why is the sky blue?", "edit: the text is back");
    check(await page.locator(".msg.user").count() === 0, "edit: the message left the log");
    await sendAndWait(page, "Why is the sea blue?");
    // An error is a styled message with a retry, not an empty bubble.
    await setting(page, "max_tokens", "-3");
    await page.fill("#prompt", "again");
    await page.click("#send");
    await page.waitForSelector(".msg.error", { timeout: 30000 });
    check(await page.locator(".msg.assistant:not([data-done])").count() === 0, "an empty bubble after an error");
    report.error = await page.textContent(".msg.error");
    await setting(page, "max_tokens", "40");
    // A new chat starts empty; the list keeps both.
    await page.click("#new");
    check(await page.locator(".msg.user").count() === 0, "new chat: empty");
    check(await page.locator("#chats li").count() === 2, "chat list: " + await page.locator("#chats li").count());
    await page.click("#chats li:nth-child(2) button.open");
    check(await page.locator(".msg.user").count() >= 1, "the old chat reopens");
    await context.close();
  }
  // 3. A phone-sized screen: the menu folds the sidebar away, and the page still works.
  {
    const { page, context } = await open(url, 390, 844);
    check(await page.isVisible("#menu"), "no menu button at 390 px");
    check(!(await page.isVisible("aside")), "the sidebar shows at 390 px without the menu");
    await page.fill("#prompt", "Hi");
    await page.evaluate(() => { localStorage.setItem("jseek.max_tokens", "12"); document.getElementById("max_tokens").value = "12"; });
    await page.click("#send");
    await page.waitForSelector(".msg.assistant[data-done='true']", { timeout: 60000 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    check(!overflow, "horizontal overflow at 390 px");
    await page.screenshot({ path: shots + "/chat-390.png" });
    await page.click("#menu");
    check(await page.isVisible("aside"), "the menu does not open the sidebar");
    await page.screenshot({ path: shots + "/chat-390-menu.png" });
    await context.close();
  }
  report.done = "true";
  console.log(JSON.stringify(report));
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
