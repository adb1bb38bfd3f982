package sdk

import (
	"context"
	"fmt"
	"log/slog"
	"os"
)

// Print writes each element of in to the standard output of the process
// that runs it, one line each, after prefix: Flink's print(sinkIdentifier),
// for looking at data while developing. Lines of one element are written
// whole, but elements of concurrent bundles come in any order.
//
// With the local runner and LOOPBACK workers that is this program's
// standard output; a PROCESS worker's output is copied, line by line with
// the worker's prefix, to where the runner's Process options send it (by
// default its standard error). Nothing is shared with the submitter: the
// worker rebuilds the transform from prefix alone.
func Print[T any](s Scope, prefix string, in PCollection[T], opts ...Option) {
	o := collect(opts)
	ForEach(s, SinkFn[T](printFn[T]{Prefix: prefix}), in, Name(pick(o.name, "Print")))
}

// printFn is the DoFn of Print. It looks up os.Stdout at each element, not
// at construction, so that the process running it writes to its own.
type printFn[T any] struct {
	Prefix string
}

// ProcessElement writes one line.
func (f printFn[T]) ProcessElement(_ context.Context, v T) error {
	line := fmt.Appendln([]byte(f.Prefix), v)
	if _, err := os.Stdout.Write(line); err != nil {
		return fmt.Errorf("sdk: Print: %w", err)
	}
	return nil
}

// Log logs each element of in with the process's default slog logger
// (slog.Default), as a record with message msg at level, the element
// under the key "element" and the transform's name under "transform"
// (Beam's LogElements). Like Print it runs where the runner runs user
// code: a PROCESS worker's records go to the worker's standard error,
// which the runner copies (see Print).
func Log[T any](s Scope, msg string, level slog.Level, in PCollection[T], opts ...Option) {
	o := collect(opts)
	ForEach(s, SinkFn[T](logFn[T]{Message: msg, Level: level}), in, Name(pick(o.name, "Log")))
}

// logFn is the DoFn of Log.
type logFn[T any] struct {
	Message string
	Level   slog.Level
}

// ProcessElement logs one record.
func (f logFn[T]) ProcessElement(ctx context.Context, v T) error {
	slog.Default().Log(ctx, f.Level, f.Message, "element", v, "transform", TransformName(ctx))
	return nil
}
