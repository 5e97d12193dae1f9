package main

import (
	"io"
	"runtime/debug"
	"testing"
)

// -gc-percent sets the GC target, 20 unless given; GOGC in the
// environment wins over both.
func TestGCPercent(t *testing.T) {
	cfg, err := loadConfig(nil, io.Discard)
	if err != nil || cfg.GCPercent != 20 {
		t.Fatalf("default gc percent %d (%v), want 20", cfg.GCPercent, err)
	}
	cfg, err = loadConfig([]string{"-gc-percent", "30"}, io.Discard)
	if err != nil || cfg.GCPercent != 30 {
		t.Fatalf("-gc-percent 30: %d (%v)", cfg.GCPercent, err)
	}

	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	gcPercent := func() int { p := debug.SetGCPercent(-1); debug.SetGCPercent(p); return p }

	t.Setenv("GOGC", "")
	setGCPercent(30)
	if p := gcPercent(); p != 30 {
		t.Errorf("without GOGC: gc percent %d, want 30", p)
	}
	t.Setenv("GOGC", "200")
	setGCPercent(40)
	if p := gcPercent(); p != 30 {
		t.Errorf("with GOGC=200: gc percent %d, want it left at 30", p)
	}
}
