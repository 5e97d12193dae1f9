//go:build !linux || !(amd64 || arm64 || riscv64 || loong64 || ppc64le || s390x)

// Elsewhere there is no gathered non-blocking write (nbwrite_linux.go):
// every player writes from its own goroutine with its connection's Write
// (hub.go, player.writeFlat).
package main

import (
	"errors"
	"io"
	"time"
)

var errWouldBlock = errors.New("write would block")

type nbWriter struct{}

type iovScratch = struct{}

func newNBWriter(any, time.Duration) *nbWriter { return nil }

func (*nbWriter) try([][]byte, *iovScratch) (int, error)  { return 0, errWouldBlock }
func (*nbWriter) wait([][]byte, *iovScratch) (int, error) { return 0, errWouldBlock }

// rawReader is nbwrite_linux.go's; elsewhere connections read as they are.
type rawReader struct{ io.Reader }

func newRawReader(any) *rawReader { return nil }
