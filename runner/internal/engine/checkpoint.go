package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/snapbuf"
)

// Durable checkpoints (Options.Checkpoint). Every Interval the job stops
// starting work; once nothing runs, the worker that saw the last task end
// writes a snapshot of the whole job at that bundle-commit boundary:
// every stage's watermarks and holds, its pending elements and queued
// bundles (the checkpointed residuals of unbounded reads, that is the
// sources' positions, among them), the streaming GroupByKeys' reducers,
// the keyed stages' state and timers, the side-input data, the TestStream
// position, metrics and counts. Nothing is in flight at that moment, so
// the snapshot is consistent without a distributed protocol (the aligned
// barrier of Flink, collapsed to one process). A job started with the same
// Dir resumes from the newest intact snapshot: its sources continue from
// their marks, and a sink that records its epochs (io/foreach) skips the
// ones the crashed run committed after the snapshot.
//
// A snapshot is one file, ckpt-<seq>.bin: a magic line, the keyed
// stages' state, the body and the CRC-32C of all (checkpoint_file.go).
// The pause lasts only while the keyed state is exported and the rest is
// captured: the cheap fields encoded, the GroupByKeys' reducers frozen
// (reduce.Frozen: copies of their pointer-free slabs) and their pending
// batches held. The job then resumes, and a goroutine encodes the body,
// appends it, syncs the temporary file, renames it and syncs the
// directory, so a crash leaves either the whole file or none; the next
// snapshot and the end of the job wait for it.
// A file whose checksum or framing is wrong is skipped in favour of the
// previous one; Keep files are kept.
//
// A snapshot records, per stage, a digest of its transforms' names and
// URNs and its coders. A pipeline whose digests differ is refused with
// an error naming the first stage that changed, unless Fresh is set.
//
// A restore reads the newest file twice, as a stream: once to check its
// checksum (a damaged file is skipped before anything is restored from
// it), once to restore it, the keyed state bulk-loaded into the stores
// as it is read (state.Store.Import).
//
// Limits: a grouping over bounded input (the batch shuffle) cannot be
// snapshotted while it holds data, so checkpoints wait until it is done;
// the snapshot's body (everything but the keyed state: pending elements,
// reducers, side inputs) is built in memory; the keyed state is exported
// during the pause, whole.

// Checkpointing configures durable checkpoints.
type Checkpointing struct {
	// Dir is the local directory of the snapshots; it is created if
	// missing. With Store set, it only names the store in errors and
	// logs (launch gives the URL).
	Dir string
	// Store, if set, holds the snapshots instead of Dir: a blob store's
	// bucket, for example.
	Store SnapshotStore
	// Interval is the time from the end of one snapshot's pause to the
	// start of the next (default 10 s), so that a snapshot that takes
	// longer than the interval still leaves the job that long to make
	// progress. Flink counts its interval between checkpoints' starts and
	// adds a minimum pause between one's end and the next's start; this
	// is Flink with both set to Interval (the pause's end standing for
	// the checkpoint's: the file is finished in the background, and the
	// next snapshot waits for it). A snapshot is also written when the
	// job ends.
	Interval time.Duration
	// Fresh starts the job from the beginning, deleting the snapshots in
	// Dir, instead of resuming from them.
	Fresh bool
	// Keep is how many snapshots are kept (default 2, at least 2: the one
	// before the newest is the fallback if the newest is damaged).
	Keep int
	// Background encodes the GroupByKeys' windows and waiting batches
	// after the job has resumed, from a copy of the windows taken in the
	// pause, instead of writing them into the file during the pause. The
	// pause is shorter on a busy machine (35 ms against 53-91 ms a
	// snapshot in the streaming benchmark at load 5-10; about the same
	// idle), but the copy and the batches held until the file is written
	// add memory, near the runner's soft memory limit the collector then
	// runs far more, and the CPU goes up: with a snapshot every second
	// that benchmark ran at 77% of its throughput without checkpoints at
	// 10M events idle (the default: 93%), and at 62-63% of the CPU at load
	// 5-10 (the default: 85-95%).
	Background bool
}

// CheckpointStats describe the snapshots a job wrote.
type CheckpointStats struct {
	// Written counts snapshots; Bytes is the largest one's size, Time
	// the last one's pause of the job (once nothing ran: exporting the
	// keyed state and writing the body, or with Background freezing its
	// costly parts; syncing and renaming the file, and with Background
	// encoding those parts, follow in the background), TotalTime the sum
	// over all.
	Written         int
	Bytes           int64
	Time, TotalTime time.Duration
	// Deferred counts intervals skipped because a batch shuffle held data.
	Deferred int
	// Restored is the sequence number of the snapshot the job resumed
	// from, 0 if it started afresh.
	Restored uint64
}

// CheckpointError is the error of a snapshot that cannot be written or
// read, or that belongs to another pipeline; File names it.
type CheckpointError struct {
	File string
	Err  error
}

func (e *CheckpointError) Error() string { return fmt.Sprintf("checkpoint %s: %v", e.File, e.Err) }

func (e *CheckpointError) Unwrap() error { return e.Err }

// ErrPipelineChanged is wrapped by the CheckpointError of a snapshot
// written by a different pipeline.
var ErrPipelineChanged = errors.New("the pipeline changed since the snapshot was written")

var ckptCRC = crc32.MakeTable(crc32.Castagnoli)

// checkpointer is a job's checkpoint state; its fields are guarded by j.mu.
type checkpointer struct {
	opts  Checkpointing
	store snapStore
	// where names the store (Dir) in errors.
	where string
	seq   uint64
	// due asks the workers to pause for a snapshot.
	due      bool
	deferLog bool
	stats    CheckpointStats
	// last is when the last snapshot was written (or the job started).
	last time.Time
	// v1 is set while a snapshot of version 1 is restored.
	v1 bool
	// flushing receives the result of finishing the newest snapshot
	// file in the background (commit), nil once received; flushName is
	// that file, flushBody its body and flushSize its size. buf is the
	// body's encoding, reused from one snapshot to the next; the
	// background owns it until wait returns.
	flushing  chan error
	flushName string
	flushBody *snapBody
	flushSize int64
	buf       []byte
	// head is the eager part of the last finished snapshot's body
	// (snapBody.w), whose memory the next one reuses.
	head []byte
}

func newCheckpointer(o Checkpointing) (*checkpointer, error) {
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	o.Keep = max(o.Keep, 2)
	st, where, err := newStore(o)
	if err != nil {
		return nil, &CheckpointError{File: where, Err: err}
	}
	return &checkpointer{opts: o, store: st, where: where}, nil
}

// files returns the snapshot files' names, newest first.
func (c *checkpointer) files() ([]string, error) {
	files, err := c.store.files()
	if err != nil {
		return nil, &CheckpointError{File: c.where, Err: err}
	}
	return files, nil
}

// startCheckpoints sets due once Interval has passed since the last
// snapshot ended, until stop is called. A fixed ticker would not do: a
// snapshot holds the job's lock while it is written, the tick that came
// meanwhile would make the next one due at once, and a job whose
// snapshots take longer than the interval would do nothing but write
// them (bench/recovery's load of 1 GiB of state stalled so, at 60 s).
func (j *job) startCheckpoints() (stop func()) {
	c := j.ckpt
	if c == nil {
		return func() {}
	}
	j.mu.Lock()
	c.last = time.Now()
	j.mu.Unlock()
	t := time.NewTimer(c.opts.Interval)
	done := make(chan struct{})
	go func() {
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			j.mu.Lock()
			wait := c.opts.Interval - time.Since(c.last)
			if wait <= 0 && !c.due && !j.done && j.err == nil {
				c.due = true
				j.cond.Broadcast()
			}
			j.mu.Unlock()
			if wait <= 0 {
				// Due now: the next check comes an interval on, and
				// then counts from the end of this snapshot.
				wait = c.opts.Interval
			}
			t.Reset(wait)
		}
	}()
	return func() { close(done) }
}

// checkpointNow writes a snapshot of the job, which must have nothing in
// flight; j.mu is held. A batch shuffle that holds data defers it to the
// next interval.
func (j *job) checkpointNow() error {
	c := j.ckpt
	c.due = false
	if s := j.busyShuffle(); s != nil {
		c.stats.Deferred++
		if !c.deferLog && j.opts.Logf != nil {
			j.opts.Logf("%s: checkpoints wait while %s groups bounded input with the batch shuffle", j.opts.Prefix, s.label())
			c.deferLog = true
		}
		return nil
	}
	start := time.Now()
	c.seq++
	if err := c.wait(); err != nil {
		return err
	}
	name := fmt.Sprintf("ckpt-%020d.bin", c.seq)
	f, body, err := j.beginSnapshot(name)
	if err != nil {
		c.seq--
		return &CheckpointError{File: c.store.path(name), Err: err}
	}
	c.commit(name, f, body)
	c.last = time.Now()
	took := c.last.Sub(start)
	c.stats.Written++
	c.stats.Time = took
	c.stats.TotalTime += took
	return nil
}

// beginSnapshot writes what snapshot c.seq must write while the job is
// paused: the keyed state, and the body, whole or, with Background, with
// holes for its costly parts, frozen. On error nothing is left behind.
func (j *job) beginSnapshot(name string) (*snapFile, *snapBody, error) {
	c := j.ckpt
	if c.opts.Background {
		body := j.encodeSnapshot(c.seq, c.head)
		c.head = nil
		f, err := beginSnapshotFile(c.store, name, j.keyedStores())
		if err != nil {
			body.release()
			return nil, nil, err
		}
		return f, body, nil
	}
	f, err := beginSnapshotFile(c.store, name, j.keyedStores())
	if err != nil {
		return nil, nil, err
	}
	f.startBody()
	body := j.encodeSnapshotTo(c.seq, c.buf, f.cw)
	err = body.w.Flush()
	c.buf, body.w.Buf = body.w.Buf[:0], nil
	if err != nil {
		f.w.abort()
		return nil, nil, err
	}
	return f, body, nil
}

// commit finishes the snapshot file f in the background, once the job has
// resumed: it encodes the body's frozen parts, appends the body, makes
// the file durable and renames it to name, then prunes. Until wait
// returns, the snapshot may be lost in a crash, and the one before it is
// the newest; the next snapshot and the end of the job wait for it.
func (c *checkpointer) commit(name string, f *snapFile, body *snapBody) {
	done := make(chan error, 1)
	c.flushing, c.flushName, c.flushBody = done, c.store.path(name), body
	buf := c.buf
	go func() {
		// A body written in the pause has no holes left: this writes the
		// trailer only.
		size, err := f.finishWith(func(to io.Writer) error {
			out := snapbuf.Writer{Buf: buf[:0], To: to}
			err := body.encodeTo(&out)
			buf = out.Buf
			return err
		})
		if err != nil {
			f.w.abort()
		} else {
			err = f.w.commit()
		}
		c.buf, c.flushSize = buf, size
		if err == nil {
			c.prune()
		}
		done <- err
	}()
}

// wait waits for the snapshot being finished in the background, if any,
// gives back what its body held and returns its error; j.mu is held.
func (c *checkpointer) wait() error {
	if c.flushing == nil {
		return nil
	}
	return c.finished(<-c.flushing)
}

// reap is wait for a snapshot already finished, and does nothing while it
// is being written. Workers call it between tasks, so that the batches'
// outputs a snapshot held are recycled as soon as it is written, not a
// whole interval later at the next snapshot; j.mu is held.
func (c *checkpointer) reap() error {
	if c.flushing == nil {
		return nil
	}
	select {
	case err := <-c.flushing:
		return c.finished(err)
	default:
		return nil
	}
}

// finished gives back what the snapshot written in the background held,
// and returns its error (err); j.mu is held.
func (c *checkpointer) finished(err error) error {
	c.flushing = nil
	c.head = c.flushBody.w.Buf[:0]
	c.flushBody.release()
	c.flushBody = nil
	if err != nil {
		return &CheckpointError{File: c.flushName, Err: err}
	}
	c.stats.Bytes = max(c.stats.Bytes, c.flushSize)
	return nil
}

// busyShuffle returns a grouped stage whose batch shuffle holds data not
// yet fully processed, or nil; j.mu is held.
func (j *job) busyShuffle() *stage {
	for _, s := range j.stages {
		if s.grouping == nil || s.ow == window.MaxTime {
			continue
		}
		if s.started {
			return s
		}
		for _, p := range j.stages {
			for _, t := range p.sinks {
				if t.stats.elements > 0 && slices.Contains(t.shuffles, s.grouping) {
					return s
				}
			}
		}
	}
	return nil
}

// prune removes all but the newest Keep snapshots, and temporary files
// of interrupted writes.
func (c *checkpointer) prune() {
	files, err := c.store.files()
	if err != nil {
		return
	}
	for _, f := range files[min(len(files), c.opts.Keep):] {
		c.store.remove(f)
	}
	c.store.cleanup()
}

// restoreLatest loads the newest intact snapshot into the new job, or
// starts it afresh if there is none (or Fresh asks so). Damaged files are
// skipped, with a log line; a snapshot of another pipeline, or one that
// is intact but does not decode, fails the job.
func (j *job) restoreLatest() error {
	c := j.ckpt
	files, err := c.files()
	if err != nil {
		return err
	}
	if c.opts.Fresh {
		for _, f := range files {
			if err := c.store.remove(f); err != nil {
				return &CheckpointError{File: c.store.path(f), Err: err}
			}
		}
		return nil
	}
	var damaged []string
	for _, f := range files {
		if err := verifySnapshotFile(c.store, f); err != nil {
			damaged = append(damaged, fmt.Sprintf("%s (%v)", f, err))
			if j.opts.Logf != nil {
				j.opts.Logf("%s: checkpoint %s is damaged, trying an older one: %v", j.opts.Prefix, c.store.path(f), err)
			}
			continue
		}
		if err := j.restoreFile(f); err != nil {
			return &CheckpointError{File: c.store.path(f), Err: err}
		}
		c.stats.Restored = c.seq
		return nil
	}
	if len(damaged) > 0 {
		return &CheckpointError{File: c.where, Err: fmt.Errorf("every snapshot is damaged: %s: %w", strings.Join(damaged, "; "), snapbuf.ErrCorrupt)}
	}
	return nil
}

// stageDigest identifies what a snapshot of the stage depends on: its
// input kind, its transforms' ids, names and URNs, and its coders. It
// leaves out payloads (user code may change between runs, as in Flink
// and Spark) and the data ports' endpoints, which differ per run.
func (s *stage) digest() []byte {
	h := sha256.New()
	put := func(parts ...string) {
		for _, p := range parts {
			var n [binary.MaxVarintLen64]byte
			h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
			h.Write([]byte(p))
		}
	}
	put(string(s.st.ID), s.st.Input.Kind.String())
	ts := s.desc.GetTransforms()
	for _, id := range slices.Sorted(maps.Keys(ts)) {
		t := ts[id]
		put(id, t.GetUniqueName(), t.GetSpec().GetUrn())
	}
	cs := s.desc.GetCoders()
	for _, id := range slices.Sorted(maps.Keys(cs)) {
		c := cs[id]
		put(id, c.GetSpec().GetUrn(), string(c.GetSpec().GetPayload()))
		put(c.GetComponentCoderIds()...)
	}
	return h.Sum(nil)
}

// names lists the stage's transforms' unique names, for errors.
func (s *stage) names() string {
	var ns []string
	for _, t := range s.desc.GetTransforms() {
		if n := t.GetUniqueName(); n != "" {
			ns = append(ns, n)
		}
	}
	slices.Sort(ns)
	return strings.Join(ns, ", ")
}
