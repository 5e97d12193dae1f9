package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// serverProcess is the real binary, running.
type serverProcess struct {
	cmd        *exec.Cmd
	rtmp, http string      // bound addresses, from the "listening" line
	log        *syncBuffer // everything it logged
	exited     chan error  // cmd.Wait's result
}

// runServerProcess starts bin on loopback ports the kernel picks and
// waits for its "listening" line.
func runServerProcess(t *testing.T, bin string, args ...string) *serverProcess {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-rtmp", "127.0.0.1:0", "-http", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	must(t, err)
	must(t, cmd.Start())
	sp := &serverProcess{cmd: cmd, log: &syncBuffer{}, exited: make(chan error, 1)}
	addrs := make(chan []string, 1)
	go func() {
		re := regexp.MustCompile(`msg=listening rtmp=(\S+) http=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			sp.log.Write(append(sc.Bytes(), '\n'))
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrs <- m[1:]
			}
		}
		sp.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-sp.exited
		t.Logf("server log:\n%s", sp.log.String())
	})
	select {
	case a := <-addrs:
		sp.rtmp, sp.http = a[0], a[1]
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not say where it listens")
	}
	return sp
}

// drainPlayers are one player of each protocol, reading in the
// background until their connection ends.
type drainPlayers struct {
	media       [3]atomic.Int64 // media messages / FLV bytes read: RTMP, HTTP-FLV, WS-FLV
	unpublished atomic.Bool     // the RTMP player got NetStream.Play.UnpublishNotify
	ends        [3]chan error   // each reader's last error (nil: a clean end)
}

func startDrainPlayers(t *testing.T, sp *serverProcess, path string) *drainPlayers {
	dp := &drainPlayers{}
	for i := range dp.ends {
		dp.ends[i] = make(chan error, 1)
	}
	rtmp := testPlayer(t, "rtmp://"+sp.rtmp+path)
	rtmp.SetReadDeadline(time.Now().Add(60 * time.Second))
	go func() {
		for {
			m, err := rtmp.ReadMessage()
			if err != nil {
				rtmp.Close() // as ffmpeg does at the end of the stream
				dp.ends[0] <- err
				return
			}
			switch {
			case m.Type == MsgVideo || m.Type == MsgAudio:
				dp.media[0].Add(1)
			case m.Type == MsgCommandAMF0 && bytes.Contains(m.Payload, []byte("NetStream.Play.UnpublishNotify")):
				dp.unpublished.Store(true)
			}
		}
	}()
	body := httpGetFLV(t, "http://"+sp.http+path+".flv")
	go func() {
		_, err := io.Copy(counter{&dp.media[1]}, body)
		dp.ends[1] <- err
	}()
	ws := dialWS(t, sp.http, path+".flv")
	ws.conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	go func() {
		_, err := io.Copy(counter{&dp.media[2]}, ws)
		if ws.close != nil { // answer the close, as a browser does
			ws.conn.Write(wsClientFrame(true, WSClose, ws.close[:min(len(ws.close), 2)]))
			ws.conn.Close()
		}
		dp.ends[2] <- err
		dp.ends[2] <- wsCloseError(ws.close)
	}()
	return dp
}

// counter counts the bytes written to it.
type counter struct{ n *atomic.Int64 }

func (c counter) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }

// wsCloseError is nil for a close frame with 1001, else what it was.
func wsCloseError(body []byte) error {
	if len(body) < 2 {
		return errors.New("no close frame with a status code")
	}
	if code := CloseCode(binary.BigEndian.Uint16(body)); code != CloseGoingAway {
		return errors.New("close code " + string(body[2:]) + ": not 1001")
	}
	return nil
}

// publishUntilClosed sends 30 fps with a keyframe a second until the
// server closes the connection.
func publishUntilClosed(c *Client) {
	for i := 0; ; i++ {
		ts := uint32(i * 33)
		if c.WriteMedia(MsgVideo, ts, testVideoFrame(i, i%30 == 0)) != nil ||
			c.WriteMedia(MsgAudio, ts, testAudioFrame(i)) != nil {
			return
		}
		time.Sleep(33 * time.Millisecond)
	}
}

// SIGTERM during a publish with players of every protocol
// and a recording: exit 0 within the timeout after a drain (not the
// closing at once); the RTMP player is told UnpublishNotify, the
// HTTP-FLV body ends cleanly, the WS player gets close code 1001; the
// recording is a complete FLV whose keyframe index points at keyframes;
// the on_done hooks of the publisher and of each player are delivered.
func TestGracefulShutdownOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "rec")
	bin := buildBinary(t, tmp)
	hs, rec := newHookServer(t)
	sp := runServerProcess(t, bin, "-record-dir", dir, "-on-done", hs.URL+"/done", "-shutdown-timeout", "10s")
	pub := testPublisher(t, "rtmp://"+sp.rtmp+"/live/drain")
	go publishUntilClosed(pub)
	dp := startDrainPlayers(t, sp, "/live/drain")
	deadline := time.Now().Add(10 * time.Second)
	for dp.media[0].Load() < 60 || dp.media[1].Load() < 3000 || dp.media[2].Load() < 3000 {
		if time.Now().After(deadline) {
			t.Fatalf("players got %d RTMP messages, %d HTTP-FLV and %d WS-FLV bytes",
				dp.media[0].Load(), dp.media[1].Load(), dp.media[2].Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	must(t, sp.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-sp.exited:
		sp.exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("still running 15s after SIGTERM (timeout 10s)")
	}
	took := time.Since(start)
	t.Logf("exit 0 %v after SIGTERM", took)
	if took >= 10*time.Second || !strings.Contains(sp.log.String(), `msg="shut down"`) {
		t.Errorf("no graceful drain within the timeout (%v)", took)
	}
	checkDrainedPlayers(t, dp)
	checkDrainedRecording(t, dir)
	checkDoneHooks(t, rec)
}

func checkDrainedPlayers(t *testing.T, dp *drainPlayers) {
	t.Helper()
	for i, name := range []string{"RTMP", "HTTP-FLV", "WS-FLV"} {
		select {
		case err := <-dp.ends[i]:
			if err != nil && !(i == 0 && errors.Is(err, io.EOF)) {
				t.Errorf("%s player ended with %v, want a clean end", name, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s player still reading", name)
		}
	}
	if err := <-dp.ends[2]; err != nil {
		t.Errorf("WS-FLV player: %v", err)
	}
	if !dp.unpublished.Load() {
		t.Error("the RTMP player was not told NetStream.Play.UnpublishNotify")
	}
}

func checkDrainedRecording(t *testing.T, dir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "live", "drain", "*.flv"))
	if len(files) != 1 {
		t.Fatalf("recordings %v, want one", files)
	}
	rf := readRecording(t, files[0])
	if n, _ := rf.meta.Number("filesize"); n != float64(len(rf.data)) {
		t.Errorf("filesize %v, file has %d bytes", n, len(rf.data))
	}
	if d, _ := rf.meta.Number("duration"); d < 1 {
		t.Errorf("duration %v", d)
	}
	times, pos := recordKeyframes(t, rf.meta)
	if len(times) < 2 || len(times) != len(pos) {
		t.Fatalf("keyframes index %v %v", times, pos)
	}
	for i := range times {
		k := indexOfOffset(rf.at, int64(pos[i]))
		if k < 0 || rf.tags[k].Type != TagVideo || rf.tags[k].Data[0] != 0x17 || frameNumber(rf.tags[k].Data)%30 != 0 {
			t.Fatalf("keyframe %d at %v does not point at a keyframe tag", i, pos[i])
		}
	}
}

func checkDoneHooks(t *testing.T, rec *hookRecorder) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	got := map[string]bool{}
	for _, ev := range rec.events {
		got[ev.Action+"/"+ev.Protocol] = true
	}
	for _, want := range []string{"publish_done/rtmp", "play_done/rtmp", "play_done/flv", "play_done/ws"} {
		if !got[want] {
			t.Errorf("no %s hook among %v", want, rec.events)
		}
	}
}
