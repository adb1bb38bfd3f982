package foreach

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// Epoch identifies one micro-batch of a sink: the pane of a window of a
// shard. The runner presents the same epoch with the same elements on every
// attempt of the bundle that holds it. It is a comparable value, safe to
// copy and to use as a map key.
type Epoch struct {
	// Shard is the shard, in [0, Options.Shards).
	Shard int
	// Window is the window the epoch's elements belong to: the global
	// window unless the input is windowed.
	Window window.Window
	// Pane is the index of the pane, counting the firings of Window's
	// trigger for Shard from 0; it grows by one per firing.
	Pane int64
	// Final says this is the window's last pane for Shard.
	Final bool
}

// WindowKey returns a stable text form of e's window, for recording an
// epoch in an external table keyed by shard and window.
func (e Epoch) WindowKey() string { return e.Window.String() }

// String returns a readable form of e, e.g. "shard 2 window GlobalWindow pane 7".
func (e Epoch) String() string {
	return fmt.Sprintf("shard %d window %s pane %d", e.Shard, e.Window, e.Pane)
}

// EpochError is the error of a sink's epoch: it names the epoch and wraps
// what went wrong.
type EpochError struct {
	Epoch Epoch
	Err   error
}

// Error returns the message, naming the epoch.
func (e *EpochError) Error() string { return fmt.Sprintf("foreach: %v: %v", e.Epoch, e.Err) }

// Unwrap returns the underlying error.
func (e *EpochError) Unwrap() error { return e.Err }

// Options configure Write and Batch; nil means the defaults. The
// functions they hold are called concurrently from several worker
// threads.
type Options[T any] struct {
	// Name names the transform (default "foreach.Write" or "foreach.Batch").
	Name string
	// Shards is the number of shards, each written by one writer at a
	// time (default 1). More shards write in parallel; one shard keeps
	// a total order of epochs.
	Shards int
	// ShardOf, when set, picks the shard of an element (taken modulo
	// Shards). Set it so that all updates of one key go to one shard, as
	// an upsert sink needs; the default spreads elements round-robin.
	ShardOf func(T) uint64
	// Trigger, when set, re-triggers the input (keeping its window
	// function) before grouping: it decides how often epochs are cut.
	// Unset, the input's own trigger applies. Either way each epoch holds
	// only the elements since the shard's previous epoch (discarding
	// panes), also when the input's panes accumulate.
	Trigger *sdk.Trigger
}

// withDefaults returns a copy of o with defaults filled in.
func (o *Options[T]) withDefaults(name string) Options[T] {
	var c Options[T]
	if o != nil {
		c = *o
	}
	if c.Name == "" {
		c.Name = name
	}
	if c.Shards <= 0 {
		c.Shards = 1
	}
	return c
}

// epochs shards and groups in: each group of the result is one epoch.
func epochs[T any](s sdk.Scope, in sdk.PCollection[T], o Options[T]) sdk.PCollection[sdk.Group[int, T]] {
	// An epoch holds what arrived since the previous one: under an
	// accumulating strategy the sink's own grouping would repeat earlier
	// elements in every later epoch. Re-windowing is skipped when it is
	// not needed, since it would re-merge merged session windows.
	if o.Trigger != nil || in.WindowingStrategy().Accumulation == window.Accumulating {
		wopts := []sdk.Option{sdk.Discarding(), sdk.Name("Discarding")}
		if o.Trigger != nil {
			wopts = append(wopts, sdk.Triggering(*o.Trigger))
		}
		in = sdk.WindowInto(s, in.WindowFn(), in, wopts...)
	}
	keyed := sdk.ParDo(s, sdk.DoFn[T, sdk.KV[int, T]](&shardFn[T]{shards: o.Shards, of: o.ShardOf}), in, sdk.Name("Shard"))
	return sdk.GroupByKey(s, keyed, sdk.Name("GroupByShard"))
}

// shardFn keys each element by its shard.
type shardFn[T any] struct {
	shards int
	of     func(T) uint64
	// next is this instance's round-robin position.
	next int
}

// Setup starts the round robin at a random shard, so that many small
// bundles do not all begin at shard 0.
func (f *shardFn[T]) Setup(context.Context) error {
	f.next = rand.IntN(f.shards)
	return nil
}

// ProcessElement emits v keyed by its shard.
func (f *shardFn[T]) ProcessElement(_ context.Context, v T, emit func(sdk.KV[int, T])) error {
	var shard int
	if f.of != nil {
		shard = int(f.of(v) % uint64(f.shards))
	} else {
		shard = f.next
		f.next = (f.next + 1) % f.shards
	}
	emit(sdk.KV[int, T]{Key: shard, Value: v})
	return nil
}

// epochOf returns the epoch of the group being processed.
func epochOf(ctx context.Context, shard int) Epoch {
	p := sdk.PaneOf(ctx)
	return Epoch{Shard: shard, Window: sdk.WindowOf(ctx), Pane: p.Index, Final: p.IsLast}
}
