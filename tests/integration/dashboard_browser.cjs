// Drives Debian's headless chromium through puppeteer-core against a running coinpipe: prints one
// JSON line of what the page shows, for tests/integration/dashboard_browser.sh to compare with
// the store. Usage: node dashboard_browser.cjs URL SCREENSHOT_DIR EXCHANGE SYMBOL
// SPDX-License-Identifier: MIT
"use strict";
const path = require("path");
const fs = require("fs");
const os = require("os");
const puppeteer = require(path.join(process.env.COINPIPE_SRC, "tests/services/node_modules/puppeteer-core"));

const [url, shots, exchange, symbol] = process.argv.slice(2);
const sleep = ms => new Promise(r => setTimeout(r, ms));

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "coinpipe-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--user-data-dir=" + profile],
  });
  const out = {requests: [], errors: []};
  try {
    const page = await browser.newPage();
    await page.setViewport({width: 1280, height: 900});
    page.on("request", r => out.requests.push(r.url()));
    page.on("pageerror", e => out.errors.push(String(e)));
    page.on("console", m => { if (m.type() === "error") out.errors.push(m.text()); });
    const t0 = Date.now();
    await page.goto(url, {waitUntil: "load"});
    await page.waitForSelector("body[data-ready='1']", {timeout: 10000});
    const sel = `#market-table tr[data-exchange='${exchange}'][data-symbol='${symbol}']`;
    await page.waitForSelector(sel, {timeout: 10000});
    out.interactive_ms = Date.now() - t0;
    await page.evaluate(() => { window.__noReload = 1; });
    const row = () => page.$eval(sel, tr => ({last: tr.dataset.last, ts: Number(tr.dataset.ts),
                                              text: tr.querySelector(".last").textContent}));
    out.first = await row();
    await page.waitForSelector("#alert-table tr.alert", {timeout: 10000}).catch(() => {});
    out.alerts = await page.$$eval("#alert-table tr.alert", trs => trs.map(t => t.dataset.rule + " " + t.children[2].textContent));
    await page.screenshot({path: path.join(shots, "dashboard-markets.png")});
    // live: the row's newest time moves without a reload
    const until = Date.now() + 8000;
    out.live = null;
    while (Date.now() < until) {
      await sleep(250);
      const r = await row();
      if (r.ts > out.first.ts) { out.live = r; break; }
    }
    out.still_same_page = await page.evaluate(() => window.__noReload === 1);
    out.live_rows = await page.evaluate(() => Number(document.body.dataset.liveRows || 0));
    // the symbol view: candles as stored, statistics, book, trades
    await page.click(sel);
    await page.waitForFunction(() => Number((document.querySelector("#chart") || {dataset: {}}).dataset.candles) > 0,
                               {timeout: 10000});
    await sleep(1500); // indicator overlays and trades arrive after the candles
    out.candles = Number(await page.$eval("#chart", e => e.dataset.candles));
    out.stats = await page.$$eval("#stats tr", trs => trs.map(t => t.textContent));
    out.book = await page.$$eval("#book tr", trs => trs.map(t => t.textContent));
    out.trades = await page.$$eval("#trades tbody tr", trs => trs.length);
    out.lower_chart = await page.$eval("#chart-lower", e => !e.hidden);
    await page.screenshot({path: path.join(shots, "dashboard-symbol.png")});
    await page.evaluate(() => { location.hash = "#/health"; });
    await page.waitForSelector("#pipelines tbody tr", {timeout: 10000});
    out.health = await page.$$eval("#pipelines tbody tr", trs => trs.map(t => t.textContent));
    await page.screenshot({path: path.join(shots, "dashboard-health.png")});
  } catch (e) {
    out.errors.push("driver: " + e.message);
  } finally {
    await browser.close();
    fs.rmSync(profile, {recursive: true, force: true});
  }
  console.log(JSON.stringify(out));
})();
