package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// checkedDouble is a transform as an author outside package sdk writes
// one: it refuses a negative factor through the Scope hook.
func checkedDouble(s sdk.Scope, factor int, in sdk.PCollection[int]) sdk.PCollection[int] {
	if factor < 0 {
		s.Errorf("Double", "factor %d is negative", factor)
		return sdk.PCollection[int]{}
	}
	return sdk.Map(s, func(v int) int { return v * factor }, in, sdk.Name("Double"))
}

func TestScopeErrorfNamesTransformAndCaller(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root().Scope("outer")
	in := sdk.Create(s, []int{1, 2})
	checkedDouble(s, -1, in) // the line the error must name
	_, _, line := callerLine()
	err := p.Err()
	var ce *sdk.ConstructionError
	if !errors.As(err, &ce) {
		t.Fatalf("Err() = %v, want a *sdk.ConstructionError", err)
	}
	if want := fmt.Sprintf("hooks_test.go:%d", line-1); ce.Location != want {
		t.Errorf("Location = %q, want %q (the caller of the transform)", ce.Location, want)
	}
	if ce.Transform != "outer/Double" {
		t.Errorf("Transform = %q, want outer/Double", ce.Transform)
	}
	if !strings.Contains(err.Error(), "factor -1 is negative") {
		t.Errorf("Err() = %q, want the cause", err)
	}
}

func TestScopeFailKeepsConstructionError(t *testing.T) {
	p := sdk.NewPipeline()
	cause := errors.New("boom")
	p.Root().Fail("T", &sdk.ConstructionError{Location: "elsewhere.go:7", Err: cause})
	var ce *sdk.ConstructionError
	if err := p.Err(); !errors.As(err, &ce) || ce.Location != "elsewhere.go:7" || ce.Transform != "T" || !errors.Is(err, cause) {
		t.Errorf("Err() = %v (%+v), want T at elsewhere.go:7 wrapping boom", err, ce)
	}
}

func TestSDKConstructionErrorsMatch(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.Map[int, int](s, nil, sdk.Create(s, []int{1}), sdk.Name("NilFn"))
	var ce *sdk.ConstructionError
	if err := p.Err(); !errors.As(err, &ce) || ce.Transform == "" || !strings.HasPrefix(ce.Location, "hooks_test.go:") {
		t.Errorf("Err() = %v, want a *sdk.ConstructionError naming the Map in hooks_test.go", err)
	}
}

// callerLine returns the file and line of its caller.
func callerLine() (string, bool, int) {
	_, file, line, ok := runtime.Caller(1)
	return file, ok, line
}

var errSeven = errors.New("no sevens")

// refuseSeven fails on the element 7.
type refuseSeven struct{}

func (refuseSeven) ProcessElement(_ context.Context, v int, emit func(int)) error {
	if v == 7 {
		return errSeven
	}
	emit(v)
	return nil
}

func TestUserErrorMatchesWithErrorsAs(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.ParDo(s, sdk.DoFn[int, int](refuseSeven{}), sdk.Create(s, []int{1, 7}), sdk.Name("RefuseSeven"))
	_, err := local.Execute(context.Background(), p)
	var ue *sdk.UserError
	if !errors.As(err, &ue) {
		t.Fatalf("Execute() = %v, want a *sdk.UserError", err)
	}
	if ue.Transform != "RefuseSeven" || ue.Element != "7" || !errors.Is(err, errSeven) {
		t.Errorf("UserError = %+v, want transform RefuseSeven, element 7, wrapping the DoFn's error", ue)
	}
}
