// Browser check (issue: HTTP-FLV / WS-FLV in headless Chromium).
//
//   npm install playwright-core mpegts.js flv.js   (in this folder or above)
//   node play.mjs http://127.0.0.1:8000/live/cam.flv ws://127.0.0.1:8000/live/cam.flv
//
// Serves a page from a second loopback origin (127.0.0.1:<random>), plays
// each URL with mpegts.js and with flv.js, and reports whether the video
// element's time advanced and frames were decoded. Exit 0 when all passed.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");
const libs = {
  "/mpegts.js": require.resolve("mpegts.js/dist/mpegts.js"),
  "/flv.js": require.resolve("flv.js/dist/flv.js"),
};

const page = `<!doctype html><meta charset=utf-8><video id=v muted autoplay playsinline></video>
<script src="/mpegts.js"></script><script src="/flv.js"></script>
<script>
window.play = (lib, url) => new Promise((resolve) => {
  const v = document.getElementById("v");
  const L = lib === "flv.js" ? flvjs : mpegts;
  const isLive = true, type = "flv";
  const p = L.createPlayer({ type, isLive, url, hasAudio: true, hasVideo: true },
                           { enableStashBuffer: false });
  const errors = [];
  p.on(L.Events.ERROR, (a, b, c) => errors.push(String(a) + " " + String(b)));
  p.attachMediaElement(v); p.load(); v.play().catch(() => {});
  const t0 = performance.now();
  const iv = setInterval(() => {
    const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : -1;
    if ((v.currentTime > 1.0 && q > 10) || performance.now() - t0 > 12000) {
      clearInterval(iv);
      const r = { lib, url, currentTime: v.currentTime, frames: q, w: v.videoWidth, h: v.videoHeight, errors };
      p.destroy(); resolve(r);
    }
  }, 200);
});
</script>`;

const srv = http.createServer((req, res) => {
  if (libs[req.url]) { res.setHeader("Content-Type", "text/javascript"); fs.createReadStream(libs[req.url]).pipe(res); return; }
  res.setHeader("Content-Type", "text/html"); res.end(page);
});
await new Promise((r) => srv.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${srv.address().port}/`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required"],
});
let ok = true;
try {
  const tab = await browser.newPage();
  await tab.goto(origin);
  for (const url of process.argv.slice(2)) {
    for (const lib of ["mpegts.js", "flv.js"]) {
      const r = await tab.evaluate(([l, u]) => window.play(l, u), [lib, url]);
      const pass = r.currentTime > 1.0 && r.frames > 10;
      ok = ok && pass;
      console.log(`${pass ? "PASS" : "FAIL"} ${lib} ${url} time=${r.currentTime.toFixed(2)} frames=${r.frames} ${r.w}x${r.h} ${r.errors.join("; ")}`);
    }
  }
} finally {
  await browser.close(); srv.close();
}
process.exit(ok ? 0 : 1);
