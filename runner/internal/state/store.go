package state

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// TransformID names a stateful transform of the stage.
type TransformID string

// StateID names a state cell declaration of a transform.
type StateID string

// FamilyID names a timer family of a transform (a plain timer is a family
// used with the empty tag).
type FamilyID string

// Cell addresses one user state cell: a state of a transform, for one
// encoded user key in one window. Key is the deterministic nested encoding
// of the element's key; the store compares it bytewise and does not retain
// it.
type Cell struct {
	Transform TransformID
	State     StateID
	Key       []byte
	Window    window.Window
}

// Backend selects where a Store keeps its data.
type Backend int

const (
	// Memory keeps everything in process memory: the fastest, for state
	// that fits in memory. It is the default.
	Memory Backend = iota
	// Pebble keeps everything in a pebble LSM under a temporary directory,
	// holding in memory about Options.MemoryBudget, for state larger than
	// memory.
	Pebble
)

// Options configure a Store. The zero value is valid: an in-memory store
// for windows without allowed lateness.
type Options struct {
	// Backend selects the backend (default Memory).
	Backend Backend
	// MemoryBudget bounds the Pebble backend's caches and memtables, in
	// bytes (default 64 MiB): half for the block cache, a quarter for
	// memtables. It does not bound the Go heap of the bundles and their
	// callers; a process that must stay within a budget also sets its soft
	// memory limit (GOMEMLIMIT). Memory ignores it.
	MemoryBudget int64
	// Dir is the parent of the Pebble backend's temporary directory
	// (default os.TempDir()). The directory is removed by Close.
	Dir string
	// AllowedLateness of the stage's windowing strategy: the state and
	// timers of a window are garbage once the input watermark passes the
	// window's maximum timestamp plus it.
	AllowedLateness time.Duration
	// PageBytes bounds the value bytes of one page of a read (default 64
	// KiB); a page holds at least one value, however large.
	PageBytes int
	// CheckKeys makes bundles record the user keys they touch and fail with
	// ErrKeyConflict on a key an open bundle already touched: the engine's
	// per-key serialisation, checked. It costs a map lookup per operation;
	// for tests.
	CheckKeys bool
	// Logger receives the backend's errors (default: discarded).
	Logger *slog.Logger
}

// Store holds the user state and timers of one keyed stage: every state
// cell and every pending timer of its stateful transforms, for all keys and
// windows. Work on it goes through bundles (Begin); the engine's questions
// about the committed state (Hold, NextEventTime, DueKeys, Expired) are
// methods of the Store.
//
// A Store is safe for concurrent use, under one contract: bundles that are
// open at the same time touch disjoint user keys. The engine serialises
// work per key (one bundle per key at a time), which is what makes a bundle
// a consistent view of its keys without locks; Options.CheckKeys enforces
// the contract.
type Store struct {
	kv backend
	// mem is kv when it is the memory backend, whose partitions a bundle
	// looks up once per key (Bundle.memKey); nil otherwise.
	mem       *memBackend
	seq       atomic.Uint64
	lateness  window.Time
	pageBytes int

	// writeSets recycles committed bundles' write sets: their maps keep
	// their capacity, so a bundle of thousands of keys does not grow them
	// from empty again.
	writeSets sync.Pool

	checkKeys bool
	// keysMu guards inflight.
	keysMu   sync.Mutex
	inflight map[string]*Bundle

	// heads keeps where the queue-like indexes' live entries start
	// (heads.go).
	heads headCache
}

// Errors a caller branches on; wrapped errors match them with errors.Is.
var (
	// ErrDone is returned by a Bundle used after Commit or Discard.
	ErrDone = errors.New("state: bundle already committed or discarded")
	// ErrKeyConflict is returned, with Options.CheckKeys, when two open
	// bundles touch the same user key.
	ErrKeyConflict = errors.New("state: key touched by two open bundles")
	// ErrBadToken is returned for a continuation token that is not one the
	// same read returned.
	ErrBadToken = errors.New("state: bad continuation token")
	// ErrNotEmpty is returned by Import into a store that holds data.
	ErrNotEmpty = errors.New("state: import into a non-empty store")
)

// Open returns a new, empty Store. Close releases it.
func Open(opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.PageBytes <= 0 {
		o.PageBytes = 64 << 10
	}
	if o.MemoryBudget <= 0 {
		o.MemoryBudget = 64 << 20
	}
	if o.AllowedLateness < 0 {
		return nil, fmt.Errorf("state: negative allowed lateness %v", o.AllowedLateness)
	}
	s := &Store{
		lateness:  window.Time(o.AllowedLateness.Milliseconds()),
		pageBytes: o.PageBytes,
		checkKeys: o.CheckKeys,
		inflight:  map[string]*Bundle{},
	}
	switch o.Backend {
	case Memory:
		s.mem = newMemBackend()
		s.kv = s.mem
	case Pebble:
		dir := o.Dir
		if dir == "" {
			dir = os.TempDir()
		}
		kv, err := openPebble(dir, o.MemoryBudget, o.Logger)
		if err != nil {
			return nil, err
		}
		s.kv = kv
	default:
		return nil, fmt.Errorf("state: unknown backend %d", o.Backend)
	}
	return s, nil
}

// Close releases the store and removes its files. Close is called once,
// after every bundle has been committed or discarded.
func (s *Store) Close() error { return s.kv.close() }

// GCTime is the time after which the state and timers of w are garbage:
// the input watermark must pass it (IW > GCTime) for w to expire. It is
// w's maximum timestamp plus the allowed lateness, capped at MaxTime.
func (s *Store) GCTime(w window.Window) window.Time {
	m := w.MaxTimestamp()
	if m > window.MaxTime-s.lateness {
		return window.MaxTime
	}
	return m + s.lateness
}

// Begin opens a bundle: a private overlay over the committed state that
// sees its own writes and reaches the store only on Commit.
func (s *Store) Begin() *Bundle {
	w, _ := s.writeSets.Get().(*writeSet)
	if w == nil {
		w = newWriteSet()
	}
	b := &Bundle{s: s, w: w, earliest: [3]window.Time{window.MaxTime, window.MaxTime, window.MaxTime}}
	if s.checkKeys {
		b.keys = map[string]struct{}{}
	}
	return b
}

// touch registers key as used by b (Options.CheckKeys only).
func (s *Store) touch(b *Bundle, key []byte) error {
	if _, ok := b.keys[string(key)]; ok {
		return nil
	}
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	if other, ok := s.inflight[string(key)]; ok && other != b {
		return fmt.Errorf("state: key %q: %w", key, ErrKeyConflict)
	}
	s.inflight[string(key)] = b
	b.keys[string(key)] = struct{}{}
	return nil
}

// release forgets b's keys (Options.CheckKeys only).
func (s *Store) release(b *Bundle) {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	for k := range b.keys {
		delete(s.inflight, k)
	}
}
