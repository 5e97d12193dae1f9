// Browser playback check for HLS (hls_browser_test.go runs it).
//
//   node hlsplay.mjs [--modes native,hls.js] [--seconds 10] http://127.0.0.1:8000/live/cam.m3u8
//
// Serves a page from its own loopback origin, so that every HLS request is
// cross-origin. For each mode it plays the URL in a <video> for --seconds:
// "native" sets video.src to the playlist (Chromium's own HLS player, when
// canPlayType('application/vnd.apple.mpegurl') says so); "hls.js" attaches
// hls.js 1.7 with lowLatencyMode (and maxLiveSyncPlaybackRate 1.5: it may play
// up to 1.5x to catch up with its target latency). It prints one JSON object per mode:
// canPlayType, currentTime advance since the first frame, frames decoded,
// the picture size, errors, and for hls.js its live latency (hls.latency)
// and whether it saw the playlist as Low-Latency (details.partList).
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
const modes = option("--modes", "native,hls.js").split(",");
const seconds = Number(option("--seconds", "10"));
const [url] = args;

const page = `<!doctype html><meta charset=utf-8><title>rtmphub hls check</title>
<video id=v muted autoplay playsinline width=320></video>
<script src="/hls.js"></script>
<script>
window.play = (mode, url, seconds) => new Promise((resolve) => {
  const old = document.getElementById("v");
  const v = old.cloneNode(); old.replaceWith(v);
  const errors = [];
  const canPlay = v.canPlayType("application/vnd.apple.mpegurl");
  let hls = null, lowLatency = false;
  if (mode === "native") {
    v.src = url;
  } else {
    // a low-latency page lets hls.js catch up with the live edge
    hls = new Hls({ lowLatencyMode: true, maxLiveSyncPlaybackRate: 1.5 });
    hls.on(Hls.Events.ERROR, (e, d) => { if (d.fatal) errors.push(d.type + " " + d.details); });
    hls.on(Hls.Events.LEVEL_UPDATED, (e, d) => { lowLatency = lowLatency || !!(d.details.partList && d.details.partList.length); });
    hls.loadSource(url);
    hls.attachMedia(v);
  }
  v.addEventListener("error", () => errors.push("video error " + (v.error && v.error.code)));
  v.play().catch((e) => errors.push("play(): " + e.message));
  const t0 = performance.now();
  let first = -1, latencies = [];
  const iv = setInterval(() => {
    const frames = v.getVideoPlaybackQuality().totalVideoFrames;
    if (first < 0 && frames > 0) first = v.currentTime;
    if (hls && first >= 0 && hls.latency) latencies.push(hls.latency);
    const elapsed = performance.now() - t0;
    if (elapsed > seconds * 1000 || errors.length > 0) {
      clearInterval(iv);
      const tail = latencies.slice(-10);
      const r = { mode, url, canPlay, startTime: first, currentTime: v.currentTime,
                  advanced: first < 0 ? 0 : v.currentTime - first, frames,
                  width: v.videoWidth, height: v.videoHeight, errors, lowLatency,
                  latency: tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : -1,
                  mediaError: v.error ? v.error.code + " " + v.error.message : "" };
      if (hls) hls.destroy(); else { v.removeAttribute("src"); v.load(); }
      resolve(r);
    }
  }, 200);
});
</script>`;

const srv = http.createServer((req, res) => {
  if (req.url === "/hls.js") {
    res.setHeader("Content-Type", "text/javascript");
    fs.createReadStream(require.resolve("hls.js/dist/hls.js")).pipe(res);
    return;
  }
  res.setHeader("Content-Type", "text/html");
  res.end(page);
});
await new Promise((r) => srv.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${srv.address().port}/`;

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "rtmphub-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required", ...(process.env.HLSPLAY_LOG ? ["--enable-logging=stderr", "--vmodule=*hls*=3,*manifest*=3,*mp4*=3,*media*=1"] : [])],
});
let ok = true;
try {
  const tab = await context.newPage();
  await tab.goto(origin);
  for (const mode of modes) {
    const r = await tab.evaluate(([m, u, s]) => window.play(m, u, s), [mode, url, seconds]);
    r.pageOrigin = origin;
    console.log(JSON.stringify(r));
    ok = ok && r.errors.length === 0 && r.advanced > 0;
  }
} finally {
  await context.close();
  srv.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
