//go:build !linux || !(amd64 || arm64 || riscv64 || loong64 || ppc64le || s390x)

// Elsewhere there is no sendmsg fast path (nbwrite_linux.go): every
// player writes from its own goroutine with the portable writer
// (writer.go, streamWriter), and sockets are read as they are.
package main

import (
	"net"
	"time"
)

type sendmsgWriter struct{ frameWriter }

func newSendmsgWriter(any, time.Duration) *sendmsgWriter { return nil }

// withRawReads returns c: connections read as they are.
func withRawReads(c net.Conn) net.Conn { return c }

// parkReads returns false: readers wait in their reads.
func parkReads(net.Conn, func()) bool { return false }
