package sdkaccess_test

import (
	"slices"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/sdkaccess"
	"github.com/beamgo-dev/beamgo/sdk"
)

func TestGraphAndCollection(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []int{1, 2})
	out := sdk.Map(s, func(v int) int { return v + 1 }, in, sdk.Name("Inc"))
	g := sdkaccess.Graph(p)
	c := sdkaccess.Collection(out)
	if c == nil || !slices.Contains(g.Collections, c) {
		t.Fatalf("Collection(out) = %v, not a collection of Graph(p)", c)
	}
	if c.Producer == nil || c.Producer.UniqueName != "Inc" {
		t.Errorf("Collection(out) produced by %v, want Inc", c.Producer)
	}
	if got := sdkaccess.Collection(sdk.PCollection[int]{}); got != nil {
		t.Errorf("Collection of an invalid PCollection = %v, want nil", got)
	}
}
