package filebased

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/sdk"
)

// fileOps are the file operations of finalize, so that tests can inject
// failures.
type fileOps interface {
	Exists(ctx context.Context, path string) (bool, error)
	Copy(ctx context.Context, dst, src string) error
	Delete(ctx context.Context, path string) error
	DeleteAll(ctx context.Context, prefix string) error
}

// The real file operations are those of a Storage.
var _ fileOps = (*filesystem.Storage)(nil)

// finalizeFn commits the temporary files of a Write once all bundles have.
type finalizeFn[T any] struct {
	Sink sinkDescription
	cfg  *sinkConfig[T]
}

func (f *finalizeFn[T]) ProcessElement(ctx context.Context, tempDir string, emit func(string)) error {
	var results []writeResult
	for r := range f.cfg.results.Get(ctx) {
		results = append(results, r)
	}
	names, err := finalize(sdk.BundleContext(ctx), f.cfg, tempDir, results)
	if err != nil {
		return err
	}
	for _, n := range names {
		emit(n)
	}
	return nil
}

// move is one temporary file and its final name.
type move struct{ src, dst string }

// shardName returns the final name of shard i of n.
func shardName(prefix string, o *SinkOptions, i, n int) string {
	dir, base, _ := filesystem.Split(prefix)
	if o.SingleFile {
		return filesystem.Join(dir, base+o.Suffix)
	}
	return filesystem.Join(dir, base+formatShard(o.ShardTemplate, i, n)+o.Suffix)
}

// formatShard replaces the first run of 'S' in template by i and the first
// run of 'N' by n, zero-padded to the run's length.
func formatShard(template string, i, n int) string {
	for _, r := range []struct {
		c byte
		v int
	}{{'S', i}, {'N', n}} {
		start := strings.IndexByte(template, r.c)
		if start < 0 {
			continue
		}
		end := start
		for end < len(template) && template[end] == r.c {
			end++
		}
		template = template[:start] + fmt.Sprintf("%0*d", end-start, r.v) + template[end:]
	}
	return template
}

// plan assigns final names to the results, and writes temporary files for
// the shards no bundle wrote (empty but for header and footer).
func plan[T any](ctx context.Context, cfg *sinkConfig[T], tempDir string, results []writeResult) ([]move, error) {
	o := &cfg.opts
	seen := map[string]bool{}
	var uniq []writeResult
	for _, r := range results {
		if !seen[r.Temp] {
			seen[r.Temp] = true
			uniq = append(uniq, r)
		}
	}
	slices.SortFunc(uniq, func(a, b writeResult) int { return strings.Compare(a.Temp, b.Temp) })
	var srcs []string
	switch {
	case o.NumShards > 0:
		srcs = make([]string, o.NumShards)
		for _, r := range uniq {
			if r.Shard < 0 || r.Shard >= o.NumShards {
				return nil, fmt.Errorf("filebased: %s: shard %d of %d", r.Temp, r.Shard, o.NumShards)
			}
			if srcs[r.Shard] != "" {
				return nil, fmt.Errorf("filebased: shard %d written twice, to %s and %s", r.Shard, srcs[r.Shard], r.Temp)
			}
			srcs[r.Shard] = r.Temp
		}
		if len(uniq) == 0 && o.SkipIfEmpty {
			return nil, nil
		}
	case len(uniq) == 0:
		if o.SkipIfEmpty {
			return nil, nil
		}
		srcs = []string{""}
	default:
		for _, r := range uniq {
			srcs = append(srcs, r.Temp)
		}
	}
	moves := make([]move, len(srcs))
	for i, src := range srcs {
		dst := shardName(cfg.prefix, o, i, len(srcs))
		if src == "" {
			var err error
			if src, err = emptyShard(ctx, cfg, tempDir, dst, i); err != nil {
				return nil, err
			}
		}
		moves[i] = move{src: src, dst: dst}
	}
	return moves, nil
}

// emptyShard writes the temporary file of shard i, which no bundle wrote,
// unless an earlier finalize already moved it to dst.
func emptyShard[T any](ctx context.Context, cfg *sinkConfig[T], tempDir, dst string, i int) (string, error) {
	src := tempPath(tempDir, fmt.Sprintf("empty-%05d", i))
	srcOK, err := cfg.ops.Exists(ctx, src)
	if err != nil {
		return "", err
	}
	dstOK, err := cfg.ops.Exists(ctx, dst)
	if err != nil || !srcOK && dstOK {
		return src, err
	}
	t, err := createTemp(ctx, cfg, src, i)
	if err != nil {
		return "", err
	}
	_, err = t.commit()
	return src, err
}

// finalize moves the temporary files of a Write to their final names and
// returns the names. It is idempotent, so a retry after a failure or a
// crash at any point completes the job, following Beam's rules per file:
//
//	temporary file  final file  action
//	missing         present     none: an earlier finalize moved it
//	missing         missing     error: the output is lost
//	present         either      copy over the final file
//
// All copies happen before any temporary file is deleted, so until the
// last copy succeeds every file can be copied again. If a copy fails,
// finalize deletes the final files it copied in this attempt and returns
// the error: a failed finalize leaves no new final output. Once all copies
// succeeded it deletes the temporary files and directory; failures there
// leave garbage in the temporary directory but do not fail the job.
func finalize[T any](ctx context.Context, cfg *sinkConfig[T], tempDir string, results []writeResult) ([]string, error) {
	moves, err := plan(ctx, cfg, tempDir, results)
	if err != nil {
		return nil, err
	}
	ops := cfg.ops
	var (
		mu     sync.Mutex
		copied []string
		errs   []error
	)
	forEach(moves, func(m move) {
		err := commit(ctx, ops, m)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == errAlreadyDone:
		case err != nil:
			errs = append(errs, err)
		default:
			copied = append(copied, m.dst)
		}
	})
	if len(errs) > 0 {
		for _, dst := range copied {
			if err := ops.Delete(ctx, dst); err != nil && !filesystem.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("filebased: removing %s after the failed finalize: %w", dst, err))
			}
		}
		return nil, fmt.Errorf("filebased: finalize of %s: %w", cfg.prefix, errors.Join(errs...))
	}
	forEach(moves, func(m move) { ops.Delete(ctx, m.src) })
	ops.DeleteAll(ctx, tempDir)
	names := make([]string, len(moves))
	for i, m := range moves {
		names[i] = m.dst
	}
	return names, nil
}

var errAlreadyDone = errors.New("already done")

// commit copies one temporary file to its final name, per the table of
// finalize.
func commit(ctx context.Context, ops fileOps, m move) error {
	srcOK, err := ops.Exists(ctx, m.src)
	if err != nil {
		return err
	}
	if !srcOK {
		dstOK, err := ops.Exists(ctx, m.dst)
		switch {
		case err != nil:
			return err
		case dstOK:
			return errAlreadyDone
		}
		return fmt.Errorf("filebased: temporary file %s is missing and %s was never written", m.src, m.dst)
	}
	return ops.Copy(ctx, m.dst, m.src)
}

// forEach calls f for each move on up to 16 goroutines.
func forEach(moves []move, f func(move)) {
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, m := range moves {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(m)
		})
	}
	wg.Wait()
}
