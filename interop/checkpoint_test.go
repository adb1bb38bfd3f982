package interop

import (
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/rtrackers/offsetrange"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
)

// checkpointingFn is a splittable DoFn that emits the offsets [0, n) of
// each element n, claiming at most three per call and then checkpointing:
// the rest comes back to the runner as a residual root, which the runner
// must schedule again.
type checkpointingFn struct{}

func (checkpointingFn) CreateInitialRestriction(n int64) offsetrange.Restriction {
	return offsetrange.Restriction{Start: 0, End: n}
}

func (checkpointingFn) SplitRestriction(_ int64, r offsetrange.Restriction) []offsetrange.Restriction {
	return []offsetrange.Restriction{r}
}

func (checkpointingFn) RestrictionSize(_ int64, r offsetrange.Restriction) float64 { return r.Size() }

func (checkpointingFn) CreateTracker(r offsetrange.Restriction) *sdf.LockRTracker {
	return sdf.NewLockRTracker(offsetrange.NewTracker(r))
}

func (checkpointingFn) ProcessElement(rt *sdf.LockRTracker, n int64, emit func(int64)) sdf.ProcessContinuation {
	r := rt.GetRestriction().(offsetrange.Restriction)
	for i := r.Start; i < r.Start+3; i++ {
		if !rt.TryClaim(i) {
			return sdf.StopProcessing()
		}
		emit(n*100 + i)
	}
	return sdf.ResumeProcessingIn(time.Millisecond)
}

func init() {
	register.DoFn3x1[*sdf.LockRTracker, int64, func(int64), sdf.ProcessContinuation](&checkpointingFn{})
	register.Emitter1[int64]()
}

// TestBeamGoCheckpointingSDFOnOurJobServer runs a Beam Go splittable DoFn
// that checkpoints after every three offsets: our runner must reschedule
// each residual root the harness returns until the restrictions are done.
func TestBeamGoCheckpointingSDFOnOurJobServer(t *testing.T) {
	ourJobServer(t)
	p, s := beam.NewPipelineWithRoot()
	out := beam.ParDo(s, &checkpointingFn{}, beam.Create(s, int64(7), int64(10)))
	var want []any
	for _, n := range []int64{7, 10} {
		for i := range n {
			want = append(want, n*100+i)
		}
	}
	passert.Equals(s, out, want...)
	if _, err := runBeam(t, p); err != nil {
		t.Fatalf("checkpointing SDF on our job server: %v", err)
	}
}
