// Recording: every publication of a stream to its own FLV file, Adobe
// FLV 10.1 Annex E: the header (E.2), the body of tags each followed by
// PreviousTagSize (E.3, E.4.1), and onMetaData (E.5) with the fields
// players use to seek (duration, filesize, and a keyframes index of times
// and filepositions, as FLV tools such as yamdi and flvmeta write it).
//
// A recorder is a hub player (hub.go) whose connection is the file: it
// reads the GOP ring with its own cursor, so a slow disk never blocks the
// publisher or the players; past -max-lag it skips to the newest keyframe
// like any player, and the skip is counted.
//
// File layout:
//
//	offset 0    FLV header, 9 bytes, and PreviousTagSize0, 4 bytes
//	offset 13   script tag "onMetaData" {the publisher's metadata,
//	            duration, filesize, ..., rtmphubPadding: [null, ...]}
//	            of a size fixed when the recording starts
//	...         every tag of the publication, timestamps from 0
//
// Each tag goes to the file whole, in one write(2), so the file ends at a
// tag boundary whenever the process dies: a killed server leaves a
// playable file. On a clean end the onMetaData payload is rewritten in
// place, same size: the real duration and filesize, and the keyframes
// index, paid for by fewer padding nulls (one byte each in AMF0, so the
// size always matches exactly).
//
// Paths: DIR/app/name/<start time>.flv. App and stream names are
// sanitised to one safe path element each, and every file operation goes
// through an os.Root opened on DIR, which refuses anything (a "..", a
// symbolic link) that would lead outside it.
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

const (
	// recordIndexCap is the number of keyframes the reserved onMetaData
	// can index (18 bytes each: two AMF0 numbers); 3600 keyframes is two
	// hours at one keyframe every 2 s. Longer recordings get a thinned,
	// evenly spaced index.
	recordIndexCap = 3600
	// recordPad is the number of padding nulls in the first onMetaData:
	// room for the index and the keyframes object around it.
	recordPad = 18*recordIndexCap + 64
	// recordPadKey names the padding property.
	recordPadKey = "rtmphubPadding"
	// recordMetaAt is the file offset of the onMetaData payload: FLV
	// header and PreviousTagSize0, then the 11-byte tag header.
	recordMetaAt = flvHeaderLen + flvPrevSizeLen + flvTagHeaderLen
	// recordTimeLayout names a file by its start time (UTC, no colons).
	recordTimeLayout = "2006-01-02T15-04-05.000Z"
)

// errAlreadyRecording: the stream's current publication has a recorder.
var errAlreadyRecording = errors.New("record: already recording")

// recordOwnedKeys are the onMetaData properties the recorder writes
// itself; the publisher's values for them are dropped.
var recordOwnedKeys = []string{"duration", "filesize", "lasttimestamp", "lastkeyframetimestamp",
	"lastkeyframelocation", "hasKeyframes", "keyframes", recordPadKey}

// recorder writes one publication to one file.
type recorder struct {
	rl        *relays
	stream    *Stream
	ring      *gopRing
	dir       string // the record directory
	p         *player
	finished  chan struct{} // closed when the file is complete
	fromStart bool          // from the publication's start (else from its newest keyframe)
	relayCounters

	// owned by the player goroutine (and open, before it starts)
	root     *os.Root
	file     *os.File
	rel      string // the file's path under dir
	size     int64  // bytes written
	metaDone bool   // the reserved onMetaData is written
	metaSize int    // its payload size, fixed
	meta     []Property
	hasBase  bool
	base     uint32 // timestamp of the first media tag: 0 in the file
	last     uint32 // newest media timestamp in the file
	keys     recordIndex
	out      []byte
}

// recordIndex is the keyframes index: times in seconds, file positions of
// the keyframes' tags. It keeps at most 2*recordIndexCap entries, halving
// itself beyond that, and remembers the newest keyframe.
type recordIndex struct {
	times, pos       []float64
	lastTime, lastAt float64
}

func (x *recordIndex) add(ts uint32, at int64) {
	x.lastTime, x.lastAt = float64(ts)/1000, float64(at)
	x.times = append(x.times, x.lastTime)
	x.pos = append(x.pos, x.lastAt)
	if len(x.times) > 2*recordIndexCap {
		x.times, x.pos = thinIndex(x.times, recordIndexCap), thinIndex(x.pos, recordIndexCap)
	}
}

// thinIndex keeps at most max evenly spaced entries of v, the first one
// always.
func thinIndex(v []float64, max int) []float64 {
	if len(v) <= max {
		return v
	}
	step := (len(v) + max - 1) / max
	out := v[:0:0]
	for i := 0; i < len(v); i += step {
		out = append(out, v[i])
	}
	return out
}

// startRecording records ring's publication of st into dir. With openNow
// the file is created before it returns (the API answers with its path);
// otherwise the recorder's goroutine creates it, so that a publish never
// waits for the disk.
func (rl *relays) startRecording(st *Stream, ring *gopRing, dir string, openNow bool) (*recorder, error) {
	if !rl.conns.begin() {
		return nil, errRelayStopped
	}
	r := &recorder{rl: rl, stream: st, ring: ring, dir: dir, finished: make(chan struct{}),
		relayCounters: newRelayCounters(relayKindRecord, st.Path, dir)}
	r.p = rl.player(st, rl.session(relayKindRecord, dir), frameSink(r.writeFrame))
	r.p.startFn = r.writeHeader
	r.fromStart = !openNow // started with the publish: record it from its start
	if old := rl.addRecorder(r); old != nil {
		rl.conns.end()
		return old, errAlreadyRecording
	}
	if openNow {
		if err := r.open(); err != nil {
			rl.dropRecorder(r)
			rl.conns.end()
			return nil, err
		}
	}
	go r.run()
	return r, nil
}

// addRecorder registers r, unless its stream's publication already has a
// recorder (returned). A recorder still finishing the previous
// publication's file does not count.
func (rl *relays) addRecorder(r *recorder) *recorder {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if old := rl.recs[r.stream.Path]; old != nil && (old.ring == r.ring || !old.ring.ended()) {
		return old
	}
	rl.recs[r.stream.Path] = r
	rl.all[&r.relayCounters] = struct{}{}
	return nil
}

func (rl *relays) dropRecorder(r *recorder) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.recs[r.stream.Path] == r {
		delete(rl.recs, r.stream.Path)
	}
	delete(rl.all, &r.relayCounters)
}

// stopRecording stops the recording of path, if any, and returns it; its
// file is complete once rec.finished is closed.
func (rl *relays) stopRecording(path string) *recorder {
	rl.mu.Lock()
	r := rl.recs[path]
	rl.mu.Unlock()
	if r != nil {
		r.p.stop()
	}
	return r
}

// run records until the publication ends, the recording is stopped or
// the server closes, then completes the file. It creates the file first
// (unless the API did), then plays from the publication's start, or
// its oldest GOP still held: a slow disk costs the recording only lag.
func (r *recorder) run() {
	defer r.rl.conns.end()
	defer close(r.finished)
	defer r.rl.dropRecorder(r)
	log := r.rl.log.With("relay", relayKindRecord, "stream", r.stream.Path)
	if r.file == nil {
		if err := r.open(); err != nil {
			r.fail(err)
			r.setState("failed")
			log.Warn("record: cannot create the file", "err", err)
			return
		}
	}
	r.setState("recording")
	log.Info("recording", "file", r.rel)
	wait := r.rl.whenStopping(r.p.done, r.p.stop)
	if !r.fromStart {
		r.p.joinNow(r.ring)
	}
	err := r.p.playRing(r.ring, startFirst)
	r.p.stop()
	wait()
	r.drops.Store(r.p.drops.Load())
	if err != nil && !errors.Is(err, ErrPlayerClosed) {
		r.fail(err)
		log.Warn("record: failed", "err", err)
	}
	if err := r.finish(); err != nil {
		r.fail(err)
		log.Warn("record: cannot complete the file", "err", err)
	}
	r.setState("done")
	log.Info("recording done", "file", r.rel, "bytes", r.size, "keyframes", len(r.keys.times), "drops", r.drops.Load())
}

// open creates DIR/app/name/<start>.flv (with -1, -2, ... when taken).
func (r *recorder) open() error {
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	root, err := os.OpenRoot(r.dir)
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	app := recordPathPart(r.stream.App)
	sub := filepath.Join(app, recordPathPart(r.stream.Name))
	for _, dir := range []string{app, sub} { // os.Root has MkdirAll from Go 1.25 on
		if err := root.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			root.Close()
			return fmt.Errorf("record: %w", err)
		}
	}
	stamp := r.since.UTC().Format(recordTimeLayout)
	for i := range 100 {
		name := stamp + ".flv"
		if i > 0 {
			name = fmt.Sprintf("%s-%d.flv", stamp, i)
		}
		rel := filepath.Join(sub, name)
		f, err := root.OpenFile(rel, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			root.Close()
			return fmt.Errorf("record: %w", err)
		}
		r.root, r.file, r.rel = root, f, rel
		r.mu.Lock()
		r.target = filepath.Join(r.dir, rel)
		r.mu.Unlock()
		return nil
	}
	root.Close()
	return errors.New("record: no free file name")
}

// recordPathPart makes an app or stream name one safe path element: bytes
// outside [A-Za-z0-9-_.~] become '_', and a name of dots only ("..") or
// an empty one becomes "_". The result never holds a separator.
func recordPathPart(s string) string {
	b := []byte(truncate(s, 128))
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("-_.~", c) >= 0
		if !ok {
			b[i] = '_'
		}
	}
	if strings.Trim(string(b), ".") == "" {
		return "_"
	}
	return string(b)
}

// writeHeader writes the FLV header (E.2) when the player starts, with
// the audio and video flags of what the publication carries.
func (r *recorder) writeHeader(h *headerSet, republish bool) error {
	if republish {
		return nil
	}
	return r.write(AppendFLVHeader(r.out[:0], h.hasAudio, h.hasVideo))
}

// writeFrame writes one frame as an FLV tag, rebased to the file's time
// line. The first tag is preceded by the reserved onMetaData, which
// takes the publisher's metadata when that is the first frame.
func (r *recorder) writeFrame(f *Frame) error {
	if !r.metaDone {
		if f.Type == TagScript {
			if props, ok := metaProps(f.Payload); ok {
				r.meta = props
				return r.writeMeta()
			}
		}
		if err := r.writeMeta(); err != nil {
			return err
		}
	}
	ts, key := r.place(f)
	at := r.size
	r.out = AppendFLVTag(r.out[:0], f.Type, ts, f.Payload)
	if err := r.write(r.out); err != nil {
		return err
	}
	if key {
		r.keys.add(ts, at)
	}
	return nil
}

// place returns a tag's timestamp in the file, and whether it is a video
// keyframe. The first media tag is at 0; decoder configuration and
// metadata never go back in time (a lagging recorder's resync resends
// headers stamped with their original time).
func (r *recorder) place(f *Frame) (ts uint32, key bool) {
	header := f.Type == TagScript || f.isHeader()
	key = !header && f.isKey()
	if !r.hasBase {
		if header {
			return 0, false
		}
		r.base, r.hasBase = f.Timestamp, true
	}
	ts = uint32(max(int32(f.Timestamp-r.base), 0))
	if header {
		return max(ts, r.last), false
	}
	r.last = max(r.last, ts)
	return ts, key
}

// write appends b to the file with one write(2).
func (r *recorder) write(b []byte) error {
	n, err := r.file.Write(b)
	r.size += int64(n)
	r.bytes.Store(uint64(r.size))
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

// writeMeta writes the first onMetaData: the publisher's metadata with
// zeroed duration and filesize, and recordPad padding nulls.
func (r *recorder) writeMeta() error {
	payload, err := r.metaPayload(recordIndex{}, recordPad)
	if err != nil {
		return err
	}
	r.metaDone, r.metaSize = true, len(payload)
	return r.write(AppendFLVTag(r.out[:0], TagScript, 0, payload))
}

// metaPayload encodes "onMetaData" and its ECMA array (E.5) for the
// recording so far, with index x (when it has two keyframes or more:
// players ignore shorter ones) and pad padding nulls.
func (r *recorder) metaPayload(x recordIndex, pad int) ([]byte, error) {
	props := slices.Clone(r.meta)
	props = append(props,
		Property{"duration", float64(r.last) / 1000},
		Property{"filesize", float64(r.size)},
		Property{"lasttimestamp", float64(r.last) / 1000},
		Property{"lastkeyframetimestamp", x.lastTime},
		Property{"lastkeyframelocation", x.lastAt},
		Property{"hasKeyframes", len(x.times) > 0})
	if len(x.times) >= 2 {
		props = append(props, Property{"keyframes", Object{
			{"times", floatArray(x.times)},
			{"filepositions", floatArray(x.pos)},
		}})
	}
	props = append(props, Property{recordPadKey, make(StrictArray, pad)})
	b, err := AppendAMF0All(nil, "onMetaData", ECMAArray(props))
	if err != nil {
		return nil, fmt.Errorf("record: metadata: %w", err)
	}
	return b, nil
}

func floatArray(v []float64) StrictArray {
	a := make(StrictArray, len(v))
	for i, f := range v {
		a[i] = f
	}
	return a
}

// finalMeta is the onMetaData rewritten at the end: exactly metaSize
// bytes, with as much of the keyframes index as fits.
func (r *recorder) finalMeta() ([]byte, error) {
	x := r.keys
	x.times, x.pos = thinIndex(x.times, recordIndexCap), thinIndex(x.pos, recordIndexCap)
	for {
		b, err := r.metaPayload(x, 0)
		if err != nil {
			return nil, err
		}
		if len(b) <= r.metaSize {
			return r.metaPayload(x, r.metaSize-len(b))
		}
		if len(x.times) == 0 {
			return nil, fmt.Errorf("record: metadata grew from %d to %d bytes", r.metaSize, len(b))
		}
		n := len(x.times) / 2
		x.times, x.pos = thinIndex(x.times, n), thinIndex(x.pos, n)
	}
}

// finish completes the file: the final onMetaData in place, then fsync.
// A file that never got past its header is removed.
func (r *recorder) finish() error {
	defer r.root.Close()
	if !r.metaDone {
		r.file.Close()
		return r.root.Remove(r.rel)
	}
	payload, err := r.finalMeta()
	if err == nil && len(payload) != r.metaSize {
		err = fmt.Errorf("record: final metadata is %d bytes, reserved %d", len(payload), r.metaSize)
	}
	if err == nil {
		_, err = r.file.WriteAt(payload, recordMetaAt)
	}
	if err == nil {
		err = r.file.Sync()
	}
	if cerr := r.file.Close(); err == nil {
		err = cerr
	}
	return err
}

// metaProps decodes an onMetaData payload ("onMetaData", then an ECMA
// array or an object) into its properties, without those the recorder
// writes itself; ok is false for any other script data.
func metaProps(payload []byte) (props []Property, ok bool) {
	name, rest, err := DecodeAMF0(payload)
	if err != nil || name != "onMetaData" {
		return nil, false
	}
	v, _, err := DecodeAMF0(rest)
	if err != nil {
		return nil, false
	}
	switch m := v.(type) {
	case ECMAArray:
		props = m
	case Object:
		props = m
	default:
		return nil, false
	}
	return slices.DeleteFunc(slices.Clone(props), func(p Property) bool {
		return slices.Contains(recordOwnedKeys, p.Key)
	}), true
}
