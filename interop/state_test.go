package interop

import (
	"fmt"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
)

// countingFn numbers the values of each key with value state and keeps
// them in bag state, emitting "key#n/size of the bag": per key, #1/1, #2/2,
// ... whatever the order, if the state is per key and nothing is lost.
type countingFn struct {
	Count state.Value[int]
	Seen  state.Bag[int]
}

func (f *countingFn) ProcessElement(sp state.Provider, k string, v int, emit func(string)) error {
	n, _, err := f.Count.Read(sp)
	if err != nil {
		return err
	}
	n++
	if err := f.Count.Write(sp, n); err != nil {
		return err
	}
	if err := f.Seen.Add(sp, v); err != nil {
		return err
	}
	seen, _, err := f.Seen.Read(sp)
	if err != nil {
		return err
	}
	emit(fmt.Sprintf("%s#%d/%d", k, n, len(seen)))
	return nil
}

// mapStateFn uses map state.
type mapStateFn struct {
	Last state.Map[string, int]
}

func (f *mapStateFn) ProcessElement(sp state.Provider, k string, v int, emit func(string)) error {
	if err := f.Last.Put(sp, k, v); err != nil {
		return err
	}
	emit(k)
	return nil
}

func init() {
	register.DoFn4x1[state.Provider, string, int, func(string), error](&countingFn{})
	register.DoFn4x1[state.Provider, string, int, func(string), error](&mapStateFn{})
	register.Emitter1[string]()
}

// TestBeamGoUserStateOnOurJobServer runs a Beam Go DoFn with value and bag
// state on our job server: the planner gives it a keyed stage and the
// engine keeps its state across bundles.
func TestBeamGoUserStateOnOurJobServer(t *testing.T) {
	ourJobServer(t)
	p, s := beam.NewPipelineWithRoot()
	var in []string
	want := []any{}
	for k, n := range map[string]int{"a": 3, "b": 1, "c": 40} {
		for i := range n {
			in = append(in, fmt.Sprintf("%s=%d", k, i))
			want = append(want, fmt.Sprintf("%s#%d/%d", k, i+1, i+1))
		}
	}
	kvs := beam.ParDo(s, parseKV, beam.CreateList(s, in))
	out := beam.ParDo(s, &countingFn{Count: state.MakeValueState[int]("count"), Seen: state.MakeBagState[int]("seen")}, kvs)
	passert.Equals(s, out, want...)
	if _, err := runBeam(t, p); err != nil {
		t.Fatalf("a stateful Beam Go job on our job server: %v", err)
	}
}

// TestBeamGoMapStateOnOurJobServer runs a Beam Go DoFn with map state on
// our job server, which serves every kind of user state from the engine's
// state store.
func TestBeamGoMapStateOnOurJobServer(t *testing.T) {
	ourJobServer(t)
	p, s := beam.NewPipelineWithRoot()
	kvs := beam.ParDo(s, parseKV, beam.Create(s, "a=1", "b=2", "a=3"))
	out := beam.ParDo(s, &mapStateFn{Last: state.MakeMapState[string, int]("last")}, kvs)
	passert.Equals(s, out, "a", "b", "a")
	if _, err := runBeam(t, p); err != nil {
		t.Fatalf("a Beam Go job with map state on our job server: %v", err)
	}
}
