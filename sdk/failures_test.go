package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/testutil/passert"
)

// failOn fails on the element "bad", counting its attempts; Permanent
// marks the error permanent. Calls is shared by the instances, which the
// local runner and LOOPBACK workers run in this process.
type failOn struct {
	Permanent bool
	calls     *atomic.Int32
}

func (f *failOn) ProcessElement(_ context.Context, s string, emit func(string)) error {
	if s != "bad" {
		emit(s)
		return nil
	}
	f.calls.Add(1)
	err := fmt.Errorf("cannot parse %q", s)
	if f.Permanent {
		return sdk.Permanent(err)
	}
	return err
}

func TestPermanentErrorsAreNotRetried(t *testing.T) {
	for name, r := range runners() {
		for _, permanent := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/permanent=%v", name, permanent), func(t *testing.T) {
				p := sdk.NewPipeline()
				s := p.Root()
				fn := &failOn{Permanent: permanent, calls: new(atomic.Int32)}
				sdk.ParDo(s, sdk.DoFn[string, string](fn), sdk.Create(s, []string{"ok", "bad"}), sdk.Name("Parse"))
				_, err := r.Run(context.Background(), p)
				if err == nil || !strings.Contains(err.Error(), `cannot parse "bad"`) {
					t.Fatalf("Run = %v, want the DoFn's error", err)
				}
				calls := fn.calls.Load()
				if permanent && calls != 1 {
					t.Errorf("a permanent error was tried %d times, want once", calls)
				}
				if !permanent && calls < 2 {
					t.Errorf("an unmarked error was tried %d times, want retries", calls)
				}
			})
		}
	}
}

func TestPermanent(t *testing.T) {
	if sdk.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	cause := errors.New("bad record")
	err := sdk.Permanent(fmt.Errorf("wrapped: %w", sdk.Permanent(cause)))
	var pe *sdk.PermanentError
	if !errors.As(err, &pe) || !errors.Is(err, cause) || strings.Count(err.Error(), "permanent") != 1 {
		t.Errorf("Permanent of a permanent error = %v, want it unchanged, matching PermanentError and the cause", err)
	}
}

func TestTryMapSendsFailuresToTheDeadLetterOutput(t *testing.T) {
	runOnEach(t, func(s sdk.Scope) {
		in := sdk.Create(s, []string{"1", "x", "2", "y"})
		good, bad := sdk.TryMap(s, strconv.Atoi, in, sdk.Name("ParseInts"))
		passert.Equals(s, good, 1, 2)
		passert.Equals(s, sdk.Map(s, func(f sdk.Failed[string]) string { return f.Element + " " + f.Transform }, bad), "x ParseInts", "y ParseInts")
		passert.True(s, bad, func(f sdk.Failed[string]) bool { return strings.Contains(f.Error, "invalid syntax") })
	})
}

// halfThenFail emits for every element, then fails on odd ones or panics
// on 4: what it emitted for a failing element must not come out.
type halfThenFail struct{}

func (halfThenFail) ProcessElement(_ context.Context, v int, emit func(int)) error {
	emit(v * 10)
	if v == 4 {
		panic("four")
	}
	if v%2 == 1 {
		return fmt.Errorf("odd %d", v)
	}
	return nil
}

func TestTryParDoDeliversElementsWhole(t *testing.T) {
	runOnEach(t, func(s sdk.Scope) {
		good, bad := sdk.TryParDo(s, sdk.DoFn[int, int](halfThenFail{}), sdk.Create(s, []int{1, 2, 3, 4}))
		passert.Equals(s, good, 20)
		passert.Equals(s, sdk.Map(s, func(f sdk.Failed[int]) string { return fmt.Sprint(f.Element, ": ", f.Error) }, bad),
			"1: odd 1", "3: odd 3", "4: panic: four")
	})
}

// readsSide reads a side input it holds in a field.
type readsSide struct {
	Limit *sdk.SingletonView[int]
}

func (f *readsSide) ProcessElement(ctx context.Context, v int, emit func(int)) error {
	if v < f.Limit.Get(ctx) {
		emit(v)
	}
	return nil
}

func TestUndeclaredSideInputIsAConstructionError(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	limit := sdk.AsSingleton(sdk.Create(s, []int{2}))
	sdk.ParDo(s, sdk.DoFn[int, int](&readsSide{Limit: limit}), sdk.Create(s, []int{1, 2, 3}), sdk.Name("BelowLimit"))
	var ce *sdk.ConstructionError
	err := p.Err()
	if !errors.As(err, &ce) || ce.Transform != "BelowLimit" || !strings.Contains(err.Error(), "side input Limit is not declared") ||
		!strings.HasPrefix(ce.Location, "failures_test.go:") {
		t.Errorf("Err() = %v, want a construction error of BelowLimit at this file naming the field Limit", err)
	}

	ok := sdk.NewPipeline()
	s = ok.Root()
	limit = sdk.AsSingleton(sdk.Create(s, []int{2}))
	sdk.ParDo(s, sdk.DoFn[int, int](&readsSide{Limit: limit}), sdk.Create(s, []int{1, 2, 3}), sdk.WithSideInput(limit))
	if err := ok.Err(); err != nil {
		t.Errorf("a declared side input: Err() = %v", err)
	}
}
