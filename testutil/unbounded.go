package testutil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/testutil/internal/recordcmp"
)

// UnboundedStats says what CheckUnboundedCheckpoints did.
type UnboundedStats struct {
	Partitions int
	// Records is the number of records read from all partitions.
	Records int
	// Resumes is the number of readers opened at a checkpoint mark.
	Resumes int
}

// idlePoll is how long CheckUnboundedCheckpoints waits when a reader has
// nothing to return.
const idlePoll = 5 * time.Millisecond

// CheckUnboundedCheckpoints checks that every partition of src resumes
// exactly where its checkpoint mark says, as a runner resumes a read after
// each committed bundle. For each partition it reads a reference of up to
// maxRecords records (or to the partition's end), taking the reader's mark
// after every record; then, for every one of those marks, it sends the
// mark through JSON (as Read does between bundles), opens a new reader at
// it and reads the rest, which must equal the reference's rest. It also
// checks each reader's watermark: it never goes backwards and never passes
// the event time of a record the reader returns later. A reader with
// nothing to return is polled again until ctx is done.
func CheckUnboundedCheckpoints[T, P, M any](ctx context.Context, src unbounded.Source[T, P, M], maxRecords int, opts *Options[T]) (UnboundedStats, error) {
	o := opts.orDefault()
	c, err := recordcmp.New(o.Cmp, o.Less)
	if err != nil {
		return UnboundedStats{}, fmt.Errorf("testutil: %w", err)
	}
	parts, err := src.Partitions(ctx)
	if err != nil {
		return UnboundedStats{}, fmt.Errorf("testutil: Partitions: %w", err)
	}
	stats := UnboundedStats{Partitions: len(parts)}
	for _, p := range parts {
		ref, marks, err := readPartition(ctx, src, p, nil, maxRecords)
		if err != nil {
			return stats, err
		}
		stats.Records += len(ref)
		for k, m := range marks {
			resumed, err := roundTrip(m)
			if err != nil {
				return stats, fmt.Errorf("testutil: partition %v: mark after %s: %w", p, recordcmp.Plural(k, "record"), err)
			}
			rest, _, err := readPartition(ctx, src, p, &resumed, maxRecords-k)
			if err != nil {
				return stats, fmt.Errorf("testutil: partition %v resumed after %s: %w", p, recordcmp.Plural(k, "record"), err)
			}
			stats.Resumes++
			if !c.EqualSlices(ref[k:], rest) {
				return stats, fmt.Errorf("testutil: partition %v resumed at mark %+v (after %s) reads other records than the reference from there (-reference +resumed):\n%s",
					p, m, recordcmp.Plural(k, "record"), c.Diff(ref[k:], rest))
			}
		}
	}
	return stats, nil
}

// roundTrip returns m after a trip through JSON.
func roundTrip[M any](m M) (M, error) {
	var out M
	b, err := json.Marshal(m)
	if err != nil {
		return out, fmt.Errorf("does not encode as JSON: %w", err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return out, fmt.Errorf("does not decode from its JSON %s: %w", b, err)
	}
	return out, nil
}

// readPartition reads up to n records of partition p after mark, and the
// marks before each record and after the last (n+1 marks for n records,
// unless the partition ended first).
func readPartition[T, P, M any](ctx context.Context, src unbounded.Source[T, P, M], p P, mark *M, n int) ([]T, []M, error) {
	r, err := src.Open(ctx, p, mark)
	if err != nil {
		return nil, nil, fmt.Errorf("testutil: Open(%v): %w", p, err)
	}
	defer r.Close()
	var (
		recs  []T
		marks = []M{r.Mark()}
		wm    time.Time
	)
	for len(recs) < n {
		w := r.Watermark()
		if w.Before(wm) {
			return recs, marks, fmt.Errorf("testutil: partition %v: the watermark went back from %v to %v after %s", p, wm, w, recordcmp.Plural(len(recs), "record"))
		}
		wm = w
		rec, ok, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return recs, marks, fmt.Errorf("testutil: partition %v: Next after %s: %w", p, recordcmp.Plural(len(recs), "record"), err)
		}
		if !ok {
			select {
			case <-ctx.Done():
				return recs, marks, fmt.Errorf("testutil: partition %v: no record after %s: %w", p, recordcmp.Plural(len(recs), "record"), ctx.Err())
			case <-time.After(idlePoll):
			}
			continue
		}
		if !wm.IsZero() && rec.Time.Before(wm) {
			return recs, marks, fmt.Errorf("testutil: partition %v: record %s at %v is behind the watermark %v the reader reported before it", p, recordcmp.Record(rec.Value), rec.Time, wm)
		}
		recs = append(recs, rec.Value)
		marks = append(marks, r.Mark())
	}
	return recs, marks, nil
}
