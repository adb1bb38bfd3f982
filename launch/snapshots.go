package launch

import (
	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/runner/local"
)

// IsURL reports whether a --checkpoint_dir names a blob store (a URL
// with a scheme, as "s3://bucket/prefix") rather than a local directory.
func IsURL(dir string) bool { return filesystem.IsURL(dir) }

// SnapshotStore returns the store of a job's snapshots under url, a
// gocloud.dev/blob URL that io/filesystem opens (mem://, file://, and
// s3://, gs:// or azblob:// when the program imports their drivers), as
// in "s3://bucket/jobs/count?region=eu-west-1": each snapshot is an object
// under the URL's path, the query kept for every object. Set it as
// Checkpointing.Store with the URL as Dir; --checkpoint_dir does so for
// URLs. Nothing is opened until the job lists or writes its snapshots.
func SnapshotStore(url string) local.SnapshotStore { return filesystem.NewPrefix(url) }
