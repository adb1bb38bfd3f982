package jobservice

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"time"
)

// Defaults of the Options that bound what a server keeps.
const (
	// DefaultMaxMessageSize is the default largest gRPC message: Beam
	// submitters send pipelines of a few MB, and artifacts in chunks of
	// at most a few MB.
	DefaultMaxMessageSize = 64 << 20
	// DefaultPreparedTTL is how long a prepared job waits for Run.
	DefaultPreparedTTL = 10 * time.Minute
	// DefaultMaxPreparedBytes bounds the pipelines of prepared jobs not
	// yet run.
	DefaultMaxPreparedBytes = 256 << 20
	// DefaultFinishedTTL is how long a finished job is kept.
	DefaultFinishedTTL = time.Hour
	// DefaultMaxFinishedJobs is how many finished jobs are kept.
	DefaultMaxFinishedJobs = 100
	// DefaultMaxFinishedBytes bounds the pipelines of finished jobs kept.
	DefaultMaxFinishedBytes = 256 << 20
	// DefaultMaxArtifactBytes bounds the bytes staged per job.
	DefaultMaxArtifactBytes = 1 << 30
)

// sweepInterval is how often the janitor looks for expired jobs: a
// quarter of the shorter TTL, between 10ms and a minute.
func sweepInterval(o *Options) time.Duration {
	d := min(o.PreparedTTL, o.FinishedTTL) / 4
	return min(max(d, 10*time.Millisecond), time.Minute)
}

// janitor sweeps the jobs until the server stops.
func (s *Server) janitor() {
	defer close(s.janitorDone)
	t := time.NewTicker(sweepInterval(&s.opts))
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.sweep()
		case <-s.stopping:
			return
		}
	}
}

// sweep expires prepared jobs older than Options.PreparedTTL, forgets
// finished jobs beyond Options.FinishedTTL, MaxFinishedJobs and
// MaxFinishedBytes (oldest first) and removes the staging directories of
// the jobs it forgets. Expired jobs are forgotten at once: their
// pipelines are what the limit frees.
func (s *Server) sweep() {
	now := time.Now()
	deadline := now.Add(-s.opts.PreparedTTL)
	type ended struct {
		j  *job
		at time.Time
	}
	var finished []ended
	var forget []*job
	s.mu.Lock()
	for _, j := range s.jobs {
		if j.expireIfWaiting(deadline, s.opts.PreparedTTL) {
			forget = append(forget, j)
			s.logger.Debug("jobservice: prepared job expired", "job", j.id, "ttl", s.opts.PreparedTTL)
			continue
		}
		if _, done, at := j.lifecycle(); done {
			finished = append(finished, ended{j, at})
		}
	}
	sort.Slice(finished, func(a, b int) bool { return finished[a].at.After(finished[b].at) })
	var kept int
	var keptBytes int64
	for _, f := range finished {
		if kept < s.opts.MaxFinishedJobs && keptBytes+f.j.size <= s.opts.MaxFinishedBytes && now.Sub(f.at) < s.opts.FinishedTTL {
			kept++
			keptBytes += f.j.size
			continue
		}
		forget = append(forget, f.j)
	}
	var freed int64
	for _, j := range forget {
		delete(s.jobs, j.id)
		freed += j.size
		if s.opts.UI != nil {
			s.opts.UI.Remove(j.id)
		}
	}
	s.mu.Unlock()
	for _, j := range forget {
		s.release(j)
	}
	if freed >= returnMemoryBytes {
		// Without this the Go runtime keeps the freed heap for a while
		// (until a GC cycle and its scavenger return it), and a server
		// that was sent large pipelines once looks as big for minutes.
		// Twice: gRPC's pooled receive buffers (sync.Pool) survive the
		// first collection in the pools' victim cache, and CI saw two
		// 50 MiB requests still live after one.
		go func() {
			debug.FreeOSMemory()
			debug.FreeOSMemory()
		}()
	}
}

// returnMemoryBytes is how many bytes of pipelines forgotten at once make
// the server return freed memory to the operating system right away.
const returnMemoryBytes = 32 << 20

// preparedBytesLocked returns the encoded size of the pipelines of jobs
// prepared but neither started nor ended; s.mu is held.
func (s *Server) preparedBytesLocked() int64 {
	var n int64
	for _, j := range s.jobs {
		if started, done, _ := j.lifecycle(); !started && !done {
			n += j.size
		}
	}
	return n
}

// release removes j's staging directory, now or when its staging stream
// ends.
func (s *Server) release(j *job) {
	if j.release() {
		s.removeJobDir(j)
	}
}

// removeJobDir removes j's staging directory.
func (s *Server) removeJobDir(j *job) {
	if err := os.RemoveAll(filepath.Join(s.staging.path, j.id)); err != nil {
		s.logger.Warn("jobservice: removing a job's staging directory", "job", j.id, "error", err)
	}
}
