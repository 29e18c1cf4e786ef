// Drives the validator's dashboard in headless Chromium (playwright-core, Debian's chromium)
// against a running validator; scripts/dashboard-browser-test.sh starts the localnet and calls
// this with:
//   DASHBOARD_URL       the validator's API, e.g. http://127.0.0.1:40123
//   PLAYWRIGHT_CORE     the playwright-core folder to require
//   SCREENSHOT_DIR      where wide.png and narrow.png go
//   EXPECT_EXTERNAL     1 when an external request was made (its table must have rows)
//   WAIT_WEIGHTS        1: also wait until weights with a non-zero share are in force (the
//                       first 256-response batch moved the scores and the window came)
//   DATA_WAIT_S         seconds to wait for that history (default 150)
//   CHROMIUM            the browser (default /usr/bin/chromium)
// Exits 0 when every check passed, 1 with the failures listed otherwise.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");

const url = process.env.DASHBOARD_URL;
const shots = process.env.SCREENSHOT_DIR || "target/dashboard-screenshots";
const expectExternal = process.env.EXPECT_EXTERNAL === "1";
const waitWeights = process.env.WAIT_WEIGHTS === "1";
const dataWait = Number(process.env.DATA_WAIT_S || 150);
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");

const failures = [];
function check(ok, what) {
  console.log((ok ? "ok    " : "FAIL  ") + what);
  if (!ok) failures.push(what);
}
const sleep = ms => new Promise(r => setTimeout(r, ms));

async function json(p) {
  const res = await fetch(url + p);
  if (!res.ok) throw new Error(p + ": HTTP " + res.status);
  return res.json();
}

// Waits (up to DATA_WAIT_S) until the validator has history enough to draw: logged requests,
// a series with at least two points for some miner, and (WAIT_WEIGHTS) a weight share.
async function waitForData() {
  const deadline = Date.now() + dataWait * 1000;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const s = await json("/dashboard/summary");
      const series = await json("/dashboard/miners/series");
      const ext = await json("/external");
      const points = Math.max(0, ...series.miners.map(m => m.points.length));
      const shared = s.miners.some(m => m.weight_share_pct > 0);
      last = `logged ${s.logged_requests}, most points ${points}, external ${ext.length}, ` +
        `batch ${s.batch.in_batch}/${s.batch.size} (${s.batch.batches} done), weights ${shared}`;
      if (s.logged_requests >= 8 && points >= 2 && (!expectExternal || ext.length > 0) &&
          (!waitWeights || shared)) {
        console.log("data ready: " + last);
        return;
      }
    } catch (e) {
      last = String(e);
    }
    await sleep(1000);
  }
  throw new Error(`the validator has no history to draw after ${dataWait} s (${last})`);
}

async function main() {
  if (!url) throw new Error("DASHBOARD_URL is not set");
  await waitForData();
  fs.mkdirSync(shots, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "dashboard-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const consoleErrors = [];
  const failedRequests = [];
  const offOrigin = [];
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.on("console", m => {
      if (m.type() === "error") consoleErrors.push(m.text() + " at " + (m.location().url || "?"));
    });
    page.on("pageerror", e => consoleErrors.push("page error: " + e.message));
    page.on("requestfailed", r => failedRequests.push(r.url() + " " + (r.failure() || {}).errorText));
    page.on("request", r => { if (!r.url().startsWith(url)) offOrigin.push(r.url()); });
    page.on("response", r => { if (r.status() >= 400) failedRequests.push(r.url() + " HTTP " + r.status()); });

    await page.goto(url + "/", { waitUntil: "load" });
    // Every part filled once: charts drawn with lines, tables with rows.
    await page.waitForFunction(() => {
      const n = s => document.querySelectorAll(s).length;
      return n("#chart-response path.series") > 0 && n("#miner-rows tr") > 0 &&
        n("#circuit-rows tr") > 0 && n("#req-rows tr") > 0 &&
        document.getElementById("t-block").textContent !== "–";
    }, null, { timeout: 30_000 });
    if (expectExternal) {
      await page.waitForFunction(() => document.querySelectorAll("#ext-rows tr").length > 0,
        null, { timeout: 15_000 });
    }

    const seen = await page.evaluate(() => {
      const all = s => Array.from(document.querySelectorAll(s));
      const pathPoints = id => all(`#${id} path.series`).map(p => Number(p.dataset.points));
      return {
        charts: Object.fromEntries(["chart-response", "chart-verified", "chart-score",
          "chart-weight"].map(id => [id, pathPoints(id)])),
        circles: all("#chart-response circle").length,
        minerRows: all("#miner-rows tr").length,
        weightCells: all("#miner-rows td.weight-share").map(td => td.textContent),
        circuitRows: all("#circuit-rows tr").length,
        requestRows: all("#req-rows tr").length,
        externalRows: all("#ext-rows tr").length,
        tiles: Object.fromEntries(["t-block", "t-conn", "t-mode", "t-weights", "t-batch"]
          .map(id => [id, document.getElementById(id).textContent])),
        errors: all(".error").map(e => e.textContent).filter(t => t.trim() !== ""),
      };
    });
    console.log(JSON.stringify(seen));
    for (const id of ["chart-response", "chart-verified", "chart-score"]) {
      check(seen.charts[id].some(n => n > 0), `${id}: a miner line with points (${seen.charts[id]})`);
    }
    check(seen.charts["chart-response"].some(n => n >= 2), "some response-time line has 2+ points");
    check(seen.minerRows >= 3, `miners table has rows (${seen.minerRows})`);
    if (waitWeights) {
      check(seen.charts["chart-weight"].some(n => n > 0),
        `weight share chart has lines (${seen.charts["chart-weight"]})`);
      check(seen.weightCells.some(t => parseFloat(t) > 0), "some miner holds a weight share");
    }
    check(seen.weightCells.length === seen.minerRows &&
      seen.weightCells.every(t => /^\d+(\.\d+)? %$/.test(t)),
      `weights shown as percent (${seen.weightCells.join(", ")})`);
    check(seen.circuitRows > 0, `circuits table has rows (${seen.circuitRows})`);
    check(seen.requestRows > 0, `recent requests table has rows (${seen.requestRows})`);
    if (expectExternal) check(seen.externalRows > 0, `external requests listed (${seen.externalRows})`);
    check(/^\d+$/.test(seen.tiles["t-block"]), `block tile (${seen.tiles["t-block"]})`);
    check(["ok", "lagging", "stalled"].includes(seen.tiles["t-conn"]),
      `connection tile (${seen.tiles["t-conn"]})`);
    check(/^(direct|commit-reveal v\d)/.test(seen.tiles["t-mode"]), `weights mode tile (${seen.tiles["t-mode"]})`);
    check(/^\d+ \/ 256$/.test(seen.tiles["t-batch"]), `score batch progress (${seen.tiles["t-batch"]})`);
    check(seen.errors.length === 0, `no error banners (${seen.errors.join(" | ")})`);

    // The failures filter lists only requests that did not verify.
    await page.check("#failed-only");
    await sleep(1500);
    const statuses = await page.$$eval("#req-rows tr td:nth-child(8)", tds => tds.map(t => t.textContent));
    check(statuses.every(s => s !== "verified"), `failures only: ${statuses.length} rows, none verified`);
    await page.uncheck("#failed-only");

    await page.screenshot({ path: path.join(shots, "wide.png"), fullPage: true });

    // A phone: nothing may stick out of the page sideways; tables scroll inside their box.
    await page.setViewportSize({ width: 390, height: 844 });
    await sleep(1500);
    const narrow = await page.evaluate(() => {
      const svgs = Array.from(document.querySelectorAll(".chart svg"))
        .map(s => Math.round(s.getBoundingClientRect().width));
      return {
        inner: window.innerWidth,
        doc: document.documentElement.scrollWidth,
        body: document.body.scrollWidth,
        svgs,
        scrollers: Array.from(document.querySelectorAll(".scroll"))
          .filter(s => s.scrollWidth > s.clientWidth).length,
      };
    });
    console.log(JSON.stringify(narrow));
    check(narrow.doc <= narrow.inner && narrow.body <= narrow.inner,
      `390 px: no horizontal overflow (document ${narrow.doc}, body ${narrow.body}, window ${narrow.inner})`);
    check(narrow.svgs.length === 4 && narrow.svgs.every(w => w > 100 && w <= narrow.inner),
      `390 px: charts resized to the screen (${narrow.svgs})`);
    check(narrow.scrollers > 0, `390 px: wide tables scroll inside their box (${narrow.scrollers})`);
    await page.screenshot({ path: path.join(shots, "narrow.png"), fullPage: true });

    check(consoleErrors.length === 0, `no console errors (${consoleErrors.join(" | ")})`);
    check(failedRequests.length === 0, `no failed requests (${failedRequests.join(" | ")})`);
    check(offOrigin.length === 0, `nothing fetched from elsewhere (${offOrigin.join(" | ")})`);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(
  () => {
    if (failures.length) {
      console.error(`dashboard browser test: ${failures.length} check(s) failed`);
      process.exit(1);
    }
    console.log("dashboard browser test: all checks passed");
  },
  e => {
    console.error("dashboard browser test: " + (e && e.stack ? e.stack : e));
    process.exit(1);
  },
);
