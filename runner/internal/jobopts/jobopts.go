// Package jobopts holds the options that every runner of this module takes
// for a job (how many bundles run at once, the memory budget, attempts per
// bundle, the spill and state directories, progress, dynamic splitting),
// their defaults and their translation to the engine's options, in one
// place. The local
// runner, the portable runner and its proto-level core (fnrunner) embed Job
// in their Options and re-export it under their own name (local.Job,
// portable.Job, fnrunner.Job), so a user names it without importing an
// internal package.
package jobopts

import (
	"log"
	"os"

	"github.com/beamgo-dev/beamgo/runner/internal/engine"
)

// DefaultMemoryBudget is Job.MemoryBudget's default: 128 MiB.
const DefaultMemoryBudget = 128 << 20

// DefaultMaxAttempts is Job.MaxAttempts's default.
const DefaultMaxAttempts = 3

// Progress is a snapshot of a running job.
type Progress = engine.Progress

// StageProgress is one stage of a Progress.
type StageProgress = engine.StageProgress

// Checkpointing configures durable checkpoints: a directory, an interval,
// whether to start fresh, how many snapshots to keep.
type Checkpointing = engine.Checkpointing

// SnapshotStore holds a job's snapshots elsewhere than in a local
// directory (Checkpointing.Store): launch opens blob-store URLs as one.
type SnapshotStore = engine.SnapshotStore

// CheckpointError is the error of a snapshot that cannot be written or
// read, or that another pipeline wrote; its File names it.
type CheckpointError = engine.CheckpointError

// ErrPipelineChanged is wrapped by the CheckpointError of a snapshot that
// a different pipeline wrote.
var ErrPipelineChanged = engine.ErrPipelineChanged

// Job configures how a runner executes a job; the zero value means
// defaults. It is a plain value, safe to copy.
type Job struct {
	// Parallelism is how many bundles run at once (default: the runner's;
	// see its Options).
	Parallelism int
	// MemoryBudget is the memory a job may use, in bytes (default 128
	// MiB); the runner's Options say what it covers and how shuffles
	// spill past it.
	MemoryBudget int64
	// MaxAttempts is how often a bundle is tried before the job fails
	// (default 3).
	MaxAttempts int
	// TempDir holds shuffle spills (default: os.TempDir()).
	TempDir string
	// StateDir, when set, keeps the user state and timers of stateful
	// transforms on disk, in an embedded LSM store (pebble) under a
	// temporary directory made in StateDir and removed when the job ends,
	// so that state may be many times the memory budget. Empty (the
	// default) keeps them in memory, which is faster while they fit.
	StateDir string
	// StateMemory is the memory the on-disk state store may hold (block
	// caches and memtables), shared by the job's stateful stages; it
	// applies only with StateDir. The runner's Options say its default
	// and how it counts against MemoryBudget.
	StateMemory int64
	// Progress, when non-nil, receives a progress line about once a second.
	Progress func(Progress)
	// StateBytes, when non-nil, is told how the memory of the windowing
	// state the job's streaming GroupByKeys hold (buffered values,
	// windows, keys, timers) changes: each change of a MiB or more, as a
	// difference, and at the end the difference back to zero, so that one
	// function may sum several jobs' state. It may be called from several
	// goroutines at once. Past its values (which spill past a quarter of
	// the budget) that state cannot spill; the local runner raises
	// its soft memory limit by it on its own.
	StateBytes func(delta int64)
	// DisableDynamicSplitting turns off splitting running bundles (reads
	// and channel splits) when bundle slots idle.
	DisableDynamicSplitting bool
	// Drain, when non-nil, drains the job once closed: unbounded reads
	// stop at their next checkpoint, every watermark advances to the end
	// of time, windows fire their final panes, and Run returns the job's
	// result. Cancelling Run's context stops the job at once instead.
	Drain <-chan struct{}
	// Logf, when non-nil, receives what the runner reports without failing
	// the job (the errors of bundle finalizers; default: the log package).
	Logf func(format string, args ...any)
	// Checkpoint, when non-nil, makes the job durable: it writes a
	// snapshot of itself to Checkpoint.Dir every Checkpoint.Interval and
	// when it ends, and a job started again with the same directory
	// resumes from the newest intact snapshot (see the README's table of
	// delivery guarantees).
	Checkpoint *Checkpointing
}

// WithDefaults returns j with its zero fields set to the defaults;
// parallelism is the runner's default Parallelism.
func (j Job) WithDefaults(parallelism int) Job {
	if j.Parallelism <= 0 {
		j.Parallelism = parallelism
	}
	if j.MemoryBudget <= 0 {
		j.MemoryBudget = DefaultMemoryBudget
	}
	if j.MaxAttempts <= 0 {
		j.MaxAttempts = DefaultMaxAttempts
	}
	if j.TempDir == "" {
		j.TempDir = os.TempDir()
	}
	if j.Logf == nil {
		j.Logf = log.Printf
	}
	return j
}

// Engine returns the engine's options for j, whose errors start with
// prefix (the runner's name).
func (j Job) Engine(prefix string) engine.Options {
	return engine.Options{
		Parallelism:             j.Parallelism,
		MemoryBudget:            j.MemoryBudget,
		MaxAttempts:             j.MaxAttempts,
		TempDir:                 j.TempDir,
		StateDir:                j.StateDir,
		StateMemory:             j.StateMemory,
		Progress:                j.Progress,
		StateBytes:              j.StateBytes,
		DisableDynamicSplitting: j.DisableDynamicSplitting,
		Prefix:                  prefix,
		Drain:                   j.Drain,
		Logf:                    j.Logf,
		Checkpoint:              j.Checkpoint,
	}
}
