package testutil

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"

	"github.com/beamgo-dev/beamgo/io/source"
	"github.com/beamgo-dev/beamgo/rangetracker"
	"github.com/beamgo-dev/beamgo/testutil/internal/recordcmp"
)

// ReadFromSource reads the records of src in the range [start, stop) with a
// new tracker from src.NewRangeTracker, as a runner reads a bundle. Read
// gets the tracker wrapped, to watch what the reader does with it (so a
// Read must not type-assert its tracker). Besides
// the errors of the source, it reports a Read that breaks the tracker
// contract: a record returned before any successful TryClaim, after a
// TryClaim that returned false or failed, or without a TryClaim or
// SetCurrentPosition since the previous record, and a Read that ends
// without an error after the tracker returned one.
//
// The type parameters are inferred from the source's methods:
// ReadFromSource(ctx, src, 0, 100).
func ReadFromSource[T, P any](ctx context.Context, src source.Bounded[T, P], start, stop P) ([]T, error) {
	recs, _, err := readRange(ctx, src, start, stop)
	return recs, err
}

// ReadAll reads the records of src's DefaultRange, as ReadFromSource does.
func ReadAll[T, P any](ctx context.Context, src source.Bounded[T, P]) ([]T, error) {
	start, stop := src.DefaultRange()
	return ReadFromSource(ctx, src, start, stop)
}

// readRange reads [start, stop) and also returns each record's position:
// that of the last TryClaim or SetCurrentPosition before it.
func readRange[T, P any](ctx context.Context, src source.Bounded[T, P], start, stop P) ([]T, []P, error) {
	r, err := openReader(ctx, src, start, stop)
	if err != nil {
		return nil, nil, err
	}
	defer r.close()
	if err := r.drain(); err != nil {
		return r.records, r.positions, err
	}
	return r.records, r.positions, nil
}

// recorder is the tracker a checker hands to Read. It passes every call to
// the source's own tracker and notes what the reader reported, so that each
// record the reader returns can be checked against the contract and given
// a position. Splitters use the source's tracker directly.
type recorder[P any] struct {
	rangetracker.RangeTracker[P]

	// mu guards the fields below.
	mu sync.Mutex
	// claimed is set by the first successful TryClaim.
	claimed bool
	// reported is set by a successful TryClaim or SetCurrentPosition and
	// cleared when the checker takes a record.
	reported bool
	// pos is the position of the last successful report.
	pos P
	// failed is set when a TryClaim returned false, at failedAt.
	failed   bool
	failedAt P
	// err is the first error the tracker returned to the reader, from call.
	err  error
	call string

	// onCall, if set before Read starts, is called before each TryClaim and
	// SetCurrentPosition.
	onCall func()
}

func (r *recorder[P]) TryClaim(p P) (bool, error) {
	if r.onCall != nil {
		r.onCall()
	}
	ok, err := r.RangeTracker.TryClaim(p)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err != nil:
		if r.err == nil {
			r.err, r.call = err, fmt.Sprintf("TryClaim(%s)", recordcmp.Pos(p))
		}
	case ok:
		r.claimed, r.reported, r.pos = true, true, p
	case !r.failed:
		r.failed, r.failedAt = true, p
	}
	return ok, err
}

func (r *recorder[P]) SetCurrentPosition(p P) error {
	if r.onCall != nil {
		r.onCall()
	}
	err := r.RangeTracker.SetCurrentPosition(p)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if r.err == nil {
			r.err, r.call = err, fmt.Sprintf("SetCurrentPosition(%s)", recordcmp.Pos(p))
		}
		return err
	}
	r.reported, r.pos = true, p
	return nil
}

// took checks the reader's reports for the record it just returned, the
// i-th (from 0), and returns the record's position.
func (r *recorder[P]) took(i int) (P, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	switch {
	case r.err != nil:
		err = fmt.Errorf("returned record #%d after %s failed (%v): Read must end with the tracker's error", i, r.call, r.err)
	case r.failed:
		err = fmt.Errorf("returned record #%d after TryClaim(%s) returned false: Read must stop at the first failed claim", i, recordcmp.Pos(r.failedAt))
	case !r.claimed:
		err = fmt.Errorf("returned record #%d before any successful TryClaim: the first record of a range must be a split point, claimed with TryClaim", i)
	case !r.reported:
		err = fmt.Errorf("returned record #%d without a TryClaim or SetCurrentPosition since record #%d: Read must report every record's position to the tracker", i, i-1)
	}
	r.reported = false
	return r.pos, err
}

// ended checks the reader's reports when Read ended without an error.
func (r *recorder[P]) ended() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return fmt.Errorf("ended without an error after %s failed (%v): Read must end with the tracker's error", r.call, r.err)
	}
	return nil
}

// reader is one Read of a range, pulled record by record so that a checker
// can split between records.
type reader[T, P any] struct {
	start, stop P
	// rt is the source's tracker; the reader gets rec, which wraps it.
	rt  rangetracker.RangeTracker[P]
	rec *recorder[P]

	next    func() (T, error, bool)
	release func()

	records   []T
	positions []P
	done      bool
}

func openReader[T, P any](ctx context.Context, src source.Bounded[T, P], start, stop P) (*reader[T, P], error) {
	rt := src.NewRangeTracker(start, stop)
	if rt == nil {
		return nil, fmt.Errorf("testutil: NewRangeTracker(%s, %s) returned nil", recordcmp.Pos(start), recordcmp.Pos(stop))
	}
	rec := &recorder[P]{RangeTracker: rt}
	seq := src.Read(ctx, rec)
	if seq == nil {
		return nil, fmt.Errorf("testutil: Read of [%s, %s) returned a nil sequence", recordcmp.Pos(start), recordcmp.Pos(stop))
	}
	next, stopFn := iter.Pull2(seq)
	return &reader[T, P]{start: start, stop: stop, rt: rt, rec: rec, next: next, release: stopFn}, nil
}

func (r *reader[T, P]) close() { r.release() }

func (r *reader[T, P]) rangeString() string {
	return fmt.Sprintf("[%s, %s)", recordcmp.Pos(r.start), recordcmp.Pos(r.stop))
}

// step reads one record; it returns false at the end of the range.
func (r *reader[T, P]) step() (bool, error) {
	if r.done {
		return false, nil
	}
	rec, err, ok := r.next()
	if !ok {
		r.done = true
		if err := r.rec.ended(); err != nil {
			return false, fmt.Errorf("testutil: Read of %s %w", r.rangeString(), err)
		}
		return false, nil
	}
	if err != nil {
		r.done = true
		return false, fmt.Errorf("testutil: Read of %s failed after %s: %w", r.rangeString(), recordcmp.Plural(len(r.records), "record"), err)
	}
	pos, err := r.rec.took(len(r.records))
	if err != nil {
		r.done = true
		return false, fmt.Errorf("testutil: Read of %s %w", r.rangeString(), err)
	}
	r.records = append(r.records, rec)
	r.positions = append(r.positions, pos)
	return true, nil
}

// errShort reports a Read that ended before the number of records a
// checker wanted to read.
var errShort = errors.New("ended early")

// take reads until n records have been read in all.
func (r *reader[T, P]) take(n int) error {
	for len(r.records) < n {
		ok, err := r.step()
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("testutil: Read of %s %w: it returned %s, want at least %d (is the source deterministic?)", r.rangeString(), errShort, recordcmp.Plural(len(r.records), "record"), n)
		}
	}
	return nil
}

// drain reads to the end of the range.
func (r *reader[T, P]) drain() error {
	for {
		ok, err := r.step()
		if err != nil || !ok {
			return err
		}
	}
}
