package interop

import (
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

// countingFn counts the values of each key in bag state.
type countingFn struct {
	Seen state.Bag[int]
}

func (f *countingFn) ProcessElement(sp state.Provider, k string, v int, emit func(string)) error {
	if err := f.Seen.Add(sp, v); err != nil {
		return err
	}
	emit(k)
	return nil
}

func init() {
	register.DoFn4x1[state.Provider, string, int, func(string), error](&countingFn{})
	register.Emitter1[string]()
}

// TestBeamGoUserStateIsRefusedByOurJobServer submits a Beam Go pipeline with
// a bag-state DoFn: our runners do not support user state yet, and the job
// must be refused with an error that names the transform and the state,
// not fail obscurely while running.
func TestBeamGoUserStateIsRefusedByOurJobServer(t *testing.T) {
	ourJobServer(t)
	p, s := beam.NewPipelineWithRoot()
	kvs := beam.ParDo(s, parseKV, beam.Create(s, "a=1", "b=2"))
	beam.ParDo(s, &countingFn{Seen: state.MakeBagState[int]("seen")}, kvs)
	_, err := runBeam(t, p)
	t.Logf("refused: %v", err)
	if err == nil || !strings.Contains(err.Error(), "user state") || !strings.Contains(err.Error(), "seen") {
		t.Fatalf("a stateful Beam Go job on our job server: %v, want a refusal naming user state \"seen\"", err)
	}
}
