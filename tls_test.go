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
