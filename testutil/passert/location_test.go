package passert_test

import (
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/testutil/passert"
)

// An error inside the assertion's composite names the test's call, not a
// line of passert or of the sdk.
func TestErrorInsideTheCompositeNamesTheCaller(t *testing.T) {
	other := sdk.NewPipeline()
	foreign := sdk.Create(other.Root(), []int{1, 2})
	p := sdk.NewPipeline()
	_, _, line, _ := runtime.Caller(0)
	passert.Count(p.Root(), foreign, 2) // a PCollection of another pipeline
	var ce *sdk.ConstructionError
	if err := p.Err(); !errors.As(err, &ce) {
		t.Fatalf("Err = %v, want a *sdk.ConstructionError", err)
	}
	if want := fmt.Sprintf("location_test.go:%d", line+1); ce.Location != want {
		t.Errorf("Location = %q, want %q (the test's call of passert.Count): %v", ce.Location, want, p.Err())
	}
}
