// Package fnapitest holds what the Fn API packages' tests share: running an
// SDK harness for the length of a test, and encoding string elements as
// the data plane carries them. It is imported from tests only.
package fnapitest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/fnapi/harness"
	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

var stringsWV = coder.NewWindowedValue(coder.String(), coder.GlobalWindow())

// EncodeStrings encodes ss as windowed values in the global window,
// concatenated, as a data stream carries them.
func EncodeStrings(ss ...string) []byte {
	var b []byte
	for _, s := range ss {
		b = stringsWV.Encode(b, window.InGlobalWindow(s))
	}
	return b
}

// DecodeStrings decodes concatenated windowed string values, failing t on
// malformed input.
func DecodeStrings(t testing.TB, b []byte) []string {
	t.Helper()
	var out []string
	for len(b) > 0 {
		v, n, err := stringsWV.Decode(b)
		if err != nil {
			t.Fatalf("decoding output: %v", err)
		}
		out = append(out, v.Elem)
		b = b[n:]
	}
	return out
}

// StartHarness runs harness.Run with opts until the test ends. The
// returned function stops the harness and returns Run's error; it may be
// called more than once. A Run error at the end of the test fails it.
func StartHarness(t testing.TB, opts *harness.Options) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- harness.Run(ctx, opts) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				err = errors.New("harness.Run did not return within 20s of cancel")
			}
		})
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("harness.Run: %v", err)
		}
	})
	return stop
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers, for capturing
// the output of worker processes that several goroutines copy.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
