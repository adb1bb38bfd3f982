package interop

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/runner"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// city is encoded with a row coder, which Prism does not know: it wraps it
// in a length prefix at every data port.
type city struct {
	Name    string
	Country string
}

type sink struct {
	mu  *sync.Mutex
	out *[]string
}

func (s sink) ProcessElement(_ context.Context, v string, _ func(int)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	*s.out = append(*s.out, v)
	return nil
}

// longestFn keeps the city with the longest name (then the first by name).
type longestFn struct{}

func (longestFn) CreateAccumulator() city          { return city{} }
func (longestFn) AddInput(a, c city) city          { return longer(a, c) }
func (longestFn) MergeAccumulators(a, b city) city { return longer(a, b) }
func (longestFn) ExtractOutput(a city) string      { return a.Name }

func longer(a, b city) city {
	if len(a.Name) != len(b.Name) {
		if len(a.Name) > len(b.Name) {
			return a
		}
		return b
	}
	if a.Name <= b.Name {
		return a
	}
	return b
}

// rows groups by row keys and combines row values across the runner's
// shuffle.
func rows(r runner.Runner) ([]string, error) {
	p := sdk.NewPipeline()
	s := p.Root()
	cities := sdk.Create(s, []city{{"Lyon", "FR"}, {"Graz", "AT"}, {"Nice", "FR"}, {"Lyon", "FR"}})
	byCity := sdk.GroupByKey(s, sdk.Map(s, func(c city) sdk.KV[city, int] { return sdk.Pair(c, len(c.Name)) }, cities))
	// Rows as values too, through a lifted combine's accumulators.
	longest := sdk.CombinePerKey(s, sdk.CombineFn[city, city, string](longestFn{}),
		sdk.Map(s, func(c city) sdk.KV[string, city] { return sdk.Pair(c.Country, c) }, cities))
	var mu sync.Mutex
	var out []string
	keep := sdk.DoFn[string, int](sink{mu: &mu, out: &out})
	sdk.ParDo(s, keep, sdk.Map(s, func(g sdk.Group[city, int]) string {
		return fmt.Sprintf("%s/%s %v", g.Key.Name, g.Key.Country, slices.Sorted(g.Values))
	}, byCity), sdk.Name("KeepCities"))
	sdk.ParDo(s, keep, sdk.Map(s, func(kv sdk.KV[string, string]) string { return kv.Key + " longest " + kv.Value }, longest), sdk.Name("KeepLongest"))
	if _, err := r.Run(context.Background(), p); err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	return slices.Sorted(slices.Values(out)), nil
}

// TestRowCodersCrossPrism checks the harness's recoding between this SDK's
// row coders and the length-prefixed coders Prism uses for them, as keys of
// a GroupByKey and as a combine's accumulators.
func TestRowCodersCrossPrism(t *testing.T) {
	r := onPrism(t)
	want, err := rows(local.New(nil))
	if err != nil {
		t.Fatalf("local runner: %v", err)
	}
	if len(want) != 5 {
		t.Fatalf("local runner gave %q, want 3 groups and 2 countries", want)
	}
	got, err := rows(r)
	if err != nil {
		t.Fatalf("Prism: %v", err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("groups on Prism differ from the local runner's (-local +prism):\n%s", d)
	}
}
