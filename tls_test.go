package main

// RTMPS and HTTPS/WSS with a self-signed certificate generated here
// (crypto/x509): the project's client over tls.Dial, and ffmpeg
// (rtmps://, https://, which does not verify certificates by default;
// -tls_verify 0 says so explicitly).

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeTestCert writes a fresh self-signed certificate for 127.0.0.1 and
// localhost, and its key, as PEM files; it returns their paths.
func writeTestCert(t testing.TB) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "rtmphub test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	must(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	return certFile, keyFile
}

// dialRTMPS is DialRTMP over TLS (the client package speaks rtmp:// only).
func dialRTMPS(t testing.TB, addr, app, name string) *Client {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	must(t, err)
	c := newClient(conn, clientURL{HostPort: addr, App: app, Name: name, TCURL: "rtmps://" + addr + "/" + app})
	t.Cleanup(func() { c.Close() })
	must(t, c.withContext(ctxT(t, 5*time.Second), "handshake", c.handshake))
	must(t, c.withContext(ctxT(t, 5*time.Second), "connect", c.connect))
	return c
}

// Publish over RTMPS, play over RTMPS, HTTPS-FLV and WSS, with the
// project's client and a TLS-wrapped WebSocket.
func TestTLSPublishPlay(t *testing.T) {
	srv := startTLSServer(t, nil)
	pub := dialRTMPS(t, srv.RTMPSAddr(), "live", "sec")
	must(t, pub.Publish(ctxT(t, 5*time.Second)))
	must(t, pub.WriteMetadata(ECMAArray{{"width", 640.0}}, 0))
	must(t, pub.WriteMedia(MsgVideo, 0, testVideoHeader))
	must(t, pub.WriteMedia(MsgAudio, 0, testAudioHeader))
	sendGOPs(t, pub, 0, 31, 30)
	waitLive(t, srv, "live", "sec")

	player := dialRTMPS(t, srv.RTMPSAddr(), "live", "sec")
	must(t, player.Play(ctxT(t, 5*time.Second)))
	got := readMedia(t, player, 4)
	checkPrologue(t, got)
	if frameNumber(got[3].Payload) != 30 {
		t.Errorf("rtmps: first frame %d, want keyframe 30", frameNumber(got[3].Payload))
	}

	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + srv.HTTPSAddr() + "/live/sec.flv")
	must(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "video/x-flv" {
		t.Fatalf("https: %s", resp.Status)
	}
	readFLVHeader(t, resp.Body)
	tags := readFLVTags(t, resp.Body, 4)
	if frameNumber(tags[3].Data) != 30 {
		t.Errorf("https: first frame %d", frameNumber(tags[3].Data))
	}

	ws := dialWSS(t, srv.HTTPSAddr(), "/live/sec.flv")
	readFLVHeader(t, ws)
	if tags := readFLVTags(t, ws, 4); frameNumber(tags[3].Data) != 30 {
		t.Errorf("wss: first frame %d", frameNumber(tags[3].Data))
	}
}

// dialWSS is dialWS over TLS.
func dialWSS(t testing.TB, addr, path string) *wsClient {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	must(t, err)
	if resp.StatusCode != 101 {
		t.Fatalf("wss upgrade: %s", resp.Status)
	}
	return &wsClient{conn: conn, br: br}
}

// ffmpeg publishes over RTMPS; ffprobe and ffmpeg play rtmps:// and
// https:// against the self-signed certificate.
func TestFFmpegTLS(t *testing.T) {
	requireFFmpeg(t)
	srv := startTLSServer(t, nil)
	startFFmpegPublisher(t, "rtmps://"+srv.RTMPSAddr()+"/live/tls", "-tls_verify", "0")
	waitLive(t, srv, "live", "tls")
	checkProbe(t, ffprobe(t, "rtmps://"+srv.RTMPSAddr()+"/live/tls"))
	checkProbe(t, ffprobe(t, "https://"+srv.HTTPSAddr()+"/live/tls.flv"))
	ffmpegDecode(t, "rtmps://"+srv.RTMPSAddr()+"/live/tls", 2*time.Second)
	ffmpegDecode(t, "https://"+srv.HTTPSAddr()+"/live/tls.flv", 2*time.Second)
}

// A TLS listener without a usable certificate fails at Listen, with a
// clear error, instead of serving plaintext.
func TestTLSNeedsCertificate(t *testing.T) {
	cfg := defaultConfig()
	cfg.RTMP, cfg.HTTP, cfg.RTMPS = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	srv := NewServer(cfg, testLogger(t, io.Discard))
	if err := srv.Listen(); err == nil {
		srv.Serve()
		srv.Close()
		t.Fatal("-rtmps without -tls-cert accepted")
	}
	cfg.TLSCert, cfg.TLSKey = filepath.Join(t.TempDir(), "none.pem"), filepath.Join(t.TempDir(), "none.key")
	if err := NewServer(cfg, testLogger(t, io.Discard)).Listen(); err == nil {
		t.Fatal("missing certificate files accepted")
	}
}

// Over -https a client that offers h2 gets HTTP/2 (RFC 9113): the HLS
// playlists and parts, a blocking reload and the blocking preload-hint
// part, and the live FLV and MP4 bodies written through the
// ResponseWriter. A player on an HTTP/2 stream is a session with its
// bytes, can be kicked, and leaves when the client resets its stream.
func TestHTTP2(t *testing.T) {
	srv := startTLSServer(t, nil)
	livePublisher(t, srv, "/live/h2")
	waitLive(t, srv, "live", "h2")
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	h2 := &h2Client{t: t, c: &http.Client{Transport: tr}, base: "https://" + srv.HTTPSAddr() + "/live/"}

	multi := strings.Split(strings.TrimSpace(string(h2.get("h2.m3u8"))), "\n")
	media := multi[len(multi)-1]
	pl, err := parseMediaPlaylist(string(h2.get(media)))
	if err != nil || pl.hint == "" || len(pl.segs) == 0 {
		t.Fatalf("media playlist over h2: %v %+v", err, pl)
	}
	dir := media[:strings.LastIndex(media, "/")+1]
	part := pl.segs[len(pl.segs)-1].parts[0]
	if _, ok := firstSampleSync(h2.get(dir+part.uri), 1); !ok {
		t.Fatalf("part %s over h2: no video sample", part.uri)
	}
	if _, ok := firstSampleSync(h2.get(dir+pl.hint), 1); !ok {
		t.Fatalf("hinted part %s over h2: no video sample", pl.hint)
	}
	last := pl.segs[len(pl.segs)-1]
	if _, err := parseMediaPlaylist(string(h2.get(fmt.Sprintf("%s&_HLS_msn=%d&_HLS_part=%d", media, last.msn, len(last.parts))))); err != nil {
		t.Fatalf("blocking reload over h2: %v", err)
	}

	flv := h2.open("h2.flv", "video/x-flv")
	readFLVHeader(t, flv.Body)
	if tags := readFLVTags(t, flv.Body, 4); frameNumber(tags[3].Data)%30 != 0 {
		t.Fatalf("flv over h2: first frame %d is no keyframe", frameNumber(tags[3].Data))
	}
	mp4 := h2.open("h2.mp4", "video/mp4")
	var head [8]byte
	if _, err := io.ReadFull(mp4.Body, head[:]); err != nil || string(head[4:]) != "ftyp" {
		t.Fatalf("mp4 over h2: first box %q, %v", head[4:], err)
	}
	sess := h2.writers(srv)
	// kicked: the body ends; reset by the client: the player leaves
	srv.hub.kick(sess["mp4"].ID)
	if _, err := io.Copy(io.Discard, mp4.Body); err != nil {
		t.Logf("mp4 body after the kick: %v", err)
	}
	flv.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for len(h2.players(srv)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("h2 players still listed: %v", h2.players(srv))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// h2Client makes HTTP/2 requests under base and wants HTTP/2 answers.
type h2Client struct {
	t    *testing.T
	c    *http.Client
	base string
}

// get fetches path and returns its body; it wants a 200 over HTTP/2.
func (h *h2Client) get(path string) []byte {
	h.t.Helper()
	resp := h.open(path, "")
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(h.t, err)
	return b
}

// open starts a GET of path and wants a 200 over HTTP/2 (and the
// Content-Type ctype, if set).
func (h *h2Client) open(path, ctype string) *http.Response {
	h.t.Helper()
	resp, err := h.c.Get(h.base + path)
	must(h.t, err)
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || (ctype != "" && resp.Header.Get("Content-Type") != ctype) {
		resp.Body.Close()
		h.t.Fatalf("GET %s: %s %s %s", path, resp.Proto, resp.Status, resp.Header.Get("Content-Type"))
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// writers waits up to 5 s for an FLV and an MP4 session that each counted
// bytes out, and returns the sessions by protocol. The client has read from
// both bodies when this is called; a stream's write is counted when its
// Flush returns, which can be after the client read the data (by much
// under the race detector), so the count is waited for, not sampled. A
// session that never counts still fails.
func (h *h2Client) writers(srv *Server) map[string]*sessionInfo {
	h.t.Helper()
	sess := map[string]*sessionInfo{}
	deadline := time.Now().Add(5 * time.Second)
	for {
		clear(sess)
		for _, si := range srv.hub.sessionList() {
			sess[si.Protocol] = si
		}
		if sess["flv"] != nil && sess["flv"].bytesOut() > 0 && sess["mp4"] != nil && sess["mp4"].bytesOut() > 0 {
			return sess
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("h2 players: sessions %v", sess)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// players lists the FLV and MP4 sessions.
func (h *h2Client) players(srv *Server) []string {
	var out []string
	for _, si := range srv.hub.sessionList() {
		if si.Protocol == "flv" || si.Protocol == "mp4" {
			out = append(out, si.ID)
		}
	}
	return out
}

// Chromium plays HTTPS-FLV, over HTTP/2 now, then WSS from the same
// server: HTTP/2 announces no extended CONNECT (RFC 8441), so the
// browser opens its WebSocket on an HTTP/1.1 connection of its own.
func TestBrowserTLS(t *testing.T) {
	requireFFmpeg(t)
	requireChromium(t)
	srv := startTLSServer(t, nil)
	startFFmpegPublisher(t, rtmpURL(srv, "/live/sec"))
	waitLive(t, srv, "live", "sec")
	seen := map[string]bool{} // "flv h2", "ws"
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			for _, si := range srv.hub.sessionList() {
				switch {
				case si.Protocol == "flv" && si.conn == nil: // no connection of its own: an HTTP/2 stream
					seen["flv h2"] = true
				case si.Protocol == "ws":
					seen["ws"] = true
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	runPlay(t, 2, "--insecure", "--libs", "mpegts.js", "--configs", "live",
		"https://"+srv.HTTPSAddr()+"/live/sec.flv", "wss://"+srv.HTTPSAddr()+"/live/sec.flv")
	close(stop)
	<-watched
	if !seen["flv h2"] || !seen["ws"] {
		t.Fatalf("sessions seen while Chromium played: %v (want an HTTP/2 FLV player and a WSS one)", seen)
	}
}
