// WS-FLV with a strict RFC 6455 client, the npm "ws" package (browser_test.go
// runs it). ws fails the connection on any framing error of the server
// (masked server frames, RSV bits, bad lengths, bad close codes, invalid
// UTF-8 in a close reason) and reports it as an "error" event.
//
//   node wsclient.mjs URL OUTFILE MODE MINBYTES
//
// Reads binary messages until MINBYTES have arrived and writes their
// concatenated payloads to OUTFILE, then, by MODE:
//   client-close    pings (expects the pong), then closes with 1000 and waits
//                   for the server's close reply and the end of the TCP stream
//   publisher-ends  prints {"ready":true} and waits for the server to close
//                   (the test stops the publisher); ws answers the close frame
// Prints one JSON result line; exit 0 when the run was clean.
import fs from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const WebSocket = require("ws");

const [url, outFile, mode, minBytesArg] = process.argv.slice(2);
const minBytes = Number(minBytesArg || 100000);
const r = { mode, messages: 0, bytes: 0, sizes: [], allBinary: true, pong: false,
            errors: [], closeCode: 0, closeReason: "", closeMs: -1 };
const chunks = [];
let closeStarted = 0;
let reading = true;

const ws = new WebSocket(url, { perMessageDeflate: false, origin: "http://127.0.0.1:1" });
ws.on("error", (e) => r.errors.push(`${e.code || ""} ${e.message}`.trim()));
ws.on("unexpected-response", (req, res) => {
  r.errors.push(`unexpected response ${res.statusCode}`);
  ws.terminate?.();
});
ws.on("message", (data, isBinary) => {
  if (!reading) return;
  r.messages++;
  r.bytes += data.length;
  r.sizes.push(data.length);
  r.allBinary &&= isBinary;
  chunks.push(data);
  if (r.bytes >= minBytes) {
    reading = false;
    fs.writeFileSync(outFile, Buffer.concat(chunks));
    afterRead();
  }
});
ws.on("pong", () => { r.pong = true; });

function afterRead() {
  if (mode === "publisher-ends") {
    closeStarted = Date.now();
    console.log(JSON.stringify({ ready: true }));
    return;
  }
  ws.ping(Buffer.from("are you there"));
  setTimeout(() => {
    closeStarted = Date.now();
    ws.close(1000, "enough");
  }, 300);
}

// The "close" event comes after the close handshake and the end of the TCP
// connection. ws only emits code 1006 when no close frame arrived.
ws.on("close", (code, reason) => {
  r.closeCode = code;
  r.closeReason = reason.toString();
  r.closeMs = closeStarted ? Date.now() - closeStarted : -1;
  // ws's own record of the handshake: a close frame went each way.
  r.closeFrameReceived = ws._closeFrameReceived === true;
  r.closeFrameSent = ws._closeFrameSent === true;
  if (reading) fs.writeFileSync(outFile, Buffer.concat(chunks));
  const wantCodes = mode === "publisher-ends" ? [1000, 1001] : [1000];
  r.clean = r.errors.length === 0 && r.allBinary && !reading && wantCodes.includes(code) &&
            r.closeFrameReceived && r.closeFrameSent && (mode !== "client-close" || r.pong);
  console.log(JSON.stringify(r));
  process.exit(r.clean ? 0 : 1);
});
