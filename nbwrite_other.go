//go:build !unix

// Without writev(2) there is no fast path: every player writes from its
// own goroutine (hub.go).
package main

import "errors"

var errWouldBlock = errors.New("write would block")

type nbWriter struct{}

func newNBWriter(any) *nbWriter { return nil }

func (*nbWriter) write([][]byte) (int, error) { return 0, errWouldBlock }
