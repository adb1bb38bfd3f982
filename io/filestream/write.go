package filestream

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/beamgo-dev/beamgo/io/filesystem"
	"github.com/beamgo-dev/beamgo/io/foreach"
	"github.com/beamgo-dev/beamgo/sdk"
)

// WriteOptions configure Write; nil means the defaults.
type WriteOptions struct {
	// Name names the transform (default "filestream.Write").
	Name string
	// Shards is how many files each pane of a window is written to, in
	// parallel (default 1).
	Shards int
	// Trigger, when set, decides how often a window's panes are cut (see
	// foreach.Options); an unbounded input in the global window needs one.
	Trigger *sdk.Trigger
	// Suffix ends every file name (default ".txt").
	Suffix string
	// Storage reaches the files (nil: filesystem.Default()).
	Storage *filesystem.Storage
}

// Write is a streaming file sink: it writes the lines of in, one file per
// window, pane and shard that has lines (the epochs of io/foreach), named
//
//	<prefix><window>/pane-<pane>-shard-<shard><suffix>
//
// where <window> is "global" or the window's start and end in UTC
// ("20260101T000000.000Z_20260101T000100.000Z"). Each file appears whole or
// not at all (filesystem.NewWriter), and an epoch's file, once there, is
// not written again: a retried epoch has the same name and lines, so a
// replay leaves the output as it was.
func Write(s sdk.Scope, in sdk.PCollection[string], prefix string, opts *WriteOptions) {
	var o WriteOptions
	if opts != nil {
		o = *opts
	}
	if o.Name == "" {
		o.Name = "filestream.Write"
	}
	if o.Suffix == "" {
		o.Suffix = ".txt"
	}
	if o.Storage == nil {
		o.Storage = filesystem.Default()
	}
	if prefix == "" {
		s.Fail(o.Name, fmt.Errorf("filestream: Write needs a prefix"))
		return
	}
	fo := &foreach.Options[string]{Name: o.Name, Shards: o.Shards, Trigger: o.Trigger}
	foreach.Write(s, func() foreach.Writer[string] { return &fileWriter{prefix: prefix, opts: &o} }, in, fo)
}

// EpochPath returns the file Write writes epoch e to.
func EpochPath(prefix, suffix string, e foreach.Epoch) string {
	win := "global"
	if !e.Window.IsGlobal() {
		const layout = "20060102T150405.000Z"
		win = e.Window.Start.ToTime().UTC().Format(layout) + "_" + e.Window.End.ToTime().UTC().Format(layout)
	}
	return fmt.Sprintf("%s%s/pane-%d-shard-%d%s", prefix, win, e.Pane, e.Shard, suffix)
}

// fileWriter writes one epoch's file at a time.
type fileWriter struct {
	prefix string
	opts   *WriteOptions

	// The open epoch's file: its path, writer and a cancel that abandons
	// it (the file then never appears).
	path   string
	w      io.WriteCloser
	bw     *bufio.Writer
	cancel context.CancelFunc
}

// Open readies the epoch's file unless it is already there. The file is
// created at the first line: an empty pane writes no file.
func (f *fileWriter) Open(ctx context.Context, e foreach.Epoch) (bool, error) {
	f.path = EpochPath(f.prefix, f.opts.Suffix, e)
	done, err := f.opts.Storage.Exists(ctx, f.path)
	return !done, err
}

// Process adds a line.
func (f *fileWriter) Process(_ context.Context, line string) error {
	if f.w == nil {
		if err := f.create(); err != nil {
			return err
		}
	}
	if _, err := f.bw.WriteString(line); err != nil {
		return err
	}
	return f.bw.WriteByte('\n')
}

// create starts writing the epoch's file, under a context of its own: the
// element's is reused after the call, and cancelling this one abandons
// the file.
func (f *fileWriter) create() error {
	wctx, cancel := context.WithCancel(context.Background())
	w, err := f.opts.Storage.NewWriter(wctx, f.path, nil)
	if err != nil {
		cancel()
		return err
	}
	f.w, f.cancel = w, cancel
	if f.bw == nil {
		f.bw = bufio.NewWriterSize(w, 64<<10)
	} else {
		f.bw.Reset(w)
	}
	return nil
}

// Close makes the file appear, or abandons it when the epoch failed.
func (f *fileWriter) Close(_ context.Context, err error) error {
	if f.w == nil {
		return nil
	}
	w, cancel := f.w, f.cancel
	f.w, f.cancel = nil, nil
	defer cancel()
	if err != nil {
		cancel()
		w.Close()
		return nil
	}
	if err := f.bw.Flush(); err != nil {
		cancel()
		w.Close()
		return fmt.Errorf("filestream: writing %s: %w", f.path, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("filestream: writing %s: %w", f.path, err)
	}
	return nil
}

// Teardown abandons a file left open.
func (f *fileWriter) Teardown(context.Context) error {
	if f.cancel != nil {
		f.cancel()
		f.w.Close()
	}
	return nil
}
