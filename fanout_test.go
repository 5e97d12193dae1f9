package main

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// discardConn is a net.Conn that accepts every write.
type discardConn struct {
	net.Conn // nil: only Write and SetWriteDeadline are used
	n        int64
}

func (c *discardConn) Write(p []byte) (int, error)      { c.n += int64(len(p)); return len(p), nil }
func (c *discardConn) SetWriteDeadline(time.Time) error { return nil }

// fanoutPlayers makes n players of proto on a fresh ring, each writing
// into a discardConn.
func fanoutPlayers(n int, proto wireProto) (*gopRing, []*player, []uint64) {
	cfg := defaultConfig()
	h := newHub(cfg)
	st := &Stream{hub: h}
	players := make([]*player, n)
	for i := range players {
		c := &discardConn{}
		p := newPlayer(h, &sessionInfo{}, proto, c, &sync.Mutex{})
		p.stream = st
		players[i] = p
	}
	return newGOPRing(), players, make([]uint64, n)
}

// deliver is the per-player step of fan-out: read what is new, write it.
func deliver(r *gopRing, p *player, cursor uint64, max int) uint64 {
	p.borrow()
	frames, next, _, _ := r.read(cursor, p.scratch.frames[:0], max)
	p.writeFrames(frames)
	clear(frames)
	return next
}

// Per player and per frame, fan-out neither encodes nor allocates: the
// players only pick bytes that were built once when the frame arrived.
func TestFanoutNoPerPlayerAllocs(t *testing.T) {
	for _, proto := range []wireProto{protoRTMP, protoFLV, protoWS} {
		r, players, cursors := fanoutPlayers(8, proto)
		const runs = 100
		for i := 0; i <= runs; i++ { // AllocsPerRun runs once more to warm up
			r.append(ringFrame(TagVideo, uint32(i*33), testVideoFrame(i, i == 0)))
		}
		allocs := testing.AllocsPerRun(runs, func() {
			for i, p := range players { // one frame to every player
				cursors[i] = deliver(r, p, cursors[i], 1)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %.1f allocations per frame across %d players", proto, allocs, len(players))
		}
		for i, p := range players {
			if cursors[i] != r.head || p.conn.(*discardConn).n == 0 {
				t.Fatalf("%v player %d: cursor %d of %d, %d bytes", proto, i, cursors[i], r.head, p.conn.(*discardConn).n)
			}
		}
	}
}

// BenchmarkFanout reports the cost of delivering one frame to one player
// (ns/op is per player per frame) for each protocol.
func BenchmarkFanout(b *testing.B) {
	for _, proto := range []wireProto{protoRTMP, protoFLV, protoWS} {
		b.Run(proto.String(), func(b *testing.B) {
			const nPlayers = 100
			r, players, cursors := fanoutPlayers(nPlayers, proto)
			payload := make([]byte, 10000)
			payload[0], payload[1] = 0x27, 0x01
			f := ringFrame(TagVideo, 0, payload)
			b.ReportAllocs()
			b.SetBytes(int64(len(f.Payload)))
			b.ResetTimer()
			for i := 0; i < b.N; i += nPlayers {
				b.StopTimer()
				r.append(newFrame(TagVideo, uint32(i), f.Info, payload))
				b.StartTimer()
				for j, p := range players {
					cursors[j] = deliver(r, p, cursors[j], maxBatch)
				}
			}
		})
	}
}

// BenchmarkNewFrame is the once-per-frame cost: building the RTMP, FLV and
// WebSocket forms of a 10 kB video frame.
func BenchmarkNewFrame(b *testing.B) {
	payload := make([]byte, 10000)
	payload[0], payload[1] = 0x27, 0x01
	info, _ := ClassifyTag(TagVideo, payload)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for i := 0; i < b.N; i++ {
		newFrame(TagVideo, uint32(i), info, payload)
	}
}

// tcpPlayers makes n RTMP players on real loopback sockets whose peers
// drain everything, attached to the fan-out of a fresh ring. The workers
// are not started: the caller runs the shards' passes itself.
func tcpPlayers(tb testing.TB, n int) (*gopRing, *fanout) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	h := newHub(defaultConfig())
	st := &Stream{hub: h}
	r := newGOPRing()
	fo := newFanout(h, r, 0)
	fo.start.Do(func() {})
	r.fan = fo
	var wg sync.WaitGroup
	tb.Cleanup(wg.Wait) // runs after the conns' cleanups (LIFO)
	for i := 0; i < n; i++ {
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			tb.Fatal(err)
		}
		server, err := ln.Accept()
		if err != nil {
			tb.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); io.Copy(io.Discard, client) }()
		tb.Cleanup(func() { server.Close(); client.Close() })
		p := newPlayer(h, &sessionInfo{}, protoRTMP, server, &sync.Mutex{})
		p.stream = st
		if fo.attach(p, 0) == nil {
			tb.Fatal("attach refused")
		}
	}
	return r, fo
}

// passAll runs one pass of every shard, as the workers do after an append.
func passAll(r *gopRing, fo *fanout) {
	for _, sh := range fo.shards {
		sh.pass(r, false)
	}
}

// The fast path (non-blocking writev from the fan-out workers) allocates
// nothing per player per frame (the ring's append allocates its next wake
// channel, once per frame whatever the number of players), and every
// player stays attached.
func TestFanoutFastPathNoAllocs(t *testing.T) {
	payload := testVideoFrame(0, true)
	perFrame := func(r *gopRing, fo *fanout) float64 {
		i := uint32(0)
		return testing.AllocsPerRun(100, func() {
			r.append(ringFrame(TagVideo, i*33, payload))
			i++
			passAll(r, fo)
		})
	}
	r0, fo0 := tcpPlayers(t, 0)
	r, fo := tcpPlayers(t, 8)
	if base, allocs := perFrame(r0, fo0), perFrame(r, fo); allocs != base {
		t.Errorf("%.1f allocations per frame with 8 players, %.1f with none", allocs, base)
	}
	attached := 0
	for _, sh := range fo.shards {
		for _, p := range sh.players {
			attached++
			if p.cursor != r.head {
				t.Errorf("player cursor %d, head %d", p.cursor, r.head)
			}
		}
	}
	if attached != 8 {
		t.Errorf("%d of 8 players still attached", attached)
	}
}

// BenchmarkFanoutTCP is the whole per-player cost of one frame on the fast
// path over real loopback sockets: pick the frame, one non-blocking
// writev, the kernel's copy included. An op is one frame to all players;
// ns/player-frame is per player per frame, and allocs/op (timed part
// only: the passes) is 0 when no player allocates.
func BenchmarkFanoutTCP(b *testing.B) {
	const nPlayers = 50
	r, fo := tcpPlayers(b, nPlayers)
	payload := benchVideoPayload(9328)
	info, _ := ClassifyTag(TagVideo, payload)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)) * nPlayers)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		r.append(newFrame(TagVideo, uint32(i*33), info, payload))
		b.StartTimer()
		passAll(r, fo)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/nPlayers, "ns/player-frame")
}
