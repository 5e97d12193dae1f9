// Browser playback check for HTTP-FLV and WS-FLV (browser_test.go runs it).
//
//   npm ci                      (in this folder: playwright-core, mpegts.js, flv.js)
//   node play.mjs [--libs mpegts.js,flv.js] [--configs live,default] [--timeout 15]
//                 [--advance 1] [--parallel] [--insecure] http://127.0.0.1:8000/live/cam.flv ws://127.0.0.1:8000/live/cam.flv
//
// Serves a page from its own loopback origin (127.0.0.1:<another port>), so
// that every HTTP-FLV request is cross-origin and needs the server's CORS
// headers. For each URL, library and player configuration it creates a
// player on a <video>, and passes when, within the timeout, the element's
// currentTime has advanced by more than one second (--advance) since playback began and
// getVideoPlaybackQuality().totalVideoFrames > 0. It prints one JSON object
// per case on stdout and exits 0 only when every case passed. With
// --parallel every case plays at once, each in its own tab (for players
// that connect before the publisher starts). --insecure accepts the
// server's certificate whatever it is (https:// and wss:// URLs of a test
// server with a self-signed one).
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
const libsWanted = option("--libs", "mpegts.js,flv.js").split(",");
const configsWanted = option("--configs", "live,default").split(",");
const timeoutMs = Number(option("--timeout", "15")) * 1000;
const advanceWanted = Number(option("--advance", "1"));
const parallelAt = args.indexOf("--parallel");
const parallel = parallelAt >= 0;
if (parallel) args.splice(parallelAt, 1);
const insecureAt = args.indexOf("--insecure");
const insecure = insecureAt >= 0;
if (insecure) args.splice(insecureAt, 1);
const urls = args;

const libFiles = {
  "/mpegts.js": require.resolve("mpegts.js/dist/mpegts.js"),
  "/flv.js": require.resolve("flv.js/dist/flv.js"),
};

// Player configurations: "live" is what a low-latency page uses; "default"
// leaves every option of the library at its default (stash buffer on);
// "worker" demuxes in a Web Worker.
const configs = {
  live: { enableStashBuffer: false, liveBufferLatencyChasing: true },
  default: {},
  worker: { enableWorker: true },
};

const page = `<!doctype html><meta charset=utf-8><title>rtmphub play check</title>
<video id=v muted autoplay playsinline width=320></video>
<script src="/mpegts.js"></script><script src="/flv.js"></script>
<script>
window.play = (lib, url, config, timeoutMs, advanceWanted) => new Promise((resolve) => {
  const old = document.getElementById("v");
  const v = old.cloneNode(); old.replaceWith(v); // a fresh element per case
  const L = lib === "flv.js" ? flvjs : mpegts;
  const crossOrigin = new URL(url, location.href).host !== location.host;
  const errors = [];
  const p = L.createPlayer({ type: "flv", isLive: true, url }, config);
  p.on(L.Events.ERROR, (type, detail, info) =>
    errors.push([type, detail, info && (info.msg || info.code)].join(" ")));
  p.attachMediaElement(v);
  p.load();
  v.play().catch((e) => errors.push("play(): " + e.message));
  const t0 = performance.now();
  let first = -1; // currentTime when the first frame was shown
  const iv = setInterval(() => {
    const frames = v.getVideoPlaybackQuality().totalVideoFrames;
    if (first < 0 && frames > 0) first = v.currentTime;
    const advanced = first < 0 ? 0 : v.currentTime - first;
    const elapsed = performance.now() - t0;
    if ((advanced > advanceWanted && frames > 0) || elapsed > timeoutMs || errors.length > 0) {
      clearInterval(iv);
      const r = { lib, url, crossOrigin, startTime: first, currentTime: v.currentTime, advanced,
                  frames, dropped: v.getVideoPlaybackQuality().droppedVideoFrames,
                  width: v.videoWidth, height: v.videoHeight, elapsedMs: Math.round(elapsed),
                  readyState: v.readyState,
                  buffered: Array.from({ length: v.buffered.length }, (_, i) => [v.buffered.start(i), v.buffered.end(i)]),
                  mediaError: v.error ? v.error.code + " " + v.error.message : "", errors };
      p.destroy();
      resolve(r);
    }
  }, 100);
});
</script>`;

const srv = http.createServer((req, res) => {
  const file = libFiles[req.url];
  if (file) {
    res.setHeader("Content-Type", "text/javascript");
    fs.createReadStream(file).pipe(res);
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
         "--autoplay-policy=no-user-gesture-required", ...(insecure ? ["--ignore-certificate-errors"] : [])],
});
// runCase plays one case in the given tab and returns its result.
async function runCase(tab, consoleLines, url, lib, cfgName) {
  consoleLines.length = 0;
  const r = await tab.evaluate(([l, u, c, t, a]) => window.play(l, u, c, t, a),
                               [lib, url, configs[cfgName], timeoutMs, advanceWanted]);
  r.config = cfgName;
  r.pageOrigin = origin;
  r.console = consoleLines.slice();
  r.pass = r.crossOrigin && r.advanced > advanceWanted && r.frames > 0 && r.errors.length === 0 &&
           r.mediaError === "" && r.console.length === 0;
  console.log(JSON.stringify(r));
  return r.pass;
}

// openTab loads the page in a new tab, collecting its console errors.
async function openTab() {
  const tab = await context.newPage();
  const consoleLines = [];
  tab.on("console", (m) => { if (m.type() === "error") consoleLines.push(m.text()); });
  tab.on("pageerror", (e) => consoleLines.push("pageerror: " + e.message));
  await tab.goto(origin);
  return { tab, consoleLines };
}

const cases = [];
for (const url of urls)
  for (const lib of libsWanted)
    for (const cfgName of configsWanted)
      // flv.js 1.6.2's worker mode fails in its own dist bundle ("Class
      // extends value undefined"), whatever the server: not a case.
      if (!(lib === "flv.js" && cfgName === "worker")) cases.push([url, lib, cfgName]);

let ok = true;
try {
  if (parallel) {
    const tabs = await Promise.all(cases.map(openTab));
    const passes = await Promise.all(cases.map((c, i) => runCase(tabs[i].tab, tabs[i].consoleLines, ...c)));
    ok = passes.every(Boolean);
  } else {
    const { tab, consoleLines } = await openTab();
    for (const c of cases) ok = (await runCase(tab, consoleLines, ...c)) && ok;
  }
} finally {
  await context.close();
  srv.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
