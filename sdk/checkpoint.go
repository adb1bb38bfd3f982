package sdk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/internal/window"
)

// ErrCheckpointUnsupported is returned by Checkpoint when the runner
// executing the DoFn cannot resume work later; the DoFn should then go on
// with the element instead of stopping.
var ErrCheckpointUnsupported = errors.New("sdk: this runner does not resume checkpointed work")

// Checkpoint stops the current element's work early: rest, an element of
// the DoFn's main input in, describes what is left, and the runner
// processes it as a new element of the same DoFn once the bundle is
// committed and at least resumeAfter has passed. watermark is a lower bound
// of the event times the rest will output (the zero time if unknown): the
// runner holds the DoFn's output watermark there, and no further back,
// until rest runs. After Checkpoint the DoFn returns from ProcessElement
// without further output for the element.
//
// This is how an unbounded read makes progress (io/unbounded): it reads
// for a while, emits, and checkpoints its position so that the runner can
// commit the output and advance the watermark. ctx is the context
// ProcessElement got.
func Checkpoint[In any](ctx context.Context, in PCollection[In], rest In, resumeAfter time.Duration, watermark time.Time) error {
	ec := operator.FromContext(ctx)
	if ec == nil || ec.Env == nil || ec.Env.Checkpoints == nil || in.c == nil {
		return ErrCheckpointUnsupported
	}
	var buf []byte
	enc, ok := opsOf(in.c).NewEncoder(!ec.Window.IsGlobal(), func(b []byte) error {
		buf = append([]byte(nil), b...)
		return nil
	}).(operator.Receiver[In])
	if !ok {
		return fmt.Errorf("sdk: Checkpoint: %s is not the DoFn's input of type %T", in.c.Name, rest)
	}
	v := window.Value[In]{Elem: rest, Timestamp: ec.Timestamp, Windows: []window.Window{ec.Window}, Pane: window.NoFiringPane()}
	if err := enc.Receive(v); err != nil {
		return fmt.Errorf("sdk: Checkpoint: encoding the rest of %s's work: %w", ec.Env.UniqueName, err)
	}
	wm := window.MinTime
	if !watermark.IsZero() {
		wm = window.FromTime(watermark)
	}
	ec.Env.Checkpoints(operator.Checkpoint{Residual: buf, ResumeAfter: max(resumeAfter, 0), Watermark: wm})
	return nil
}

// SetTimestamp sets the event timestamp of the elements the DoFn emits
// next for the current element (by default, the input element's): a
// source's DoFn stamps each record with its own event time. ctx is the
// context ProcessElement got.
func SetTimestamp(ctx context.Context, t time.Time) {
	if ec := operator.FromContext(ctx); ec != nil {
		ec.Timestamp = window.FromTime(t)
	}
}

// OnCommit registers f to be called once the runner has durably committed
// the output of the bundle that processes the current element (Beam's
// bundle finalization): a source acknowledges what it read (commits Kafka
// offsets, deletes a processed file) only then, so that a failed bundle
// reads it again. f runs at most once, with a context of its own, and not
// at all if the bundle fails or the runner does not finalize bundles (it
// reports whether it will: the result is false then). ctx is the context
// ProcessElement or FinishBundle got.
func OnCommit(ctx context.Context, f func(context.Context) error) bool {
	ec := operator.FromContext(ctx)
	if ec == nil || ec.Env == nil || ec.Env.Finalizers == nil || f == nil {
		return false
	}
	ec.Env.Finalizers(f)
	return true
}
