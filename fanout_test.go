package main

import (
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
			b.SetBytes(int64(len(f.flv)))
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
