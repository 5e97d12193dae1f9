//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64le || s390x)

package main

import (
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// acceptedPair returns an accepted socket as the listeners hand it out
// (a countingConn over a rawConn) and the client's end.
func acceptedPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := listenCounted("127.0.0.1:0", nil)
	must(t, err)
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	must(t, err)
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	must(t, err)
	t.Cleanup(func() { server.Close() })
	return server, client
}

// parkOnce parks c and returns a channel closed when its then runs.
func parkOnce(t *testing.T, c net.Conn) <-chan struct{} {
	t.Helper()
	woke := make(chan struct{})
	if !parkReads(c, func() { close(woke) }) {
		t.Fatal("parkReads refused a plain accepted socket")
	}
	return woke
}

func wokeWithin(t *testing.T, woke <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-woke:
	case <-time.After(2 * time.Second):
		t.Fatalf("parked socket not woken by %s", what)
	}
}

func stillParked(t *testing.T, woke <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-woke:
		t.Fatalf("parked socket woken by %s", what)
	case <-time.After(100 * time.Millisecond):
	}
}

// A parked socket wakes for bytes, for a read deadline and for Close, and
// for nothing else; one with a read deadline is not parked; the poller's
// goroutine and epoll set go when nothing is parked.
func TestReadyPollerWakes(t *testing.T) {
	before := runtime.NumGoroutine()
	srv, cli := acceptedPair(t)

	woke := parkOnce(t, srv)
	stillParked(t, woke, "nothing")
	if parkReads(srv, func() {}) {
		t.Fatal("a parked socket was parked twice")
	}
	cli.Write([]byte("x"))
	wokeWithin(t, woke, "a byte")
	var b [4]byte
	if n, err := srv.Read(b[:]); n != 1 || err != nil {
		t.Fatalf("read after the wake: %d %v", n, err)
	}

	woke = parkOnce(t, srv)
	srv.SetReadDeadline(time.Now().Add(time.Hour))
	wokeWithin(t, woke, "a read deadline")
	if parkReads(srv, func() {}) {
		t.Fatal("a socket with a read deadline was parked")
	}
	srv.SetReadDeadline(time.Time{})

	woke = parkOnce(t, srv)
	srv.Close()
	wokeWithin(t, woke, "Close")
	if _, err := srv.Read(b[:]); err == nil {
		t.Fatal("read on the closed socket succeeded")
	}
	if parkReads(srv, func() {}) {
		t.Fatal("a closed socket was parked")
	}
	waitGoroutines(t, before)
}

// The peer's hang-up wakes a parked socket, whose read then ends.
func TestReadyPollerHangUp(t *testing.T) {
	srv, cli := acceptedPair(t)
	woke := parkOnce(t, srv)
	cli.Close()
	wokeWithin(t, woke, "the peer's close")
	if _, err := srv.Read(make([]byte, 8)); err != io.EOF {
		t.Fatalf("read after the hang-up: %v, want EOF", err)
	}
}

func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if runtime.NumGoroutine() <= want {
			return
		}
	}
	t.Fatalf("%d goroutines, want %d: the poller outlived its last parked socket", runtime.NumGoroutine(), want)
}

// readingSides counts the goroutines waiting in a player's read side
// (RTMP session read loop, an HTTP player's wait for its client to go,
// a WS-FLV player's frame reader).
func readingSides() (n int, stacks []string) {
	buf := make([]byte, 1<<20)
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "rtmphub.(*rtmpSession).read(") || strings.Contains(g, "rtmphub.discardUntilError(") ||
			strings.Contains(g, "rtmphub.(*wsReadSide).serve(") {
			stacks = append(stacks, g)
		}
	}
	return len(stacks), stacks
}

// Players that only play hold no goroutine while nothing comes from
// their clients: their sockets are parked. They still hear their
// clients (a pause is answered), see them go, and can be kicked.
func TestParkedPlayersHoldNoGoroutine(t *testing.T) {
	srv := startServer(t, nil)
	pub := testPublisher(t, rtmpURL(srv, "/live/park"))
	sendGOPs(t, pub, 0, 1, 30)
	const n = 6
	var rtmp []*Client
	var flv []io.ReadCloser
	var ws []*wsClient
	for range n {
		p := testPlayer(t, rtmpURL(srv, "/live/park"))
		readMedia(t, p, 3)
		rtmp = append(rtmp, p)
		body := httpGetFLV(t, httpURL(srv, "/live/park.flv"))
		readFLVHeader(t, body)
		readFLVTags(t, body, 3)
		flv = append(flv, body)
		wc := dialWS(t, srv.HTTPAddr(), "/live/park.flv")
		readFLVHeader(t, wc)
		readFLVTags(t, wc, 3)
		ws = append(ws, wc)
	}
	for end := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		held, stacks := readingSides()
		if held == 1 { // the publisher's, which reads all the time
			break
		}
		if time.Now().After(end) {
			t.Fatalf("%d reading goroutines for %d players and a publisher:\n%s", held, 3*n, strings.Join(stacks, "\n\n"))
		}
	}

	sid := rtmp[0].StreamID()
	rtmp[0].send(sid, "pause", 0, nil, true, 0.0)
	cmd := nextCommand(t, rtmp[0], "onStatus")
	if st := clientStatus(clientArg(cmd.values, 3), "status"); st.Code != "NetStream.Pause.Notify" {
		t.Fatalf("pause of a parked player: %+v", st)
	}

	sessions := func() int { return len(srv.hub.sessionList()) }
	start := sessions()
	flv[0].Close()
	rtmp[1].Close()
	waitFor(t, 3*time.Second, "the players that left to end", func() bool { return sessions() == start-2 })
	ws[0].conn.Write(wsClientFrame(true, WSClose, appendWSCloseBody(nil, CloseNormal, "")))
	waitFor(t, 3*time.Second, "the WS player that closed to end", func() bool { return sessions() == start-3 })

	var kick string
	for _, si := range srv.hub.sessionList() {
		if si.Protocol == "flv" {
			kick = si.ID
		}
	}
	if code, body := apiDo(t, srv, "DELETE", "/api/v1/sessions/"+kick, ""); code != http.StatusOK {
		t.Fatalf("kick %s: %d %s", kick, code, body)
	}
	waitFor(t, 3*time.Second, "the kicked player to end", func() bool { return sessions() == start-4 })
}
