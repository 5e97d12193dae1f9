// RTMP chunk stream: messages cut into chunks and reassembled.
//
// Adobe RTMP 1.0 specification:
//   - 5.3.1   chunk format: basic header, message header, extended
//     timestamp, chunk data
//   - 5.3.1.1 basic header: fmt (2 bits) and chunk stream id in 1, 2 or 3
//     bytes
//   - 5.3.1.2 message header types 0-3 (11, 7, 3 or 0 bytes)
//   - 5.3.1.3 extended timestamp, also repeated on type-3 chunks of a
//     message whose header carried one
//   - 5.4     protocol control messages: Set Chunk Size (5.4.1), Abort
//     (5.4.2), Acknowledgement (5.4.3), Window Acknowledgement Size
//     (5.4.4), Set Peer Bandwidth (5.4.5)
//   - 6.2 / 7.1.7 user control messages (event type + event data)
//
// The reader keeps per-chunk-stream state so interleaved chunk streams
// reassemble; every length the peer sends is checked against ChunkLimits
// before anything is allocated.
package main

import (
	"encoding/binary"
	"fmt"
	"io"
)

// MessageType is the RTMP message type id (section 5.4, 7.1).
type MessageType uint8

const (
	MsgSetChunkSize     MessageType = 1
	MsgAbort            MessageType = 2
	MsgAck              MessageType = 3
	MsgUserControl      MessageType = 4
	MsgWindowAckSize    MessageType = 5
	MsgSetPeerBandwidth MessageType = 6
	MsgAudio            MessageType = 8
	MsgVideo            MessageType = 9
	MsgDataAMF3         MessageType = 15
	MsgSharedObjectAMF3 MessageType = 16
	MsgCommandAMF3      MessageType = 17
	MsgDataAMF0         MessageType = 18
	MsgSharedObjectAMF0 MessageType = 19
	MsgCommandAMF0      MessageType = 20
	MsgAggregate        MessageType = 22
	csidProtocolControl             = 2 // chunk stream of protocol control messages (5.4)
)

var messageTypeNames = map[MessageType]string{
	MsgSetChunkSize: "SetChunkSize", MsgAbort: "Abort", MsgAck: "Acknowledgement",
	MsgUserControl: "UserControl", MsgWindowAckSize: "WindowAckSize",
	MsgSetPeerBandwidth: "SetPeerBandwidth", MsgAudio: "Audio", MsgVideo: "Video",
	MsgDataAMF3: "DataAMF3", MsgSharedObjectAMF3: "SharedObjectAMF3", MsgCommandAMF3: "CommandAMF3",
	MsgDataAMF0: "DataAMF0", MsgSharedObjectAMF0: "SharedObjectAMF0", MsgCommandAMF0: "CommandAMF0",
	MsgAggregate: "Aggregate",
}

func (t MessageType) String() string {
	if s, ok := messageTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("MessageType(%d)", uint8(t))
}

// Message is one whole RTMP message.
type Message struct {
	Type      MessageType
	StreamID  uint32 // message stream id (little-endian on the wire)
	Timestamp uint32 // absolute, milliseconds (deltas already applied)
	CSID      uint32 // chunk stream it arrived on
	Payload   []byte // owned by the receiver
}

// ChunkLimits bound what a peer can make the reader allocate.
type ChunkLimits struct {
	MaxMessageSize  uint32 // default 16 MiB when 0
	MaxChunkStreams int    // default 64 when 0
}

// Limits on chunk sizes: the specification allows 1..0x7FFFFFFF; more than
// 16 MiB per chunk serves no one and is refused.
const (
	defaultChunkSize = 128
	maxChunkSize     = 1 << 24
	extendedTSMarker = 0xFFFFFF // 3-byte timestamp field meaning "see extended timestamp"
)

// ChunkError is a malformed chunk stream.
type ChunkError struct {
	CSID   uint32
	Reason string
}

func (e *ChunkError) Error() string {
	return fmt.Sprintf("rtmp chunk stream %d: %s", e.CSID, e.Reason)
}

// chunkStream is the per-chunk-stream state of the reader (5.3.1.2: the
// headers of types 1-3 reuse fields of the previous chunk on the stream).
type chunkStream struct {
	started   bool   // a type-0 header was seen
	timestamp uint32 // absolute timestamp of the current message
	delta     uint32 // last timestamp delta (reused by type 3 on a new message)
	extended  bool   // the last header used the extended timestamp field
	length    uint32
	typ       MessageType
	streamID  uint32
	payload   []byte // the message being reassembled; nil between messages
}

// ChunkReader turns a chunk stream into messages.
type ChunkReader struct {
	r         io.Reader
	lim       ChunkLimits
	chunkSize uint32
	streams   map[uint32]*chunkStream
	n         uint64   // bytes consumed
	hdr       [11]byte // scratch for fixed-size header fields
}

func NewChunkReader(r io.Reader, lim ChunkLimits) *ChunkReader {
	if lim.MaxMessageSize == 0 {
		lim.MaxMessageSize = 16 << 20
	}
	if lim.MaxChunkStreams == 0 {
		lim.MaxChunkStreams = 64
	}
	return &ChunkReader{r: r, lim: lim, chunkSize: defaultChunkSize, streams: make(map[uint32]*chunkStream)}
}

// BytesRead is the number of bytes consumed, for acknowledgements.
func (r *ChunkReader) BytesRead() uint64 { return r.n }

func (r *ChunkReader) read(b []byte) error {
	n, err := io.ReadFull(r.r, b)
	r.n += uint64(n)
	return err
}

// ReadMessage returns the next whole message. Set Chunk Size and Abort
// are applied here and not returned.
func (r *ChunkReader) ReadMessage() (Message, error) {
	for {
		m, done, err := r.readChunk()
		if err != nil || !done {
			if err != nil {
				return Message{}, err
			}
			continue
		}
		handled, err := r.control(&m)
		if err != nil {
			return Message{}, err
		}
		if !handled {
			return m, nil
		}
	}
}

// control applies Set Chunk Size (5.4.1) and Abort (5.4.2).
func (r *ChunkReader) control(m *Message) (bool, error) {
	switch m.Type {
	case MsgSetChunkSize:
		if len(m.Payload) < 4 {
			return true, &ChunkError{m.CSID, "short Set Chunk Size"}
		}
		// bit 31 must be zero; the rest is the new size
		size := binary.BigEndian.Uint32(m.Payload) & 0x7FFFFFFF
		if size == 0 || size > maxChunkSize {
			return true, &ChunkError{m.CSID, fmt.Sprintf("chunk size %d out of range 1..%d", size, maxChunkSize)}
		}
		r.chunkSize = size
		return true, nil
	case MsgAbort:
		if len(m.Payload) < 4 {
			return true, &ChunkError{m.CSID, "short Abort"}
		}
		if cs := r.streams[binary.BigEndian.Uint32(m.Payload)]; cs != nil {
			cs.payload = nil
		}
		return true, nil
	}
	return false, nil
}

// readChunk reads one chunk; done reports that it completed a message.
func (r *ChunkReader) readChunk() (Message, bool, error) {
	format, csid, err := r.readBasicHeader()
	if err != nil {
		return Message{}, false, err
	}
	cs, err := r.stream(format, csid)
	if err != nil {
		return Message{}, false, err
	}
	if err := r.readMessageHeader(format, csid, cs); err != nil {
		return Message{}, false, err
	}
	return r.readChunkData(csid, cs)
}

// readBasicHeader decodes section 5.3.1.1:
//
//	 0 1 2 3 4 5 6 7
//	+-+-+-+-+-+-+-+-+
//	|fmt|   cs id   |   cs id 2..63; 0: one more byte (64..319),
//	+-+-+-+-+-+-+-+-+   1: two more bytes, little-endian (64..65599)
func (r *ChunkReader) readBasicHeader() (format uint8, csid uint32, err error) {
	b := r.hdr[:1]
	if err := r.read(b); err != nil {
		return 0, 0, err
	}
	// fmt: the message header type, top two bits
	format = b[0] >> 6
	// cs id: low six bits, with 0 and 1 announcing the longer forms
	csid = uint32(b[0] & 0x3f)
	switch csid {
	case 0:
		if err := r.read(r.hdr[:1]); err != nil {
			return 0, 0, err
		}
		csid = 64 + uint32(r.hdr[0])
	case 1:
		if err := r.read(r.hdr[:2]); err != nil {
			return 0, 0, err
		}
		csid = 64 + uint32(r.hdr[0]) + uint32(r.hdr[1])<<8
	}
	return format, csid, nil
}

// stream finds the chunk stream's state, creating it for a type-0 header.
func (r *ChunkReader) stream(format uint8, csid uint32) (*chunkStream, error) {
	cs := r.streams[csid]
	if cs == nil {
		if len(r.streams) >= r.lim.MaxChunkStreams {
			return nil, &ChunkError{csid, fmt.Sprintf("more than %d chunk streams", r.lim.MaxChunkStreams)}
		}
		cs = &chunkStream{}
		r.streams[csid] = cs
	}
	if format != 0 && !cs.started {
		return nil, &ChunkError{csid, fmt.Sprintf("type %d chunk with no previous header", format)}
	}
	return cs, nil
}

// readMessageHeader decodes section 5.3.1.2 for types 0-2, and the
// extended timestamp of 5.3.1.3 (also for type 3 when the stream's last
// header used it).
func (r *ChunkReader) readMessageHeader(format uint8, csid uint32, cs *chunkStream) error {
	sizes := [4]int{11, 7, 3, 0}
	h := r.hdr[:sizes[format]]
	if err := r.read(h); err != nil {
		return err
	}
	newMessage := cs.payload == nil
	if format <= 2 {
		if !newMessage {
			return &ChunkError{csid, fmt.Sprintf("type %d header inside an unfinished message", format)}
		}
		// timestamp (type 0) or timestamp delta (types 1, 2): 3 bytes
		ts := uint32(h[0])<<16 | uint32(h[1])<<8 | uint32(h[2])
		cs.extended = ts == extendedTSMarker
		if format <= 1 {
			// message length: 3 bytes; message type id: 1 byte
			cs.length = uint32(h[3])<<16 | uint32(h[4])<<8 | uint32(h[5])
			cs.typ = MessageType(h[6])
		}
		if format == 0 {
			// message stream id: 4 bytes, little-endian (the one exception)
			cs.streamID = binary.LittleEndian.Uint32(h[7:11])
		}
		if cs.extended {
			if ts, err := r.readExtended(); err != nil {
				return err
			} else {
				return r.applyTimestamp(format, cs, ts)
			}
		}
		return r.applyTimestamp(format, cs, ts)
	}
	// type 3: everything as before; the extended field is repeated
	if cs.extended {
		ts, err := r.readExtended()
		if err != nil {
			return err
		}
		if newMessage {
			cs.delta = ts
		}
	}
	if newMessage {
		cs.timestamp += cs.delta
	}
	return r.checkLength(csid, cs)
}

func (r *ChunkReader) readExtended() (uint32, error) {
	b := r.hdr[:4]
	if err := r.read(b); err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(b), nil
}

// applyTimestamp sets the message's absolute timestamp: type 0 carries it,
// types 1 and 2 add a delta to the previous one.
func (r *ChunkReader) applyTimestamp(format uint8, cs *chunkStream, ts uint32) error {
	if format == 0 {
		cs.timestamp, cs.delta, cs.started = ts, 0, true
	} else {
		cs.timestamp += ts
		cs.delta = ts
	}
	return nil
}

func (r *ChunkReader) checkLength(csid uint32, cs *chunkStream) error {
	if cs.length > r.lim.MaxMessageSize {
		return &ChunkError{csid, fmt.Sprintf("message of %d bytes, limit %d", cs.length, r.lim.MaxMessageSize)}
	}
	return nil
}

// readChunkData reads up to one chunk of payload and completes the
// message when all of it has arrived.
func (r *ChunkReader) readChunkData(csid uint32, cs *chunkStream) (Message, bool, error) {
	if err := r.checkLength(csid, cs); err != nil {
		return Message{}, false, err
	}
	if cs.payload == nil {
		cs.payload = []byte{} // a message has begun (even an empty one)
	}
	// The buffer grows with the data that really arrived, not with the
	// announced length: a peer announcing the largest message on every
	// chunk stream and sending nothing costs nothing (messageCap).
	n := min(cs.length-uint32(len(cs.payload)), r.chunkSize)
	start := len(cs.payload)
	if need := start + int(n); need > cap(cs.payload) {
		grown := make([]byte, start, messageCap(need, int(cs.length)))
		copy(grown, cs.payload)
		cs.payload = grown
	}
	cs.payload = cs.payload[:start+int(n)]
	if err := r.read(cs.payload[start:]); err != nil {
		return Message{}, false, err
	}
	if uint32(len(cs.payload)) < cs.length {
		return Message{}, false, nil
	}
	m := Message{Type: cs.typ, StreamID: cs.streamID, Timestamp: cs.timestamp, CSID: csid, Payload: cs.payload}
	cs.payload = nil
	return m, true, nil
}

// messageCap is the capacity a message buffer gets when it must hold
// need bytes of a message of length: the whole length once a quarter of
// it has arrived (a buffer is then at most four times what the peer
// sent), else twice need. So a message is copied two or three times
// while it arrives and ends in a buffer of its exact size, which the ring
// keeps as it is (newFrame copies a buffer with slack): append's
// doubling from the first chunk copied a 73 KB keyframe five times and
// left it in 128 KB, copied once more, three to four times the
// publisher's bytes in garbage for the collector.
func messageCap(need, length int) int {
	if 4*need >= length {
		return length
	}
	return 2 * need
}

// appendBasicHeader appends the 1-, 2- or 3-byte basic header.
func appendBasicHeader(dst []byte, format uint8, csid uint32) []byte {
	switch {
	case csid >= 2 && csid <= 63:
		return append(dst, format<<6|byte(csid))
	case csid >= 64 && csid <= 319:
		return append(dst, format<<6, byte(csid-64))
	default:
		v := csid - 64
		return append(dst, format<<6|1, byte(v), byte(v>>8))
	}
}

// AppendChunks appends m in chunked form: a type-0 chunk, then type-3
// continuation chunks of at most chunkSize payload bytes each. A
// timestamp of 0xFFFFFF or more goes in the extended field, repeated on
// every continuation. The result depends on nothing but its arguments,
// so it can be shared by every receiver using chunkSize.
func AppendChunks(dst []byte, csid uint32, m *Message, chunkSize uint32) []byte {
	dst = appendChunkHeader(dst, csid, m)
	p := m.Payload
	for first := true; first || len(p) > 0; first = false {
		if !first {
			dst = appendChunkContinuation(dst, csid, m)
		}
		k := min(uint32(len(p)), chunkSize)
		dst = append(dst, p[:k]...)
		p = p[k:]
	}
	return dst
}

// appendChunkHeader appends the header of m's first chunk (section
// 5.3.1): basic header with format 0, then the 11-byte message header,
// then the extended timestamp if the timestamp does not fit 24 bits.
func appendChunkHeader(dst []byte, csid uint32, m *Message) []byte {
	dst = appendBasicHeader(dst, 0, csid)
	ts := min(m.Timestamp, extendedTSMarker)
	n := len(m.Payload)
	dst = append(dst,
		byte(ts>>16), byte(ts>>8), byte(ts), // timestamp, 3 bytes
		byte(n>>16), byte(n>>8), byte(n), // message length, 3 bytes
		byte(m.Type)) // message type id
	dst = binary.LittleEndian.AppendUint32(dst, m.StreamID) // message stream id, little-endian
	return appendExtendedTimestamp(dst, m)
}

// appendChunkContinuation appends the header of each later chunk of m: a
// format 3 basic header, and the extended timestamp again if m has one
// (section 5.3.1.3).
func appendChunkContinuation(dst []byte, csid uint32, m *Message) []byte {
	return appendExtendedTimestamp(appendBasicHeader(dst, 3, csid), m)
}

func appendExtendedTimestamp(dst []byte, m *Message) []byte {
	if m.Timestamp >= extendedTSMarker {
		dst = binary.BigEndian.AppendUint32(dst, m.Timestamp)
	}
	return dst
}

// ChunkWriter writes whole messages, one Write per message. It is not safe
// for concurrent use.
type ChunkWriter struct {
	w         io.Writer
	chunkSize uint32
	buf       []byte
}

func NewChunkWriter(w io.Writer) *ChunkWriter {
	return &ChunkWriter{w: w, chunkSize: defaultChunkSize}
}

func (w *ChunkWriter) ChunkSize() uint32 { return w.chunkSize }

func (w *ChunkWriter) WriteMessage(csid uint32, m *Message) error {
	w.buf = AppendChunks(w.buf[:0], csid, m, w.chunkSize)
	_, err := w.w.Write(w.buf)
	return err
}

// SetChunkSize announces n to the peer, then uses it.
func (w *ChunkWriter) SetChunkSize(n uint32) error {
	m := setChunkSizeMessage(n)
	if err := w.WriteMessage(csidProtocolControl, &m); err != nil {
		return err
	}
	w.chunkSize = n
	return nil
}

func controlMessage(t MessageType, payload []byte) Message {
	return Message{Type: t, Payload: payload}
}

func setChunkSizeMessage(n uint32) Message {
	return controlMessage(MsgSetChunkSize, binary.BigEndian.AppendUint32(nil, n&0x7FFFFFFF))
}

func abortMessage(csid uint32) Message {
	return controlMessage(MsgAbort, binary.BigEndian.AppendUint32(nil, csid))
}

func ackMessage(seq uint32) Message {
	return controlMessage(MsgAck, binary.BigEndian.AppendUint32(nil, seq))
}

func windowAckSizeMessage(n uint32) Message {
	return controlMessage(MsgWindowAckSize, binary.BigEndian.AppendUint32(nil, n))
}

// BandwidthLimit is Set Peer Bandwidth's limit type (5.4.5).
type BandwidthLimit uint8

const (
	BandwidthHard    BandwidthLimit = 0
	BandwidthSoft    BandwidthLimit = 1
	BandwidthDynamic BandwidthLimit = 2
)

func (l BandwidthLimit) String() string {
	switch l {
	case BandwidthHard:
		return "Hard"
	case BandwidthSoft:
		return "Soft"
	case BandwidthDynamic:
		return "Dynamic"
	}
	return fmt.Sprintf("BandwidthLimit(%d)", uint8(l))
}

func setPeerBandwidthMessage(n uint32, limit BandwidthLimit) Message {
	return controlMessage(MsgSetPeerBandwidth, append(binary.BigEndian.AppendUint32(nil, n), byte(limit)))
}

// UserControlEvent is the event type of a user control message (7.1.7).
type UserControlEvent uint16

const (
	StreamBegin      UserControlEvent = 0
	StreamEOF        UserControlEvent = 1
	StreamDry        UserControlEvent = 2
	SetBufferLength  UserControlEvent = 3
	StreamIsRecorded UserControlEvent = 4
	PingRequest      UserControlEvent = 6
	PingResponse     UserControlEvent = 7
)

func (e UserControlEvent) String() string {
	names := [...]string{"StreamBegin", "StreamEOF", "StreamDry", "SetBufferLength", "StreamIsRecorded", "", "PingRequest", "PingResponse"}
	if int(e) < len(names) && names[e] != "" {
		return names[e]
	}
	return fmt.Sprintf("UserControlEvent(%d)", uint16(e))
}

// userControlMessage builds event type (2 bytes) + 4-byte arguments.
func userControlMessage(ev UserControlEvent, args ...uint32) Message {
	b := binary.BigEndian.AppendUint16(nil, uint16(ev))
	for _, a := range args {
		b = binary.BigEndian.AppendUint32(b, a)
	}
	return controlMessage(MsgUserControl, b)
}

// parseUserControl decodes event type and its 4-byte arguments (SetBufferLength has two).
func parseUserControl(p []byte) (UserControlEvent, []uint32, error) {
	if len(p) < 2 || (len(p)-2)%4 != 0 || len(p) > 2+4*2 {
		return 0, nil, &ChunkError{csidProtocolControl, fmt.Sprintf("user control message of %d bytes", len(p))}
	}
	ev := UserControlEvent(binary.BigEndian.Uint16(p))
	var args []uint32
	for q := p[2:]; len(q) >= 4; q = q[4:] {
		args = append(args, binary.BigEndian.Uint32(q))
	}
	return ev, args, nil
}
