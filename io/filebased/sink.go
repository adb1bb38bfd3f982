package filebased

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// RecordWriter writes records to an output file: the hook a file format
// implements (Beam's FileBasedSink.write_record). w buffers; WriteRecord is
// called by one goroutine per file.
type RecordWriter[T any] interface {
	WriteRecord(w *bufio.Writer, rec T) error
}

// DefaultShardTemplate is the shard part of output names when
// SinkOptions.ShardTemplate is empty: "prefix-00000-of-00004.txt".
const DefaultShardTemplate = "-SSSSS-of-NNNNN"

// SinkOptions configure Write. The zero value writes one file per bundle,
// named prefix-SSSSS-of-NNNNN, uncompressed, of MIME type
// application/octet-stream.
type SinkOptions struct {
	// Suffix follows the shard part of each name (".txt", ".csv.gz").
	Suffix string
	// NumShards fixes the number of output files; 0 lets the runner choose
	// (one file per bundle).
	NumShards int
	// ShardTemplate is the shard part of names: its first run of 'S' is
	// replaced by the zero-padded shard number and its first run of 'N' by
	// the zero-padded number of shards. Empty means DefaultShardTemplate.
	ShardTemplate string
	// SingleFile writes exactly one file named prefix+Suffix (NumShards must
	// be 0 or 1).
	SingleFile bool
	// Compression of the files; Auto (the default) picks it from Suffix.
	Compression Compression
	// MIMEType is stored with each file where the store keeps one (default
	// application/octet-stream).
	MIMEType string
	// Header and Footer are written at the start and the end of each file.
	Header, Footer []byte
	// SkipIfEmpty writes no file at all for an empty input; otherwise an
	// empty input gives one file (or NumShards) holding header and footer.
	SkipIfEmpty bool
	// Storage opens the files; nil means filesystem.Default(). Build it in
	// the program's main, before the pipeline (a PROCESS worker runs main
	// again), and close it after the pipeline has run.
	Storage *filesystem.Storage `json:"-"`
}

// sinkConfig is what the DoFns of one Write share; it is immutable once
// the pipeline is built.
type sinkConfig[T any] struct {
	prefix string
	opts   SinkOptions
	comp   Compression
	writer RecordWriter[T]
	// tempDir is the side input of the job's temporary directory.
	tempDir *sdk.SingletonView[string]
	// results is the side input of the written temporary files.
	results *sdk.IterView[writeResult]
	// fs opens the files.
	fs *filesystem.Storage
	// ops does the finalize's file operations: fs, or a fault injector in
	// tests.
	ops fileOps
	// runs are the runs of the Write that this process submitted.
	runs *writeRuns
}

// writeResult describes one temporary file a bundle wrote.
type writeResult struct {
	// Shard is the shard of a fixed-shard write, -1 otherwise.
	Shard int
	// Temp is the temporary file's path.
	Temp string
	// Records counts the records written.
	Records int64
}

// Write writes the elements of in to files named from prefix (a path or
// URL; see package filesystem) with w, and returns the names of the files
// it wrote once all are final.
//
// It writes as Beam's FileBasedSink does: each bundle (or each shard, with
// NumShards) writes a temporary file under
// <dir of prefix>/.temp-beamgo-<base of prefix>-<random id>/, and once every
// bundle has committed, one finalize step copies the temporary files to
// their final names, deletes them and the temporary directory, and emits
// the final names. A retried bundle writes a new temporary file and only
// committed ones are finalized, so retries leave no duplicates; a job that
// fails before finalizing leaves no final file, and the process that
// submitted it removes the temporary directory (see "Failed jobs" in the
// package doc); a finalize that fails removes the final files it made, and
// a retried finalize completes what a crashed one began (see finalize).
//
// Construction errors (a bad template, an unsupported compression) are
// recorded on the pipeline. opts may be nil.
func Write[T any](s sdk.Scope, prefix string, w RecordWriter[T], in sdk.PCollection[T], opts *SinkOptions) sdk.PCollection[string] {
	cfg := &sinkConfig[T]{prefix: prefix, writer: w}
	if opts != nil {
		cfg.opts = *opts
	}
	cfg.fs = storageOr(cfg.opts.Storage)
	cfg.ops = cfg.fs
	if err := cfg.check(); err != nil {
		s.Fail("WriteFiles", fmt.Errorf("filebased: Write(%q): %w", prefix, err))
		return sdk.PCollection[string]{}
	}
	return write(s, cfg, in)
}

func (c *sinkConfig[T]) check() error {
	o := &c.opts
	if c.prefix == "" {
		return fmt.Errorf("empty output prefix")
	}
	if c.writer == nil {
		return fmt.Errorf("RecordWriter is nil")
	}
	if _, _, err := filesystem.Split(c.prefix); err != nil {
		return err
	}
	if o.NumShards < 0 {
		return fmt.Errorf("NumShards %d is negative", o.NumShards)
	}
	if o.SingleFile {
		if o.NumShards > 1 {
			return fmt.Errorf("SingleFile with NumShards %d", o.NumShards)
		}
		o.NumShards = 1
	} else if o.ShardTemplate == "" {
		o.ShardTemplate = DefaultShardTemplate
	}
	if !o.SingleFile && !strings.Contains(o.ShardTemplate, "S") {
		return fmt.Errorf("shard template %q has no S run for the shard number", o.ShardTemplate)
	}
	if o.MIMEType == "" {
		o.MIMEType = "application/octet-stream"
	}
	c.comp = o.Compression.Resolve(o.Suffix)
	if c.comp < Uncompressed || c.comp > Zstd {
		return fmt.Errorf("unsupported compression %v", o.Compression)
	}
	return nil
}

func write[T any](s sdk.Scope, cfg *sinkConfig[T], in sdk.PCollection[T]) sdk.PCollection[string] {
	ws := s.Scope("WriteFiles")
	desc := sinkDescription{Prefix: cfg.prefix, Options: cfg.opts, Writer: fmt.Sprintf("%T", cfg.writer)}
	cfg.runs = newWriteRuns(cfg.prefix, cfg.fs)
	s.Pipeline().OnRun(cfg.runs.begin)
	tmp := sdk.ParDo(ws, sdk.DoFn[[]byte, string](&initFn{Prefix: cfg.prefix, runs: cfg.runs}), sdk.Impulse(ws), sdk.Name("TempDir"))
	cfg.tempDir = sdk.AsSingleton(tmp)
	if in.IsValid() && in.WindowFn().Kind != window.KindGlobal {
		in = sdk.WindowInto(ws, window.GlobalFn(), in)
	}
	var results sdk.PCollection[writeResult]
	if cfg.opts.NumShards > 0 {
		keyed := sdk.ParDo(ws, sdk.DoFn[T, sdk.KV[int, T]](&assignShardFn[T]{NumShards: cfg.opts.NumShards}), in, sdk.Name("AssignShard"))
		grouped := sdk.GroupByKey(ws, keyed)
		results = sdk.ParDo(ws, sdk.DoFn[sdk.Group[int, T], writeResult](&writeShardFn[T]{Sink: desc, cfg: cfg}), grouped,
			sdk.Name("WriteShards"), sdk.WithSideInput(cfg.tempDir))
	} else {
		results = sdk.ParDo(ws, sdk.DoFn[T, writeResult](&writeBundleFn[T]{Sink: desc, cfg: cfg}), in,
			sdk.Name("WriteBundles"), sdk.WithSideInput(cfg.tempDir))
	}
	cfg.results = sdk.AsIter(results)
	return sdk.ParDo(ws, sdk.DoFn[string, string](&finalizeFn[T]{Sink: desc, cfg: cfg}), tmp,
		sdk.Name("Finalize"), sdk.WithSideInput(cfg.results))
}

// sinkDescription describes a Write in its DoFns' exported fields, so that
// the pipeline's protos show it and a rebuilt pipeline can be compared.
type sinkDescription struct {
	Prefix  string
	Options SinkOptions
	Writer  string
}

// initFn picks the job's temporary directory. The random id keeps jobs
// writing to the same prefix apart; it is picked when the job runs, so the
// pipeline is built deterministically. Running in the submitting process,
// it tells the run (see writeRuns).
type initFn struct {
	Prefix string
	runs   *writeRuns
}

func (f *initFn) ProcessElement(ctx context.Context, _ []byte, emit func(string)) error {
	dir, base, err := filesystem.Split(f.Prefix)
	if err != nil {
		return err
	}
	tmp := filesystem.Join(dir, tempDirName(base, randomID())+"/")
	if f.runs != nil {
		f.runs.record(sdk.BundleContext(ctx), tmp)
	}
	emit(tmp)
	return nil
}

// tempPath returns the path of name inside the temporary directory dir
// (which ends in "/", possibly before a query string).
func tempPath(dir, name string) string { return filesystem.Join(dir, name) }

func randomID() string {
	var b [16]byte
	if _, err := crand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// assignShardFn keys elements by shard, round-robin from a random start in
// each bundle so that small bundles spread over all shards.
type assignShardFn[T any] struct {
	NumShards int
	next      int
}

func (f *assignShardFn[T]) StartBundle(context.Context) error {
	f.next = rand.IntN(f.NumShards)
	return nil
}

func (f *assignShardFn[T]) ProcessElement(_ context.Context, v T, emit func(sdk.KV[int, T])) error {
	emit(sdk.KV[int, T]{Key: f.next, Value: v})
	f.next = (f.next + 1) % f.NumShards
	return nil
}

// writeBundleFn writes each bundle's elements to a temporary file of its
// own, opened at the bundle's first element and committed in FinishBundle.
type writeBundleFn[T any] struct {
	Sink sinkDescription
	cfg  *sinkConfig[T]
	out  *tempFile[T]
}

func (f *writeBundleFn[T]) StartBundle(context.Context) error {
	f.abort()
	return nil
}

func (f *writeBundleFn[T]) ProcessElement(ctx context.Context, v T, _ func(writeResult)) error {
	if f.out == nil {
		dir := f.cfg.tempDir.Get(ctx)
		out, err := createTemp(ctx, f.cfg, tempPath(dir, randomID()), -1)
		if err != nil {
			return err
		}
		f.out = out
	}
	return f.out.write(v)
}

func (f *writeBundleFn[T]) FinishBundle(ctx context.Context, emit func(writeResult)) error {
	if f.out == nil {
		return nil
	}
	out := f.out
	f.out = nil
	res, err := out.commit()
	if err != nil {
		return err
	}
	emit(res)
	return nil
}

// Teardown abandons a file left open by a failed bundle: it never appears.
func (f *writeBundleFn[T]) Teardown(context.Context) error {
	f.abort()
	return nil
}

func (f *writeBundleFn[T]) abort() {
	if f.out != nil {
		f.out.abort()
		f.out = nil
	}
}

// writeShardFn writes each shard's group of elements to a temporary file.
type writeShardFn[T any] struct {
	Sink sinkDescription
	cfg  *sinkConfig[T]
}

func (f *writeShardFn[T]) ProcessElement(ctx context.Context, g sdk.Group[int, T], emit func(writeResult)) error {
	dir := f.cfg.tempDir.Get(ctx)
	out, err := createTemp(ctx, f.cfg, tempPath(dir, fmt.Sprintf("shard-%d-%s", g.Key, randomID())), g.Key)
	if err != nil {
		return err
	}
	for v := range g.Values {
		if err := out.write(v); err != nil {
			out.abort()
			return err
		}
	}
	res, err := out.commit()
	if err != nil {
		return err
	}
	emit(res)
	return nil
}

// tempFile is a temporary output file being written: records go through a
// buffer and the compressor to the store, which makes the file appear only
// when committed.
type tempFile[T any] struct {
	cfg    *sinkConfig[T]
	res    writeResult
	cancel context.CancelFunc
	file   io.WriteCloser
	comp   io.WriteCloser
	buf    *bufio.Writer
}

func createTemp[T any](ctx context.Context, cfg *sinkConfig[T], path string, shard int) (*tempFile[T], error) {
	// The write must outlive the call that opens it (a bundle's elements
	// arrive in several calls), but not an abort.
	wctx, cancel := context.WithCancel(context.WithoutCancel(sdk.BundleContext(ctx)))
	file, err := cfg.fs.NewWriter(wctx, path, &filesystem.WriterOptions{ContentType: cfg.opts.MIMEType})
	if err != nil {
		cancel()
		return nil, err
	}
	comp, err := NewCompressor(file, cfg.comp)
	if err != nil {
		cancel()
		file.Close()
		return nil, err
	}
	t := &tempFile[T]{cfg: cfg, res: writeResult{Shard: shard, Temp: path}, cancel: cancel, file: file, comp: comp, buf: bufio.NewWriterSize(comp, 256<<10)}
	if _, err := t.buf.Write(cfg.opts.Header); err != nil {
		t.abort()
		return nil, fmt.Errorf("filebased: write header of %s: %w", path, err)
	}
	return t, nil
}

func (t *tempFile[T]) write(v T) error {
	if err := t.cfg.writer.WriteRecord(t.buf, v); err != nil {
		return fmt.Errorf("filebased: write record %d to %s: %w", t.res.Records, t.res.Temp, err)
	}
	t.res.Records++
	return nil
}

// commit writes the footer and closes the file, which makes it appear.
func (t *tempFile[T]) commit() (writeResult, error) {
	defer t.cancel()
	_, err := t.buf.Write(t.cfg.opts.Footer)
	if err == nil {
		err = t.buf.Flush()
	}
	if err == nil {
		err = t.comp.Close()
	}
	if err != nil {
		t.abort()
		return writeResult{}, fmt.Errorf("filebased: write %s: %w", t.res.Temp, err)
	}
	if err := t.file.Close(); err != nil {
		return writeResult{}, err
	}
	return t.res, nil
}

// abort abandons the file: cancelling the write's context before Close
// discards it.
func (t *tempFile[T]) abort() {
	t.cancel()
	t.file.Close()
}
