// The RTMP connection layer shared by both ends: the server session
// (session.go) and the client (client.go) read and write messages through
// an rtmpConn, which does what every RTMP connection does whoever it
// talks to.
//
// Adobe RTMP 1.0 specification sections implemented here:
//   - 5.3 chunking: messages in and out through chunk.go's ChunkReader and
//     ChunkWriter; Set Chunk Size (5.4.1) is announced and switched to in
//     one step, so the writer's chunk size always matches what the peer
//     was told
//   - 5.4.3 Acknowledgement, sent each time the peer's window of bytes has
//     been read, and 5.4.4 Window Acknowledgement Size, which sets that
//     window
//   - 6.2 / 7.1.7 user control: Ping Request answered with Ping Response
//
// Concurrency, as golang.org/x/net/http2's Framer: one goroutine reads
// (readMessage, acknowledge, control); writes are serialized by the write
// lock, so any goroutine may write. The lock is shared with whoever writes
// on the socket directly (a session's hub player writes media with
// gathered writes under it).
package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"
)

// ControlError is a malformed protocol control or user control message.
type ControlError struct {
	Type   MessageType
	Reason string
}

func (e *ControlError) Error() string { return fmt.Sprintf("rtmp %v: %s", e.Type, e.Reason) }

// rtmpConn is the message layer of one RTMP connection.
type rtmpConn struct {
	conn net.Conn

	// reading side: only the reading goroutine touches these
	idle       idleReader    // the socket's reads, under the idle and hard limits (idleread.go)
	br         *bufio.Reader // the connection's read buffer, over idle
	in         swapReader    // what cr reads: br, or a bigger buffer in front of it
	cr         *ChunkReader  // nil until startReading (after the handshake)
	peerWindow uint32        // the peer's Window Acknowledgement Size
	acked      uint64        // BytesRead when we last acknowledged

	// writing side, under wmu
	wmu          writeLock
	bw           *bufio.Writer
	cw           *ChunkWriter
	werr         error         // sticky: a failed write leaves the chunk stream unusable
	writeTimeout time.Duration // each write's deadline; 0: none
}

// newRTMPConn reads through a buffer of readBuffer bytes and writes
// through one of writeBuffer bytes, each write bounded by writeTimeout
// (0: unbounded).
func newRTMPConn(c net.Conn, readBuffer, writeBuffer int, writeTimeout time.Duration) *rtmpConn {
	bw := bufio.NewWriterSize(c, writeBuffer)
	rc := &rtmpConn{conn: c, idle: idleReader{conn: c}, bw: bw, cw: NewChunkWriter(bw),
		writeTimeout: writeTimeout}
	rc.br = bufio.NewReaderSize(&rc.idle, readBuffer)
	return rc
}

// setIdle makes a read fail once the peer has sent no byte for d (0: no
// limit), counting from now; setReadUntil makes reads fail from t on
// (zero: never). Only the reading goroutine calls them; other deadlines
// set on the socket pass through (a zero limit hides nothing).
func (c *rtmpConn) setIdle(d time.Duration)  { c.idle.setIdle(d) }
func (c *rtmpConn) setReadUntil(t time.Time) { c.idle.setUntil(t) }
func (c *rtmpConn) idleLimit() time.Duration { return c.idle.limit() }

// handshakeIO is what the handshake (handshake.go) reads and writes:
// reads through the connection's read buffer, writes straight to it.
func (c *rtmpConn) handshakeIO() io.ReadWriter {
	return struct {
		io.Reader
		io.Writer
	}{c.br, c.conn}
}

// startReading starts the chunk stream after the handshake, on the same
// read buffer, so that nothing the peer sent after it is lost.
func (c *rtmpConn) startReading(lim ChunkLimits) {
	c.in.r = c.br
	c.cr = NewChunkReader(&c.in, lim)
}

// started reports whether startReading was called.
func (c *rtmpConn) started() bool { return c.cr != nil }

// swapReader is the reader under the ChunkReader, which keeps it for the
// whole connection; a bufio.Reader cannot grow, so a connection that
// starts to receive media swaps in a bigger one that reads from the
// small one (what the small one still holds comes first: no byte is lost
// or reordered). The swap happens between messages, and the ChunkReader
// holds no bytes of its own beyond the message it returned.
type swapReader struct {
	r     io.Reader
	grown bool
}

func (in *swapReader) Read(p []byte) (int, error) { return in.r.Read(p) }

// growReadBuffer puts a buffer of n bytes in front of the reader, once.
func (c *rtmpConn) growReadBuffer(n int) {
	if !c.in.grown {
		c.in.r, c.in.grown = bufio.NewReaderSize(c.in.r, n), true
	}
}

// drained: the read buffers hold nothing (what is left to read is in
// the socket), and no message is half read.
func (c *rtmpConn) drained() bool {
	if c.in.grown {
		if b, ok := c.in.r.(*bufio.Reader); ok && b.Buffered() > 0 {
			return false
		}
	}
	return c.br.Buffered() == 0
}

// readMessage returns the next whole message.
func (c *rtmpConn) readMessage() (Message, error) { return c.cr.ReadMessage() }

// bytesRead is the number of bytes the chunk stream has read (0 before
// startReading).
func (c *rtmpConn) bytesRead() uint64 {
	if c.cr == nil {
		return 0
	}
	return c.cr.BytesRead()
}

// acknowledge sends an Acknowledgement (5.4.3) each time the peer's
// window of bytes has been read. The sequence number is the byte count
// so far, modulo 2^32.
func (c *rtmpConn) acknowledge() error {
	n := c.cr.BytesRead()
	if c.peerWindow == 0 || n-c.acked < uint64(c.peerWindow) {
		return nil
	}
	c.acked = n
	return c.write(withCSID(csidProtocolControl, ackMessage(uint32(n))))
}

// withCSID puts m on chunk stream csid (protocol control and user control
// messages go on csidProtocolControl, 5.4 and 6.2).
func withCSID(csid uint32, m Message) Message {
	m.CSID = csid
	return m
}

// control handles what every connection handles of the peer's control
// messages: Window Acknowledgement Size (5.4.4: 4 bytes, the window) and
// Ping Request (answered with Ping Response). handled is false for
// anything else.
func (c *rtmpConn) control(m *Message) (handled bool, err error) {
	switch m.Type {
	case MsgWindowAckSize:
		if len(m.Payload) < 4 {
			return true, &ControlError{m.Type, "short payload"}
		}
		// window size: 4 bytes
		c.peerWindow = binary.BigEndian.Uint32(m.Payload)
		return true, nil
	case MsgUserControl:
		ev, args, err := parseUserControl(m.Payload)
		if err != nil || ev != PingRequest {
			return err != nil, err
		}
		if len(args) > 0 {
			return true, c.write(withCSID(csidProtocolControl, userControlMessage(PingResponse, args[0])))
		}
		return true, nil
	}
	return false, nil
}

// write sends messages, each on its m.CSID, in one flush. A Set Chunk
// Size message also switches the writer to the new size.
func (c *rtmpConn) write(msgs ...Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	if c.writeTimeout > 0 {
		c.conn.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	}
	for i := range msgs {
		var err error
		if msgs[i].Type == MsgSetChunkSize {
			err = c.cw.SetChunkSize(binary.BigEndian.Uint32(msgs[i].Payload))
		} else {
			err = c.cw.WriteMessage(msgs[i].CSID, &msgs[i])
		}
		if err != nil {
			c.werr = err
			return err
		}
	}
	if err := c.bw.Flush(); err != nil {
		c.werr = err
		return err
	}
	return nil
}

// closeWrites makes every later write fail with err.
func (c *rtmpConn) closeWrites(err error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.werr = err
}

// writeLock is the lock of the connection's writes, for a writer that
// writes on the socket directly (a session's hub player).
func (c *rtmpConn) writeLock() *writeLock { return &c.wmu }
