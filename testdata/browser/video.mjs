// Plain <video> playback check for the live .mp4 and the status page's
// player (fmp4_test.go runs it). No player library: the browser's own
// demuxer plays the URL.
//
//   node video.mjs [--seconds 10] [--timeout 30] URL...
//       for each URL, a page on its own loopback origin plays
//       <video src=URL muted autoplay> (cross-origin, as a page embedding
//       a stream would)
//   node video.mjs [--seconds 10] --status http://127.0.0.1:8000/
//       opens the status page, clicks the first "watch" button and
//       watches the <video> it shows
//   node video.mjs --screenshot out.png http://127.0.0.1:8000/
//       a 1280x800 screenshot of the status page (after a click on
//       "watch"), and whether the page scrolls horizontally
//
// From the first decoded frame on it watches for --seconds and prints one
// JSON object per case: currentTime and decoded frames at the start and
// the end of the window, the video size and any error. The Go test
// decides what passes.
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const args = process.argv.slice(2);
function option(name, def) {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const [v] = args.splice(i, 2).slice(1);
  return v;
}
const seconds = Number(option("--seconds", "10"));
const timeoutMs = Number(option("--timeout", "30")) * 1000;
const status = option("--status", "");
const screenshot = option("--screenshot", "");
const urls = args;

// watch runs in the page: waits for the first decoded frame of v, then
// samples for the window.
const watch = ([sel, seconds, timeoutMs]) => new Promise((resolve) => {
  const t0 = performance.now();
  let start = null;
  const frames = (v) => v.getVideoPlaybackQuality().totalVideoFrames;
  const iv = setInterval(() => {
    const v = document.querySelector(sel);
    const now = performance.now();
    if (!v) {
      if (now - t0 > timeoutMs) { clearInterval(iv); resolve({ error: "no video element" }); }
      return;
    }
    if (!start && frames(v) > 0) start = { t: now, time: v.currentTime, frames: frames(v) };
    const done = start ? now - start.t >= seconds * 1000 : now - t0 > timeoutMs;
    if (done || v.error) {
      clearInterval(iv);
      resolve({ src: v.currentSrc, startTime: start ? start.time : -1, startFrames: start ? start.frames : 0,
                endTime: v.currentTime, endFrames: frames(v), width: v.videoWidth, height: v.videoHeight,
                waitedMs: Math.round((start ? start.t : now) - t0),
                mediaError: v.error ? v.error.code + " " + v.error.message : "" });
    }
  }, 100);
});

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "rtmphub-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required"],
});

async function openTab(url) {
  const tab = await context.newPage();
  const consoleLines = [];
  tab.on("console", (m) => { if (m.type() === "error") consoleLines.push(m.text()); });
  tab.on("pageerror", (e) => consoleLines.push("pageerror: " + e.message));
  await tab.goto(url);
  return { tab, consoleLines };
}

// A page of our own origin holding the <video>.
const srv = http.createServer((req, res) => {
  const src = new URL(req.url, "http://x").searchParams.get("src") || "";
  res.setHeader("Content-Type", "text/html");
  res.end(`<!doctype html><meta charset=utf-8><title>rtmphub video check</title>
<video id=v muted autoplay playsinline width=320 src="${src.replace(/"/g, "&quot;")}"></video>`);
});
await new Promise((r) => srv.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${srv.address().port}/`;

let ok = true;
try {
  if (screenshot) {
    const { tab, consoleLines } = await openTab(urls[0]);
    await tab.click("text=watch");
    await tab.waitForTimeout(3000);
    await tab.screenshot({ path: screenshot });
    const scroll = await tab.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    console.log(JSON.stringify({ screenshot, horizontalOverflow: scroll, console: consoleLines }));
  } else if (status) {
    const { tab, consoleLines } = await openTab(status);
    await tab.click("text=watch");
    const r = await tab.evaluate(watch, ["video", seconds, timeoutMs]);
    const scroll = await tab.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    Object.assign(r, { url: status, horizontalOverflow: scroll, console: consoleLines });
    console.log(JSON.stringify(r));
  } else {
    for (const url of urls) {
      const { tab, consoleLines } = await openTab(origin + "?src=" + encodeURIComponent(url));
      const r = await tab.evaluate(watch, ["#v", seconds, timeoutMs]);
      Object.assign(r, { url, pageOrigin: origin, console: consoleLines });
      console.log(JSON.stringify(r));
      await tab.close();
    }
  }
} catch (e) {
  console.error(e);
  ok = false;
} finally {
  await context.close();
  srv.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
