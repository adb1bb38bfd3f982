package filebased

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/sdk"
)

// tempPrefix starts the name of every Write's temporary directory:
// <dir of prefix>/.temp-beamgo-<base of prefix>-<random id>/.
const tempPrefix = ".temp-beamgo-"

// tempDirName returns the name (in the prefix's directory) of a temporary
// directory of the Write to base with the given id.
func tempDirName(base, id string) string { return tempPrefix + base + "-" + id }

// cleanupTimeout bounds the removal of a failed run's temporary files.
const cleanupTimeout = time.Minute

// writeRuns tracks the runs of one Write that this process submitted, so
// that a failed run's temporary directory is removed by the submitting
// process (the sdk.RunHook of the Write), wherever the job ran.
//
// The directory's name is random, picked by initFn when the job runs, so
// that jobs writing to the same prefix stay apart while the pipeline is
// built deterministically (workers in other processes rebuild it). The
// submitting process learns it in one of two ways:
//
//   - initFn ran in this process (the local runner, LOOPBACK workers): it
//     records the directory in the run of its context, or, when the
//     worker's context does not descend from the run's, in every run of
//     this Write then active in the process (normally one);
//   - otherwise (PROCESS or EXTERNAL workers, another runner's workers):
//     the run lists the prefix's temporary directories when it begins, and
//     after a failure removes those that appeared since.
//
// A writeRuns is safe for concurrent use.
type writeRuns struct {
	prefix string
	fs     *filesystem.Storage
	// mu guards active.
	mu     sync.Mutex
	active map[*writeRun]bool
}

// writeRun is one run of a Write, in the submitting process.
type writeRun struct {
	runs *writeRuns
	// before holds the temporary directories of the prefix when the run
	// began; beforeErr is why they could not be listed.
	before    map[string]bool
	beforeErr error
	// mu guards dirs.
	mu sync.Mutex
	// dirs are the temporary directories that initFn picked in this
	// process for this run.
	dirs map[string]bool
}

// runKey is the context key of the current run of a writeRuns.
type runKey struct{ runs *writeRuns }

func newWriteRuns(prefix string, fs *filesystem.Storage) *writeRuns {
	return &writeRuns{prefix: prefix, fs: fs, active: map[*writeRun]bool{}}
}

var _ sdk.RunHook = (*writeRuns)(nil).begin

// begin is the Write's sdk.RunHook.
func (w *writeRuns) begin(ctx context.Context) (context.Context, sdk.RunEnd) {
	run := &writeRun{runs: w, dirs: map[string]bool{}}
	run.before, run.beforeErr = w.tempDirs(ctx)
	w.mu.Lock()
	w.active[run] = true
	w.mu.Unlock()
	return context.WithValue(ctx, runKey{w}, run), run.end
}

// record notes that initFn, running with ctx, picked the temporary
// directory dir.
func (w *writeRuns) record(ctx context.Context, dir string) {
	if run, ok := ctx.Value(runKey{w}).(*writeRun); ok {
		run.add(dir)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for run := range w.active {
		run.add(dir)
	}
}

func (r *writeRun) add(dir string) {
	r.mu.Lock()
	r.dirs[dir] = true
	r.mu.Unlock()
}

// end removes the temporary directories of a failed run: those initFn
// recorded in this process or, if none, those that appeared during the run.
func (r *writeRun) end(ctx context.Context, runErr error) error {
	w := r.runs
	w.mu.Lock()
	delete(w.active, r)
	w.mu.Unlock()
	if runErr == nil {
		return nil // finalize removed them
	}
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	r.mu.Lock()
	dirs := make([]string, 0, len(r.dirs))
	for d := range r.dirs {
		dirs = append(dirs, d)
	}
	r.mu.Unlock()
	if len(dirs) == 0 {
		if r.beforeErr != nil {
			return fmt.Errorf("filebased: Write(%q): cannot find the temporary files of the failed run: %w", w.prefix, r.beforeErr)
		}
		now, err := w.tempDirs(ctx)
		if err != nil {
			return fmt.Errorf("filebased: Write(%q): cannot find the temporary files of the failed run: %w", w.prefix, err)
		}
		for d := range now {
			if !r.before[d] {
				dirs = append(dirs, d)
			}
		}
	}
	var errs []error
	for _, d := range dirs {
		if err := w.fs.DeleteAll(ctx, d); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("filebased: Write(%q): removing the temporary files of the failed run: %w", w.prefix, err)
	}
	return nil
}

// tempDirs returns the temporary directories of the Write's prefix that
// exist: those holding files and, in a local directory, empty ones.
func (w *writeRuns) tempDirs(ctx context.Context) (map[string]bool, error) {
	dir, base, err := filesystem.Split(w.prefix)
	if err != nil {
		return nil, err
	}
	stem := tempDirName(base, "")
	out := map[string]bool{}
	add := func(name string) {
		id, ok := strings.CutPrefix(name, stem)
		if ok && isRandomID(id) {
			out[filesystem.Join(dir, name+"/")] = true
		}
	}
	files, err := w.fs.List(ctx, filesystem.Join(dir, stem))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		// A temporary file is one level under its directory.
		d, _, err := filesystem.Split(f.Path)
		if err != nil {
			continue
		}
		if parent, name, err := filesystem.Split(d); err == nil && parent == dir {
			add(name)
		}
	}
	if filepath.IsAbs(dir) {
		// Local directories can be empty, which listing files misses.
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("filebased: list %s: %w", dir, err)
		}
		for _, e := range entries {
			if e.IsDir() {
				add(e.Name())
			}
		}
	}
	return out, nil
}

// isRandomID reports whether id has the form of randomID's results, so
// that the directories of a Write to "out" are not taken for those of a
// Write to "out-a".
func isRandomID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
