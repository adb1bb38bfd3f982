package jobservice

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/beamgo-dev/beamgo/runner/portable/fnrunner"
)

// The pipeline options of a checkpointed submission, by name. Beam Python
// sends each as "beam:option:<name>:v1" (its PortableRunner learns them
// from DescribePipelineOptions), this module's runner/universal too, and
// Beam Go sends its flags by name under "options".
const (
	OptionCheckpointDir      = "checkpoint_dir"
	OptionCheckpointInterval = "checkpoint_interval"
	OptionCheckpointFresh    = "checkpoint_fresh"
)

// MinCheckpointInterval is the shortest checkpoint interval a submission
// may ask for: shorter ones would have the job do little but snapshot.
const MinCheckpointInterval = 10 * time.Millisecond

// checkpointOptions describes the checkpoint options for
// DescribePipelineOptions.
var checkpointOptions = []*jobpb.PipelineOptionDescriptor{
	{Name: OptionCheckpointDir, Type: jobpb.PipelineOptionType_STRING, Group: "checkpoints",
		Description: "directory of the job's durable snapshots, under the job server's --checkpoint_root (a relative path is taken from there); a job submitted again with it resumes from the newest snapshot"},
	{Name: OptionCheckpointInterval, Type: jobpb.PipelineOptionType_STRING, Group: "checkpoints", DefaultValue: "10s",
		Description: "time between snapshots, as a Go duration (10s, 500ms) or a number of seconds"},
	{Name: OptionCheckpointFresh, Type: jobpb.PipelineOptionType_BOOLEAN, Group: "checkpoints", DefaultValue: "false",
		Description: "delete the snapshots in checkpoint_dir and start over"},
}

// option returns the pipeline option name of opts in either of the forms
// Beam submitters use, or nil.
func option(opts *structpb.Struct, name string) *structpb.Value {
	if v, ok := opts.GetFields()["beam:option:"+name+":v1"]; ok {
		return v
	}
	return opts.GetFields()["options"].GetStructValue().GetFields()[name]
}

// checkpointing returns the checkpoints a submission's options ask for,
// with the directory checked against root (resolved, "" when the server
// takes none), or nil if they name no directory.
func checkpointing(opts *structpb.Struct, root string, store func(string) SnapshotStore) (*fnrunner.Checkpointing, error) {
	dirValue := option(opts, OptionCheckpointDir)
	if dirValue.GetStringValue() == "" {
		// Beam Python sends checkpoint_fresh=false with every submission
		// (a flag's default): only options that ask for something need
		// the directory.
		for _, name := range []string{OptionCheckpointInterval, OptionCheckpointFresh} {
			if asks(option(opts, name)) {
				return nil, fmt.Errorf("pipeline option %s needs %s", name, OptionCheckpointDir)
			}
		}
		return nil, nil
	}
	dir, err := checkpointDir(dirValue.GetStringValue(), root)
	if err != nil {
		return nil, err
	}
	c := &fnrunner.Checkpointing{Dir: dir}
	if isURL(dir) {
		c.Store = store(dir)
	}
	if v := option(opts, OptionCheckpointInterval); v != nil {
		if c.Interval, err = interval(v); err != nil {
			return nil, err
		}
	}
	if v := option(opts, OptionCheckpointFresh); v != nil {
		if c.Fresh, err = boolean(v); err != nil {
			return nil, fmt.Errorf("pipeline option %s: %w", OptionCheckpointFresh, err)
		}
	}
	return c, nil
}

// asks reports whether an option's value asks for something: it is set,
// and not null, an empty string or false.
func asks(v *structpb.Value) bool {
	switch k := v.GetKind().(type) {
	case nil, *structpb.Value_NullValue:
		return false
	case *structpb.Value_StringValue:
		return k.StringValue != "" && k.StringValue != "false"
	case *structpb.Value_BoolValue:
		return k.BoolValue
	}
	return true
}

// checkpointDir returns the directory a submission names, made absolute
// under root, if it lies strictly inside root, climbs out of it by no
// ".." and no symbolic link, and root is set.
func checkpointDir(dir, root string) (string, error) {
	if root == "" {
		return "", fmt.Errorf("pipeline option %s=%q: this job server takes no checkpoint directories from submissions; "+
			"the operator enables them with jobserver --checkpoint_root=<directory> (Options.CheckpointRoot)", OptionCheckpointDir, dir)
	}
	if isURL(root) {
		return checkpointURL(dir, root)
	}
	if slices.Contains(strings.Split(filepath.ToSlash(dir), "/"), "..") || strings.ContainsRune(dir, 0) {
		return "", fmt.Errorf("pipeline option %s=%q: a checkpoint directory may not contain \"..\"", OptionCheckpointDir, dir)
	}
	abs := dir
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(root, abs)
	}
	abs = filepath.Clean(abs)
	if !strings.HasPrefix(abs, root+string(filepath.Separator)) {
		return "", fmt.Errorf("pipeline option %s=%q is not under this job server's checkpoint root %s (--checkpoint_root): give a path under it, or one relative to it", OptionCheckpointDir, dir, root)
	}
	// A symbolic link under root could lead the snapshots anywhere: the
	// part of the path that exists must resolve to a place under root.
	existing := abs
	for {
		if _, err := os.Lstat(existing); err == nil {
			break
		}
		existing = filepath.Dir(existing)
	}
	resolved, err := filepath.EvalSymlinks(existing)
	if err != nil {
		return "", fmt.Errorf("pipeline option %s=%q: %w", OptionCheckpointDir, dir, err)
	}
	if resolved != root && !strings.HasPrefix(resolved, root+string(filepath.Separator)) {
		return "", fmt.Errorf("pipeline option %s=%q leads out of the checkpoint root %s through a symbolic link (%s)", OptionCheckpointDir, dir, root, resolved)
	}
	if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
		return "", fmt.Errorf("pipeline option %s=%q is not a directory", OptionCheckpointDir, dir)
	}
	return abs, nil
}

// interval reads a checkpoint interval: a Go duration, or seconds.
func interval(v *structpb.Value) (time.Duration, error) {
	var d time.Duration
	switch k := v.GetKind().(type) {
	case *structpb.Value_NumberValue:
		d = time.Duration(k.NumberValue * float64(time.Second))
	case *structpb.Value_StringValue:
		var err error
		if d, err = time.ParseDuration(k.StringValue); err != nil {
			secs, ferr := strconv.ParseFloat(k.StringValue, 64)
			if ferr != nil {
				return 0, fmt.Errorf("pipeline option %s=%q is neither a duration (10s, 500ms) nor a number of seconds", OptionCheckpointInterval, k.StringValue)
			}
			d = time.Duration(secs * float64(time.Second))
		}
	default:
		return 0, fmt.Errorf("pipeline option %s is not a string or number", OptionCheckpointInterval)
	}
	if d < MinCheckpointInterval {
		return 0, fmt.Errorf("pipeline option %s=%v is shorter than %v", OptionCheckpointInterval, d, MinCheckpointInterval)
	}
	return d, nil
}

// boolean reads a boolean option, sent as a boolean or as a string.
func boolean(v *structpb.Value) (bool, error) {
	switch k := v.GetKind().(type) {
	case *structpb.Value_BoolValue:
		return k.BoolValue, nil
	case *structpb.Value_StringValue:
		return strconv.ParseBool(k.StringValue)
	}
	return false, fmt.Errorf("not a boolean")
}

// SnapshotStore holds a job's snapshots in a blob store, under a
// CheckpointRoot that is a URL (Options.SnapshotStore opens it).
type SnapshotStore = fnrunner.SnapshotStore

// isURL reports whether a checkpoint root or directory is a blob-store
// URL ("s3://bucket/jobs") rather than a local path.
func isURL(path string) bool {
	i := strings.Index(path, "://")
	return i > 0 && !strings.ContainsAny(path[:i], "/\\")
}

// checkpointURL returns the URL of a submission's checkpoint directory
// under a URL root: dir is a relative path of plain names (no "..", no
// ".", no empty name, no query, no backslash), or a URL under the root
// with such a path after it. The root's query string stays at the end.
func checkpointURL(dir, root string) (string, error) {
	base, query, _ := strings.Cut(root, "?")
	if query != "" {
		query = "?" + query
	}
	rel := dir
	if isURL(dir) {
		d, q, _ := strings.Cut(dir, "?")
		if q != "" && "?"+q != query {
			return "", fmt.Errorf("pipeline option %s=%q: a checkpoint URL may not change the root's query string", OptionCheckpointDir, dir)
		}
		var ok bool
		if rel, ok = strings.CutPrefix(d, base+"/"); !ok {
			return "", fmt.Errorf("pipeline option %s=%q is not under this job server's checkpoint root %s (--checkpoint_root): give a path under it, or one relative to it", OptionCheckpointDir, dir, root)
		}
	}
	rel = strings.TrimSuffix(rel, "/")
	if rel == "" {
		return "", fmt.Errorf("pipeline option %s=%q is not under this job server's checkpoint root %s (--checkpoint_root): give a path under it, or one relative to it", OptionCheckpointDir, dir, root)
	}
	if strings.ContainsAny(rel, "?#\\\x00") || strings.HasPrefix(rel, "/") {
		return "", fmt.Errorf("pipeline option %s=%q: under a URL root a checkpoint directory is a relative path of plain names", OptionCheckpointDir, dir)
	}
	for _, name := range strings.Split(rel, "/") {
		if name == ".." {
			return "", fmt.Errorf("pipeline option %s=%q: a checkpoint directory may not contain \"..\"", OptionCheckpointDir, dir)
		}
		if name == "" || name == "." {
			return "", fmt.Errorf("pipeline option %s=%q: under a URL root a checkpoint directory is a relative path of plain names", OptionCheckpointDir, dir)
		}
	}
	return base + "/" + rel + query, nil
}

// resolveCheckpointRoot checks Options.CheckpointRoot and returns it
// absolute with its symbolic links resolved (a URL as it is, without a
// trailing slash), or "" if it is not set. A URL needs a store.
func resolveCheckpointRoot(root string, store bool) (string, error) {
	if root == "" {
		return "", nil
	}
	if isURL(root) {
		if !store {
			return "", &OptionError{Option: "CheckpointRoot", Value: root, Reason: "a URL, and Options.SnapshotStore is not set to open it"}
		}
		base, query, _ := strings.Cut(root, "?")
		base = strings.TrimRight(base, "/")
		if _, after, _ := strings.Cut(base, "://"); after == "" {
			return "", &OptionError{Option: "CheckpointRoot", Value: root, Reason: "a URL without a bucket"}
		}
		if query != "" {
			base += "?" + query
		}
		return base, nil
	}
	if !filepath.IsAbs(root) {
		return "", &OptionError{Option: "CheckpointRoot", Value: root, Reason: "not an absolute path"}
	}
	resolved, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", &OptionError{Option: "CheckpointRoot", Value: root, Reason: "cannot be resolved", Err: err}
	}
	if fi, err := os.Stat(resolved); err != nil || !fi.IsDir() {
		return "", &OptionError{Option: "CheckpointRoot", Value: root, Reason: "not a directory"}
	}
	return resolved, nil
}
