package jobservice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/internal/atomicfile"
	"github.com/beamgo-dev/beamgo/proto/validate"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
	"github.com/beamgo-dev/beamgo/runner/portable/fnrunner"
)

// DefaultRestartPoolWait is Options.RestartPoolWait's default.
const DefaultRestartPoolWait = time.Minute

// The files of a job's record, in its directory under Options.JobsDir.
// The pipeline is written first and the record last, each atomically, so
// a record file means a whole record.
const (
	recordFile   = "job.json"
	pipelineFile = "pipeline.pb"
	jobsLockName = "lock"
)

// jobID matches the ids Prepare gives, which name the records'
// directories.
var jobID = regexp.MustCompile(`^job-([0-9]+)(-[A-Za-z0-9_-]*)?$`)

// records keeps the durable records of a server's checkpointed jobs in
// Options.JobsDir, which the server holds locked while it runs. It is
// safe for concurrent use: each job writes only its own directory.
type records struct {
	dir  string
	lock *os.File
}

// record is what a server started again needs, beyond the pipeline, to
// run a checkpointed job again. Fresh is never recorded: a job run again
// resumes from its snapshots.
type record struct {
	ID                 string        `json:"id"`
	Name               string        `json:"name,omitempty"`
	CheckpointDir      string        `json:"checkpoint_dir"`
	CheckpointInterval time.Duration `json:"checkpoint_interval_ns,omitempty"`
	CheckpointKeep     int           `json:"checkpoint_keep,omitempty"`
	// Submitted is when the job was first run; Restarts counts the times
	// a server started again ran it.
	Submitted time.Time `json:"submitted"`
	Restarts  int       `json:"restarts"`
}

// openRecords creates dir if needed and locks it, so that two servers do
// not both run its jobs again.
func openRecords(dir string) (*records, error) {
	if !filepath.IsAbs(dir) {
		return nil, &OptionError{Option: "JobsDir", Value: dir, Reason: "not an absolute path"}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, &OptionError{Option: "JobsDir", Value: dir, Reason: "cannot be created", Err: err}
	}
	// Whoever can write here chooses what the server runs at its next
	// start (within its allow-lists): only this user may.
	if err := checkPrivateDir("jobs directory", dir); err != nil {
		return nil, &OptionError{Option: "JobsDir", Value: dir, Reason: "not private to this user", Err: err}
	}
	lock, err := lockFile(filepath.Join(dir, jobsLockName))
	if err != nil {
		return nil, &OptionError{Option: "JobsDir", Value: dir, Reason: "cannot be locked", Err: err}
	}
	return &records{dir: dir, lock: lock}, nil
}

// close releases the lock on the directory.
func (r *records) close() { r.lock.Close() }

// write records j: its pipeline, then its record.
func (r *records) write(rec *record, p *pipepb.Pipeline) error {
	dir := filepath.Join(r.dir, rec.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	pb, err := proto.Marshal(p)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, pipelineFile), ".tmp-*", pb); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, recordFile), ".tmp-*", js)
}

// remove deletes the record of job id.
func (r *records) remove(id string) error {
	return os.RemoveAll(filepath.Join(r.dir, id))
}

// load returns the whole records in the directory with their pipelines,
// an error for each it cannot read (left in place for the operator), and
// the largest job number among them.
func (r *records) load() (_ []*record, _ []*pipepb.Pipeline, _ []error, maxID int) {
	ents, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, nil, []error{err}, 0
	}
	var recs []*record
	var pipes []*pipepb.Pipeline
	var errs []error
	for _, e := range ents {
		if !e.IsDir() || !jobID.MatchString(e.Name()) {
			continue
		}
		dir := filepath.Join(r.dir, e.Name())
		rec, p, err := readRecord(dir)
		// New jobs get ids after those of every record, readable or not.
		maxID = max(maxID, idNumber(e.Name()))
		switch {
		case errors.Is(err, os.ErrNotExist):
			// Killed while writing the record: the job had not run yet.
			os.RemoveAll(dir)
		case err != nil:
			errs = append(errs, fmt.Errorf("job record %s: %w", dir, err))
		case rec.ID != e.Name():
			errs = append(errs, fmt.Errorf("job record %s: names job %q", dir, rec.ID))
		default:
			recs, pipes = append(recs, rec), append(pipes, p)
		}
	}
	return recs, pipes, errs, maxID
}

// idNumber returns the number of a job id, 0 if it has none.
func idNumber(id string) int {
	if m := jobID.FindStringSubmatch(id); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			return n
		}
	}
	return 0
}

// readRecord reads the record in dir and its pipeline.
func readRecord(dir string) (*record, *pipepb.Pipeline, error) {
	js, err := os.ReadFile(filepath.Join(dir, recordFile))
	if err != nil {
		return nil, nil, err
	}
	rec := &record{}
	if err := json.Unmarshal(js, rec); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", recordFile, err)
	}
	pb, err := os.ReadFile(filepath.Join(dir, pipelineFile))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", pipelineFile, err)
	}
	p := &pipepb.Pipeline{}
	if err := proto.Unmarshal(pb, p); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", pipelineFile, err)
	}
	return rec, p, nil
}

// recordStart records a checkpointed job that starts running, if the
// server keeps records; a job run again has its record already. A
// record that cannot be written leaves the job running, with a warning
// that it will not be run again.
func (s *Server) recordStart(j *job) {
	if s.records == nil || j.checkpoint == nil || j.restarted {
		return
	}
	c := j.checkpoint
	rec := &record{ID: j.id, Name: j.name, CheckpointDir: c.Dir, CheckpointInterval: c.Interval, CheckpointKeep: c.Keep, Submitted: time.Now().UTC()}
	if err := s.records.write(rec, j.pipeline); err != nil {
		j.message(jobpb.JobMessage_JOB_MESSAGE_WARNING, fmt.Sprintf("jobservice: cannot record the job in %s, so a restarted job server will not run it again: %v", s.records.dir, err))
	}
}

// recordEnd removes the record of a job that ended, unless the server
// stopped it (suspended it): a server started again then runs it again,
// as after a crash.
func (s *Server) recordEnd(j *job) {
	if s.records == nil || j.checkpoint == nil {
		return
	}
	if j.wasSuspended() {
		s.logger.Info("jobservice: the server stops; the checkpointed job's record is kept, to run it again at the next start", "job", j.id, "records", s.records.dir)
		return
	}
	if err := s.records.remove(j.id); err != nil {
		s.logger.Warn("jobservice: removing a finished job's record", "job", j.id, "error", err)
	}
}

// restartJobs runs again the jobs recorded in Options.JobsDir, which were
// running when a server with that directory died or stopped. It runs at
// Start, before the server serves.
func (s *Server) restartJobs() {
	recs, pipes, errs, maxID := s.records.load()
	s.mu.Lock()
	s.nextID = max(s.nextID, maxID)
	s.mu.Unlock()
	for _, err := range errs {
		s.logger.Warn("jobservice: cannot run a recorded job again; its record is left for the operator", "error", err)
	}
	for i, rec := range recs {
		s.restartJob(rec, pipes[i])
	}
}

// restartJob registers the recorded job under its id and runs it again
// from its newest snapshot. A job the server's options no longer allow,
// or whose pipeline no longer plans, ends FAILED with the reason, and its
// record is removed.
func (s *Server) restartJob(rec *record, p *pipepb.Pipeline) {
	token, err := randomToken()
	if err != nil {
		s.logger.Warn("jobservice: cannot run a recorded job again", "job", rec.ID, "error", err)
		return
	}
	j := newJob(rec.ID, rec.Name, p, nil, token)
	j.restarted = true
	err = s.checkRestart(j, rec)
	s.mu.Lock()
	s.jobs[j.id] = j
	s.mu.Unlock()
	if err != nil {
		j.message(jobpb.JobMessage_JOB_MESSAGE_ERROR, fmt.Sprintf("jobservice: job %q was running when the job server stopped, and cannot run again: %v", j.id, err))
		j.setState(jobpb.JobState_FAILED)
		s.records.remove(j.id)
		s.logger.Warn("jobservice: a recorded job cannot run again", "job", j.id, "error", err)
		return
	}
	rec.Restarts++
	if err := s.records.write(rec, p); err != nil {
		s.logger.Warn("jobservice: updating a job's record", "job", j.id, "error", err)
	}
	j.message(jobpb.JobMessage_JOB_MESSAGE_BASIC, fmt.Sprintf("job server restarted: running job %q again (restart %d) from the newest snapshot in %s", j.id, rec.Restarts, j.checkpoint.Dir))
	s.logger.Info("jobservice: running a recorded job again", "job", j.id, "checkpoint_dir", j.checkpoint.Dir, "restart", rec.Restarts)
	ctx, _ := j.start()
	go s.execute(ctx, j)
}

// checkRestart checks a recorded job as Prepare checks a submission,
// against the server's options now, and sets its workers and
// checkpoints.
func (s *Server) checkRestart(j *job, rec *record) error {
	if err := validate.Pipeline(j.pipeline, s.opts.Validate); err != nil {
		return fmt.Errorf("invalid pipeline: %w", err)
	}
	if _, err := plan.Build(j.pipeline, nil); err != nil {
		return fmt.Errorf("cannot plan pipeline: %w", err)
	}
	_, workers, err := s.policy.workerEnvironment(j.pipeline)
	if err != nil {
		return err
	}
	dir, err := checkpointDir(rec.CheckpointDir, s.checkpointRoot)
	if err != nil {
		return err
	}
	j.workers = workers
	j.checkpoint = &fnrunner.Checkpointing{Dir: dir, Interval: rec.CheckpointInterval, Keep: rec.CheckpointKeep}
	if isURL(dir) {
		j.checkpoint.Store = s.opts.SnapshotStore(dir)
	}
	return nil
}

// waitForPool returns a WorkerStarter that retries start until it works
// or wait has passed: after a restart, the worker pool of a LOOPBACK job
// (its submitter) or an EXTERNAL one may take a while to answer, or never
// will.
func waitForPool(start fnrunner.WorkerStarter, endpoint string, wait time.Duration) fnrunner.WorkerStarter {
	return func(ctx context.Context, id string, control *pipepb.ApiServiceDescriptor) (func(), error) {
		deadline := time.Now().Add(wait)
		for {
			stop, err := start(ctx, id, control)
			if err == nil {
				return stop, nil
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return nil, fmt.Errorf("the job was run again after the job server's restart, and its worker pool at %s did not answer within %v "+
					"(a LOOPBACK job's workers live in the program that submitted it, which must still run; an EXTERNAL pool must run again at the same address): %w",
					endpoint, wait, err)
			}
			select {
			case <-time.After(250 * time.Millisecond):
			case <-ctx.Done():
			}
		}
	}
}

// checkpointSummary says what a checkpointed job's snapshots were.
func checkpointSummary(res *fnrunner.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "checkpoints: %d snapshots written (largest %d bytes, %v in all)", res.Checkpoints, res.CheckpointBytes, res.CheckpointTime.Round(time.Millisecond))
	if res.RestoredFrom > 0 {
		fmt.Fprintf(&b, "; resumed from snapshot %d", res.RestoredFrom)
	} else {
		b.WriteString("; started afresh")
	}
	return b.String()
}
