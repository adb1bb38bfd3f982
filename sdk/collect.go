package sdk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/sdk/coder"
)

// Collected holds the elements of a collection that Collect brought back
// to the submitting process. It is safe for concurrent use.
type Collected[T any] struct {
	// mu guards the fields below.
	mu   sync.Mutex
	vals []T
}

// Values returns the elements of the last successful run, in no
// particular order; nil before one.
func (c *Collected[T]) Values() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.vals)
}

// Collect brings the elements of pc back to the process that runs the
// pipeline, whatever runs its user code: after a successful run, the
// returned Collected holds them. It materializes through the runner: pc is
// read whole, as an iterable side input, by one ParDo over an Impulse,
// which writes it with pc's element coder to a file in dir, atomically (a
// retried bundle rewrites the same file); once the run has succeeded, a
// run hook (OnRun) in the submitting process reads the file into the
// Collected and removes it. Only committed output reaches a side input, so
// retries add nothing twice.
//
// dir must be a directory that the workers write and the submitter reads,
// named identically when a worker process rebuilds the pipeline: a path
// from the program's flags or a fixed one, not a fresh temporary
// directory (a worker would build a different pipeline, which the harness
// refuses, naming the transform). So Collect works on the local runner,
// with LOOPBACK workers, with PROCESS workers on the submitter's machine
// (the portable runner, our job server, Beam's Prism), and with an
// EXTERNAL worker pool on that machine started with the same dir; workers
// elsewhere need dir on storage both reach.
//
// Elements are compared in no order; an element in several windows comes
// back once per window. A pipeline with a Collect must not run twice at
// once: both runs would use the same file. Collect is meant for results
// that fit in memory (tests, a top-N, a summary); write large outputs with
// a sink.
func Collect[T any](s Scope, pc PCollection[T], dir string) *Collected[T] {
	c := &Collected[T]{}
	s = s.Scope("Collect")
	cdr, err := coder.Of[T]()
	if err != nil {
		s.fail("Collect", "no coder for the collected type: %v", err)
		return c
	}
	if dir == "" {
		s.fail("Collect", "empty directory")
		return c
	}
	view := AsIter(WindowInto(s, GlobalWindows(), pc))
	fn := &collectFn[T]{Dir: dir, view: view, coder: cdr}
	o := collect([]Option{WithSideInput(view), Name("Write")})
	imp := Impulse(s)
	t, _, _, ok := parDoN(s, "Write", fn, imp, o, nil, func(core *operator.ParDoCore[[]byte], inst any, _ []any) {
		core.Process = inst.(*collectFn[T]).ProcessElement
	})
	if !ok {
		return c
	}
	// Operator instances copy fn when they are built, after this.
	fn.file = collectFile(t.UniqueName)
	path := filepath.Join(dir, fn.file)
	s.p.OnRun(func(ctx context.Context) (context.Context, RunEnd) {
		os.Remove(path) // a stale file of a failed run
		return ctx, func(_ context.Context, runErr error) error {
			defer os.Remove(path)
			if runErr != nil {
				return nil
			}
			vals, err := readCollected(path, cdr)
			if err != nil {
				return fmt.Errorf("sdk: Collect %s: %w", t.UniqueName, err)
			}
			c.mu.Lock()
			c.vals = vals
			c.mu.Unlock()
			return nil
		}
	})
	return c
}

// collectFile names the file of the Collect whose writing ParDo is
// uniqueName.
func collectFile(uniqueName string) string {
	return ".beamgo-collect-" + strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r == ' ' {
			return '_'
		}
		return r
	}, uniqueName)
}

// collectFn writes its side input, whole, to Dir/file. Dir is exported so
// that the harness checks it names the same directory in every process.
type collectFn[T any] struct {
	Dir   string
	file  string
	view  *IterView[T]
	coder coder.Coder[T]
}

// ProcessElement runs once, for the Impulse's element.
func (f *collectFn[T]) ProcessElement(ctx context.Context, _ []byte) error {
	var buf []byte
	for v := range f.view.Get(ctx) {
		buf = f.coder.Encode(buf, v)
	}
	tmp, err := os.CreateTemp(f.Dir, f.file+".tmp-*")
	if err != nil {
		return fmt.Errorf("sdk: Collect: %w", err)
	}
	_, err = tmp.Write(buf)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(f.Dir, f.file))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("sdk: Collect: %w", err)
	}
	return nil
}

// readCollected decodes the elements in the file at path.
func readCollected[T any](path string, c coder.Coder[T]) ([]T, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("the run succeeded but wrote no %s: do the workers write the same directory?", path)
	}
	if err != nil {
		return nil, err
	}
	vals := []T{}
	for len(b) > 0 {
		v, n, err := c.Decode(b)
		if err != nil {
			return nil, fmt.Errorf("decode element %d: %w", len(vals), err)
		}
		vals = append(vals, v)
		b = b[n:]
	}
	return vals, nil
}
