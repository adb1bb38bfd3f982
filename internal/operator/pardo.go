package operator

import (
	"context"
	"fmt"

	"github.com/beamgo-dev/beamgo/internal/coder"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// The optional lifecycle methods of a DoFn (sdk.Setupper, sdk.BundleStarter,
// sdk.BundleFinisher and sdk.TearDowner have the same method sets), found
// on each instance by type assertion.
type (
	// Setupper sets up an instance once before its first bundle.
	Setupper interface {
		Setup(ctx context.Context) error
	}
	// BundleStarter prepares for each bundle.
	BundleStarter interface {
		StartBundle(ctx context.Context) error
	}
	// BundleFinisher completes each bundle.
	BundleFinisher interface {
		FinishBundle(ctx context.Context) error
	}
	// TearDowner releases an instance's resources after its last bundle.
	TearDowner interface {
		Teardown(ctx context.Context) error
	}
)

// ReceiverOf asserts that outs[i], an output receiver that the executor
// wired for the transform called name, is a Receiver[T].
func ReceiverOf[T any](outs []any, i int, name string) (Receiver[T], error) {
	if i >= len(outs) {
		return nil, fmt.Errorf("operator: %s: executor wired %d outputs, want at least %d", name, len(outs), i+1)
	}
	r, ok := outs[i].(Receiver[T])
	if !ok {
		return nil, fmt.Errorf("operator: %s: output %d receiver is %T, want a receiver of %T", name, i, outs[i], *new(T))
	}
	return r, nil
}

// ParDoFactory builds ParDo operators of any arity: the sdk fills it in
// with the user's DoFn and a Wire function that knows the DoFn's typed
// method and outputs.
type ParDoFactory[In any] struct {
	// Fn is the user's DoFn; Clone returns the copy of it that one
	// operator instance runs (instances run concurrently).
	Fn    any
	Clone func(fn any) (any, error)
	// In and Outs are the element operations of the main input and of
	// each output.
	In   TypeOps
	Outs []TypeOps
	// Wire sets up a new core for instance inst of Fn: it sets the core's
	// Process (and Finish, for a DoFn that emits when a bundle finishes)
	// to call inst and deliver to outs, the output receivers.
	Wire func(c *ParDoCore[In], inst any, outs []any) error
	// Direct, when set, builds a lighter operator than ParDoCore for
	// functions that need no element context (see FuncOp).
	Direct func(env *Env, outs []any) (Operator, any, error)
	// Stateful is set for a DoFn with user state or timers.
	Stateful *StatefulSpec[In]
}

var _ Factory = (*ParDoFactory[int])(nil)

// InputOps returns the element operations of the main input.
func (f *ParDoFactory[In]) InputOps() TypeOps { return f.In }

// OutputOps returns the element operations of each output.
func (f *ParDoFactory[In]) OutputOps() []TypeOps { return f.Outs }

// Build returns a new operator instance, which is also its input receiver.
func (f *ParDoFactory[In]) Build(env *Env, outs []any) (Operator, any, error) {
	if f.Direct != nil {
		return f.Direct(env, outs)
	}
	inst, err := f.Clone(f.Fn)
	if err != nil {
		return nil, nil, fmt.Errorf("operator: %s: %w", env.UniqueName, err)
	}
	c := newParDoCore[In](env, inst)
	if s := f.Stateful; s != nil {
		c.stateful = s
		c.timers = s.TimerCoder()
		c.ec.Keyed = &Keyed{GCTime: s.GCTime, keyCoder: s.KeyCoder, winCoder: s.WindowCoder, timers: c.timers}
	}
	if err := f.Wire(c, inst, outs); err != nil {
		return nil, nil, err
	}
	return c, c, nil
}

// ParDoCore is the arity-independent part of a ParDo operator: lifecycle,
// window explosion, element context and error handling. It is used by one
// goroutine at a time.
type ParDoCore[In any] struct {
	// Process calls the DoFn instance with one element; Finish, when set,
	// replaces the instance's FinishBundle (see ParDoFactory.Wire).
	Process func(ctx context.Context, in In) error
	Finish  func(ctx context.Context) error
	// OnTimer calls a stateful DoFn's timer callback, OnExpire its
	// OnWindowExpiration (see StatefulSpec).
	OnTimer  func(ctx context.Context, t FiredTimer) error
	OnExpire func(ctx context.Context) error

	stateful *StatefulSpec[In]
	timers   coder.Coder[coder.Timer[[]byte]]

	env  *Env
	ec   ElemContext
	inst any
	// outWins are the windows of emitted elements: the input's windows, or
	// win[:] when an element in several windows is processed per window.
	outWins []window.Window
	win     [1]window.Window
	// downErr is the first error of a downstream receiver during a call.
	downErr error
}

func newParDoCore[In any](env *Env, inst any) *ParDoCore[In] {
	c := &ParDoCore[In]{env: env, inst: inst}
	c.ec.Env = env
	c.ec.Context = context.Background()
	c.resetWindow()
	return c
}

func (c *ParDoCore[In]) resetWindow() {
	c.ec.Timestamp = window.MinTime
	c.ec.Window = window.Global()
	c.ec.Pane = window.NoFiringPane()
	c.outWins = window.GlobalWindows()
}

// Emitter returns the emit function of one output of c, which delivers to
// next with the timestamp, windows and pane of the element being processed.
// A next in a fused chain (an elemSinker: a FuncOp, a precombine) gets
// the output through its elemSink, without a window.Value built and a
// generic method called through an interface per output (a source's
// lines into a word count's FlatMap).
func Emitter[In, Out any](c *ParDoCore[In], next Receiver[Out]) func(Out) {
	if s, ok := next.(elemSinker[Out]); ok {
		sink := s.elemSink()
		m := new(elemMeta)
		return func(out Out) {
			if c.downErr != nil {
				return
			}
			m.Timestamp, m.Windows, m.Pane = c.ec.Timestamp, c.outWins, c.ec.Pane
			c.downErr = sink(out, m)
			m.Windows = nil
		}
	}
	return func(out Out) {
		if c.downErr != nil {
			return
		}
		c.downErr = next.Receive(window.Value[Out]{Elem: out, Timestamp: c.ec.Timestamp, Windows: c.outWins, Pane: c.ec.Pane})
	}
}

// Receive processes one windowed element, once per window.
func (c *ParDoCore[In]) Receive(v window.Value[In]) error {
	if c.stateful != nil {
		k := c.ec.Keyed
		k.Key = c.stateful.KeyOf(k.Key[:0], v.Elem)
		k.keyOK, k.Timer = false, nil
	}
	c.ec.Timestamp = v.Timestamp
	c.ec.Pane = v.Pane
	if len(v.Windows) == 1 {
		c.ec.Window = v.Windows[0]
		c.outWins = v.Windows
		return c.invoke(v.Elem)
	}
	for _, w := range v.Windows {
		c.ec.Window = w
		c.win[0] = w
		c.outWins = c.win[:]
		if err := c.invoke(v.Elem); err != nil {
			return err
		}
	}
	return nil
}

func (c *ParDoCore[In]) invoke(in In) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = PanicError(c.env.UniqueName, in, true, r)
		}
	}()
	if err := c.Process(&c.ec, in); err != nil {
		return WrapUserError(c.env.UniqueName, in, true, err)
	}
	if err := c.downErr; err != nil {
		c.downErr = nil
		return err
	}
	return nil
}

// lifecycle runs one optional lifecycle method with panic recovery.
func (c *ParDoCore[In]) lifecycle(ctx context.Context, stage string, call func(context.Context) error) (err error) {
	c.ec.Context = ctx
	defer func() {
		if r := recover(); r != nil {
			err = PanicError(c.env.UniqueName+" "+stage, nil, false, r)
		}
	}()
	if err := call(&c.ec); err != nil {
		return WrapUserError(c.env.UniqueName+" "+stage, nil, false, err)
	}
	if err := c.downErr; err != nil {
		c.downErr = nil
		return err
	}
	return nil
}

// Setup calls the instance's Setup, if it has one.
func (c *ParDoCore[In]) Setup(ctx context.Context) error {
	if s, ok := c.inst.(Setupper); ok {
		return c.lifecycle(ctx, "Setup", s.Setup)
	}
	return nil
}

// StartBundle prepares the element context for a bundle on ctx and calls
// the instance's StartBundle, if it has one.
func (c *ParDoCore[In]) StartBundle(ctx context.Context) error {
	c.resetWindow()
	c.ec.StartBundle(ctx)
	if s, ok := c.inst.(BundleStarter); ok {
		return c.lifecycle(ctx, "StartBundle", s.StartBundle)
	}
	return nil
}

// FinishBundle calls Finish or the instance's FinishBundle, if any.
func (c *ParDoCore[In]) FinishBundle(ctx context.Context) error {
	// Emit with the last element's window, held in c.win: the producer may
	// have reused the slice the element arrived with.
	c.win[0] = c.ec.Window
	c.outWins = c.win[:]
	if c.Finish != nil {
		return c.lifecycle(ctx, "FinishBundle", c.Finish)
	}
	if s, ok := c.inst.(BundleFinisher); ok {
		return c.lifecycle(ctx, "FinishBundle", s.FinishBundle)
	}
	return nil
}

// Teardown calls the instance's Teardown, if it has one.
func (c *ParDoCore[In]) Teardown(ctx context.Context) error {
	if s, ok := c.inst.(TearDowner); ok {
		return c.lifecycle(ctx, "Teardown", s.Teardown)
	}
	return nil
}

// ReceiveTimer fires the timers of family in encoded, one or more
// concatenated beam:coder:timer:v1 values (a runner's data plane carries
// them so), in order: OnTimer (or OnExpire for the StatefulSpec's
// ExpiryFamily) runs once per window of a timer, with the timer's key,
// and outputs get the timer's output timestamp. Cleared timers are
// ignored.
func (c *ParDoCore[In]) ReceiveTimer(family string, encoded []byte) error {
	if c.stateful == nil {
		return fmt.Errorf("operator: %s: got a timer of family %q but has no timers", c.env.UniqueName, family)
	}
	for len(encoded) > 0 {
		t, n, err := c.timers.Decode(encoded)
		if err != nil {
			return fmt.Errorf("operator: %s: decode timer of family %q: %w", c.env.UniqueName, family, err)
		}
		encoded = encoded[n:]
		if err := c.receiveOne(family, t); err != nil {
			return err
		}
	}
	return nil
}

// receiveOne fires one decoded timer of family.
func (c *ParDoCore[In]) receiveOne(family string, t coder.Timer[[]byte]) error {
	if t.ClearBit {
		return nil
	}
	expiry := family == c.stateful.ExpiryFamily && family != ""
	domain, ok := c.stateful.Families[family]
	if !ok && !expiry {
		return fmt.Errorf("operator: %s: got a timer of unknown family %q", c.env.UniqueName, family)
	}
	k := c.ec.Keyed
	k.setKey(t.UserKey)
	fired := FiredTimer{Family: family, Tag: t.DynamicTimerTag, Domain: domain, Fire: t.FireTimestamp, Hold: t.HoldTimestamp}
	k.Timer = &fired
	defer func() { k.Timer = nil }()
	c.ec.Timestamp = t.HoldTimestamp
	c.ec.Pane = window.NoFiringPane()
	for _, w := range t.Windows {
		c.ec.Window = w
		c.win[0] = w
		c.outWins = c.win[:]
		if err := c.fire(expiry, fired); err != nil {
			return err
		}
	}
	return nil
}

// fire runs one timer callback with panic recovery.
func (c *ParDoCore[In]) fire(expiry bool, t FiredTimer) (err error) {
	stage := "OnTimer(" + t.Family + ")"
	call := func(ctx context.Context) error {
		if c.OnTimer == nil {
			return fmt.Errorf("the DoFn has no OnTimer method")
		}
		return c.OnTimer(ctx, t)
	}
	if expiry {
		stage, call = "OnWindowExpiration", c.OnExpire
		if call == nil {
			return nil
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = PanicError(c.env.UniqueName+" "+stage, nil, false, r)
		}
	}()
	if err := call(&c.ec); err != nil {
		return WrapUserError(c.env.UniqueName+" "+stage, nil, false, err)
	}
	if err := c.downErr; err != nil {
		c.downErr = nil
		return err
	}
	return nil
}

// TimerReceiver is an operator that fires timers: ParDoCore of a stateful
// DoFn. The executor hands it the timers a runner sends.
type TimerReceiver interface {
	ReceiveTimer(family string, encoded []byte) error
}

var _ TimerReceiver = (*ParDoCore[int])(nil)
