package main

// Recording: file layout and onMetaData rewrite (duration, filesize,
// keyframes index), names that cannot escape the record directory, the
// API, and with ffmpeg: a 10 s recording's duration, and a recording cut
// by kill -9.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// recordPathPartTests: names as a publisher sends them, and the path
// element each is recorded under.
var recordPathPartTests = []struct{ in, want string }{
	{"cam", "cam"},
	{"cam-1_b.~x", "cam-1_b.~x"},
	{"..", "_"},
	{".", "_"},
	{"", "_"},
	{"...", "_"},
	{"../../etc", ".._.._etc"},
	{"a/b", "a_b"},
	{`a\b`, "a_b"},
	{"a\x00b", "a_b"},
	{"caf\u00e9", "caf__"},
	{strings.Repeat("x", 200), strings.Repeat("x", 128) + "..."},
}

func TestRecordPathPart(t *testing.T) {
	for _, tt := range recordPathPartTests {
		if got := recordPathPart(tt.in); got != tt.want {
			t.Errorf("recordPathPart(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzRecordPathPart: any name becomes one safe path element, of at most
// 128 bytes (and "..." when cut), which a valid name passes unchanged.
func FuzzRecordPathPart(f *testing.F) {
	for _, tt := range recordPathPartTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := recordPathPart(s)
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, `/\`+"\x00") || filepath.Base(p) != p {
			t.Fatalf("recordPathPart(%q) = %q is not one safe path element", s, p)
		}
		if len(p) > 128+len("...") || len(s) <= 128 && validName(s) && strings.Trim(s, ".") != "" && p != s {
			t.Fatalf("recordPathPart(%q) = %q", s, p)
		}
	})
}

// FuzzMetaProps: the owned keys never survive, and properties come only
// with ok. Seeds: AMF0 golden rows (whole and cut) behind the name.
func FuzzMetaProps(f *testing.F) {
	name, _ := AppendAMF0(nil, "onMetaData")
	for _, row := range []string{"ecma array onMetaData", "object onStatus info", "ecma array empty", "object empty"} {
		body := amf0GoldenRow(f, row)
		f.Add(append(slices.Clone(name), body...))
		f.Add(append(slices.Clone(name), body[:len(body)-3]...))
	}
	other, _ := AppendAMF0All(nil, "onCuePoint", Object{})
	f.Add(other)
	f.Add([]byte{0x02, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		props, ok := metaProps(b)
		for _, p := range props {
			for _, k := range recordOwnedKeys {
				if p.Key == k {
					t.Fatalf("owned key %q kept", k)
				}
			}
		}
		if !ok && props != nil {
			t.Fatal("properties without ok")
		}
	})
}

func TestMetaPropsDropsOwnedKeys(t *testing.T) {
	b, _ := AppendAMF0All(nil, "onMetaData", ECMAArray{{"width", 640.0}, {"duration", 12.0}, {"filesize", 1.0}, {"encoder", "x"}})
	props, ok := metaProps(b)
	if !ok || len(props) != 2 || props[0].Key != "width" || props[1].Key != "encoder" {
		t.Fatalf("metaProps = %v, %v", props, ok)
	}
}

// The rewritten onMetaData has exactly the reserved size, however many
// keyframes there are (thinned, evenly, when too many).
func TestRecordFinalMetaFits(t *testing.T) {
	for _, n := range []int{0, 1, 2, 100, recordIndexCap, recordIndexCap + 1, 3 * recordIndexCap, 10 * recordIndexCap} {
		r := &recorder{meta: []Property{{"width", 640.0}, {"encoder", "test"}}}
		first, err := r.metaPayload(recordIndex{}, recordPad)
		must(t, err)
		r.metaSize = len(first)
		for i := range n {
			r.keys.add(uint32(i*2000), int64(1000+i*50000))
		}
		r.last, r.size = uint32(n*2000), int64(n*50000)
		b, err := r.finalMeta()
		must(t, err)
		if len(b) != r.metaSize {
			t.Fatalf("%d keyframes: %d bytes, reserved %d", n, len(b), r.metaSize)
		}
		meta := decodeRecordMeta(t, b)
		times, pos := recordKeyframes(t, meta)
		switch {
		case n < 2 && times != nil:
			t.Fatalf("%d keyframes: index %v", n, times)
		case n >= 2 && (len(times) < 2 || len(times) > recordIndexCap || len(times) != len(pos) || times[0] != 0):
			t.Fatalf("%d keyframes: index of %d times, %d positions, first %v", n, len(times), len(pos), times[0])
		case n >= 2 && n <= recordIndexCap && len(times) != n:
			t.Fatalf("%d keyframes: index of %d", n, len(times))
		}
		if d, _ := meta.Number("duration"); d != float64(n*2) {
			t.Fatalf("duration %v, want %d", d, n*2)
		}
	}
}

// decodeRecordMeta decodes an onMetaData payload that must be exactly
// "onMetaData" and one ECMA array.
func decodeRecordMeta(t *testing.T, b []byte) ECMAArray {
	t.Helper()
	vals, err := DecodeAMF0All(b)
	if err != nil || len(vals) != 2 || vals[0] != "onMetaData" {
		t.Fatalf("onMetaData payload: %v, %d values", err, len(vals))
	}
	meta, ok := vals[1].(ECMAArray)
	if !ok {
		t.Fatalf("onMetaData value is %T", vals[1])
	}
	return meta
}

// recordKeyframes returns the keyframes index (nil when there is none).
func recordKeyframes(t *testing.T, meta ECMAArray) (times, pos []float64) {
	t.Helper()
	v, ok := meta.Get("keyframes")
	if !ok {
		return nil, nil
	}
	kf, ok := v.(Object)
	if !ok {
		t.Fatalf("keyframes is %T", v)
	}
	get := func(key string) []float64 {
		a, _ := kf.Get(key)
		arr, ok := a.(StrictArray)
		if !ok {
			t.Fatalf("keyframes.%s is %T", key, a)
		}
		out := make([]float64, len(arr))
		for i, x := range arr {
			out[i], _ = x.(float64)
		}
		return out
	}
	return get("times"), get("filepositions")
}

// recordedFile is a recording read back: its bytes, onMetaData and tags.
type recordedFile struct {
	data []byte
	meta ECMAArray
	tags []FLVTag
	at   []int64 // file offset of each tag
}

// readRecording parses a whole FLV file: header, then tags to the end,
// which must be a tag boundary.
func readRecording(t *testing.T, path string) recordedFile {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	rf := recordedFile{data: data}
	if _, rest, err := DecodeFLVHeader(data); err != nil || len(rest) != len(data)-13 {
		t.Fatalf("%s: flv header: %v", path, err)
	}
	b := data[13:]
	for len(b) > 0 {
		tag, rest, err := DecodeFLVTag(b)
		if err != nil {
			t.Fatalf("%s: tag %d at %d: %v", path, len(rf.tags), len(data)-len(b), err)
		}
		rf.at = append(rf.at, int64(len(data)-len(b)))
		rf.tags = append(rf.tags, tag)
		b = rest
	}
	if len(rf.tags) == 0 || rf.tags[0].Type != TagScript {
		t.Fatalf("%s: no onMetaData first", path)
	}
	rf.meta = decodeRecordMeta(t, rf.tags[0].Data)
	return rf
}

// waitRecorded waits until srv has no recording left and returns the FLV
// files under dir.
func waitRecorded(t *testing.T, srv *Server, dir string, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		busy := false
		for _, r := range srv.relays.status() {
			busy = busy || r.Kind == "record"
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*.flv"))
		if !busy && len(files) > 0 {
			return files
		}
		if time.Now().After(deadline) {
			t.Fatalf("recording not done: %+v, files %v", srv.relays.status(), files)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A recording holds the FLV header, onMetaData (the publisher's, plus
// duration, filesize and the keyframes index), both sequence headers and
// every frame, timestamps from 0; the index points at the keyframe tags.
func TestRecordFile(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, func(c *Config) { c.RecordDir = dir })
	pub := testPublisher(t, rtmpURL(srv, "/live/rec"))
	// keyframes 0, 30, 60; a real publisher paces in real time, while a
	// burst of more than the two GOPs the ring holds outruns any player
	sendGOPs(t, pub, 0, 60, 30)
	time.Sleep(300 * time.Millisecond)
	sendGOPs(t, pub, 60, 30, 30)
	time.Sleep(100 * time.Millisecond)
	pub.Close()
	files := waitRecorded(t, srv, dir, 5*time.Second)
	if len(files) != 1 || !strings.HasPrefix(files[0], filepath.Join(dir, "live", "rec")+string(filepath.Separator)) {
		t.Fatalf("files %v", files)
	}
	rf := readRecording(t, files[0])
	if w, _ := rf.meta.Number("width"); w != 640 {
		t.Fatalf("publisher's metadata lost: %v", rf.meta)
	}
	if d, _ := rf.meta.Number("duration"); d != 89*33/1000.0 {
		t.Fatalf("duration %v, want %v", d, 89*33/1000.0)
	}
	if n, _ := rf.meta.Number("filesize"); n != float64(len(rf.data)) {
		t.Fatalf("filesize %v, file has %d bytes", n, len(rf.data))
	}
	if !bytes.Equal(rf.tags[1].Data, testVideoHeader) || !bytes.Equal(rf.tags[2].Data, testAudioHeader) {
		t.Fatalf("sequence headers: % x / % x", rf.tags[1].Data, rf.tags[2].Data)
	}
	media := rf.tags[3:]
	if len(media) != 180 {
		t.Fatalf("%d media tags, want 180", len(media))
	}
	for i, tag := range media {
		if frameNumber(tag.Data) != i/2 || tag.Timestamp != uint32(i/2*33) {
			t.Fatalf("media tag %d: frame %d at %d ms", i, frameNumber(tag.Data), tag.Timestamp)
		}
	}
	times, pos := recordKeyframes(t, rf.meta)
	if len(times) != 3 || len(pos) != 3 {
		t.Fatalf("keyframes index %v %v", times, pos)
	}
	for i := range times {
		k := indexOfOffset(rf.at, int64(pos[i]))
		if k < 0 || rf.tags[k].Type != TagVideo || rf.tags[k].Data[0] != 0x17 ||
			frameNumber(rf.tags[k].Data) != i*30 || math.Abs(times[i]-float64(rf.tags[k].Timestamp)/1000) > 1e-9 {
			t.Fatalf("keyframe %d: time %v position %v does not point at keyframe %d", i, times[i], pos[i], i*30)
		}
	}
}

func indexOfOffset(at []int64, off int64) int {
	for i, a := range at {
		if a == off {
			return i
		}
	}
	return -1
}

// Hostile names stay inside the record directory, and a symbolic link in
// it that leads outside is refused.
func TestRecordStaysInDir(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "rec")
	outside := filepath.Join(base, "outside")
	must(t, os.MkdirAll(outside, 0o755))
	srv := startServer(t, nil)
	for _, nm := range [][2]string{{"..", ".."}, {"..", "../../outside/x"}, {"a/../..", "."}} {
		st, ring, err := srv.hub.publish(nm[0], nm[1], srv.relays.session("test", "x"))
		must(t, err)
		rec, err := srv.relays.startRecording(st, ring, dir, true)
		must(t, err)
		target := rec.status().Target
		if rel, err := filepath.Rel(dir, target); err != nil || strings.HasPrefix(rel, "..") || strings.Count(rel, string(filepath.Separator)) != 2 {
			t.Fatalf("%q/%q recorded at %s", nm[0], nm[1], target)
		}
		st.unpublish(ring)
		<-rec.finished
	}
	must(t, os.Symlink(outside, filepath.Join(dir, "live")))
	st, ring, err := srv.hub.publish("live", "cam", srv.relays.session("test", "x"))
	must(t, err)
	defer st.unpublish(ring)
	if rec, err := srv.relays.startRecording(st, ring, dir, true); err == nil {
		t.Fatalf("recorded through a symlink out of the directory: %s", rec.status().Target)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("written outside the record directory: %v", entries)
	}
}

// recordAPI calls the record API and decodes the envelope.
func recordAPI(t *testing.T, srv *Server, method, path string) (int, RelayStatus) {
	t.Helper()
	req, _ := http.NewRequest(method, httpURL(srv, path), nil)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	var env struct {
		Success bool        `json:"success"`
		Data    RelayStatus `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if env.Success != (resp.StatusCode < 300) {
		t.Fatalf("%s %s: status %d, success %v", method, path, resp.StatusCode, env.Success)
	}
	return resp.StatusCode, env.Data
}

// The API starts and stops a recording of a live stream (per app, auto
// recording is off here); the stopped file is complete.
func TestRecordAPI(t *testing.T) {
	dir := t.TempDir()
	off := false
	srv := startServer(t, func(c *Config) {
		c.RecordDir = dir
		c.Apps = map[string]AppRelay{"live": {Record: &off}}
	})
	pub := testPublisher(t, rtmpURL(srv, "/live/api"))
	sendGOPs(t, pub, 0, 31, 30)
	waitFrames(t, srv, "live", "api", 31)
	if len(srv.relays.status()) != 0 || srv.relays.isRecording("live", "api") {
		t.Fatal("recording although the app's record is false")
	}
	if code, _ := recordAPI(t, srv, "POST", "/api/v1/record/live/nothere"); code != 404 {
		t.Fatalf("start on a stream that is not live: %d", code)
	}
	if code, _ := recordAPI(t, srv, "POST", "/api/v1/record/%2e%2e/%2e%2e"); code != 404 {
		t.Fatalf("start on ../..: %d", code)
	}
	code, st := recordAPI(t, srv, "POST", "/api/v1/record/live/api")
	if code != 200 || st.Kind != "record" || !strings.HasPrefix(st.Target, filepath.Join(dir, "live", "api")) {
		t.Fatalf("start: %d %+v", code, st)
	}
	if code, _ := recordAPI(t, srv, "POST", "/api/v1/record/live/api"); code != 200 || !srv.relays.isRecording("live", "api") {
		t.Fatalf("second start: %d", code)
	}
	sendGOPs(t, pub, 31, 40, 30) // keyframe 60
	time.Sleep(200 * time.Millisecond)
	if code, _ := recordAPI(t, srv, "DELETE", "/api/v1/record/live/api"); code != 200 {
		t.Fatalf("stop: %d", code)
	}
	if code, _ := recordAPI(t, srv, "DELETE", "/api/v1/record/live/api"); code != 404 {
		t.Fatalf("second stop: %d", code)
	}
	rf := readRecording(t, st.Target)
	times, _ := recordKeyframes(t, rf.meta)
	// started at keyframe 30 (the newest when the API was called), so 30 and 60
	if len(times) != 2 || times[0] != 0 || math.Abs(times[1]-0.99) > 1e-9 {
		t.Fatalf("keyframes %v", times)
	}
	if first := rf.tags[3]; first.Type != TagVideo || frameNumber(first.Data) != 30 || first.Timestamp != 0 {
		t.Fatalf("first frame %d at %d", frameNumber(first.Data), first.Timestamp)
	}
	if n, _ := rf.meta.Number("filesize"); n != float64(len(rf.data)) {
		t.Fatalf("filesize %v of %d", n, len(rf.data))
	}
}

// waitFrames waits until app/name's publication has n video frames.
func waitFrames(t *testing.T, srv *Server, app, name string, n uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if st := srv.hub.lookup(app, name); st != nil && st.videoFrames.Load() >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/%s/%s: fewer than %d video frames arrived", app, name, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// With ffmpeg

type probeFormat struct {
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Streams []struct {
		CodecType string `json:"codec_type"`
	} `json:"streams"`
}

func ffprobeFile(t *testing.T, path string) probeFormat {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probeFormat
	must(t, json.Unmarshal(out, &p))
	if len(p.Streams) != 2 {
		t.Fatalf("%s: %d streams, want video + audio", path, len(p.Streams))
	}
	return p
}

// ffmpegDecodeFile decodes a whole file (from seek seconds on, when not
// 0) and fails on any error output. ("-ss 0" is left out: with B-frames
// ffmpeg 5.1 reports reference errors after seeking to 0 in any FLV file,
// its own remuxes included.)
func ffmpegDecodeFile(t *testing.T, path string, seek float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"-hide_banner", "-v", "error"}
	if seek > 0 {
		args = append(args, "-ss", fmt.Sprint(seek))
	}
	args = append(args, "-i", path, "-f", "null", "-")
	out, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("ffmpeg decode %s: %v\n%s", path, err, out)
	}
}

// A 10 s ffmpeg publish plays back from its recording with a 10 s
// duration, decodes cleanly, and seeks.
func TestFFmpegRecordDuration(t *testing.T) {
	requireFFmpeg(t)
	dir := t.TempDir()
	srv := startServer(t, func(c *Config) { c.RecordDir = dir })
	startFFmpegPublisher(t, rtmpURL(srv, "/live/ten"), "-t", "10")
	waitLive(t, srv, "live", "ten")
	files := waitRecorded(t, srv, dir, 40*time.Second)
	if len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	p := ffprobeFile(t, files[0])
	var d float64
	fmt.Sscan(p.Format.Duration, &d)
	if math.Abs(d-10) > 0.5 {
		t.Fatalf("duration %q, want 10 s +- 0.5", p.Format.Duration)
	}
	ffmpegDecodeFile(t, files[0], 0)
	ffmpegDecodeFile(t, files[0], 6)
	rf := readRecording(t, files[0])
	if times, _ := recordKeyframes(t, rf.meta); len(times) < 9 {
		t.Fatalf("keyframes index of %d entries for 10 s at one keyframe a second", len(times))
	}
}

// buildBinary builds rtmphub into dir.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			t.Skip("no go tool to build the binary")
		}
	}
	bin := filepath.Join(dir, "rtmphub")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startBinary runs the real server and returns its RTMP address (read
// from its "listening" log line).
func startBinary(t *testing.T, bin string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-rtmp", "127.0.0.1:0", "-http", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	must(t, err)
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=listening rtmp=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, a
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not say where it listens")
	}
	return nil, ""
}

// kill -9 in the middle of a recording leaves a file of whole tags that
// ffmpeg decodes without an error.
func TestFFmpegRecordKilled(t *testing.T) {
	requireFFmpeg(t)
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "rec")
	bin := buildBinary(t, tmp)
	cmd, addr := startBinary(t, bin, "-record-dir", dir)
	startFFmpegPublisher(t, "rtmp://"+addr+"/live/kill")
	deadline := time.Now().Add(20 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "live", "kill", "*.flv"))
		if len(files) == 1 {
			if fi, err := os.Stat(files[0]); err == nil && fi.Size() > 300<<10 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recording grew: %v", files)
		}
		time.Sleep(50 * time.Millisecond)
	}
	must(t, cmd.Process.Kill()) // SIGKILL: no clean end
	cmd.Wait()
	files, _ := filepath.Glob(filepath.Join(dir, "live", "kill", "*.flv"))
	f, err := os.Open(files[0])
	must(t, err)
	defer f.Close()
	fr := NewFLVReader(bufio.NewReader(f), 0)
	_, err = fr.ReadHeader()
	must(t, err)
	n := 0
	for ; ; n++ {
		if _, err = fr.ReadTag(); err != nil {
			break
		}
	}
	if !errors.Is(err, io.EOF) || n < 50 {
		t.Fatalf("after %d whole tags: %v (want a clean end at a tag boundary)", n, err)
	}
	ffprobeFile(t, files[0])
	ffmpegDecodeFile(t, files[0], 0)
}
