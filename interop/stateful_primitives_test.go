package interop

import (
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/test/integration/primitives"
)

// beamStatefulPrimitives are Beam Go's own integration tests of user state,
// timers and TestStream timers (test/integration/primitives), run on our
// job server as Beam runs them: each builds a pipeline checked with
// passert, and its state and timers travel over the Fn API to a Beam Go
// harness in this process (LOOPBACK). TestOrderedListState needs the
// runner to hand Beam Go a length-prefixed element coder, so that its
// appends arrive in the Fn API's entry format;
// TestTimers_ProcessingTime_Infinity needs processing time to reach the
// end of time, where the timers its callbacks keep setting are due at
// once.
var beamStatefulPrimitives = []struct {
	name  string
	build func(beam.Scope)
}{
	{"TestValueState", primitives.ValueStateParDo},
	{"TestValueStateWindowed", primitives.ValueStateParDoWindowed},
	{"TestValueStateClear", primitives.ValueStateParDoClear},
	{"TestBagState", primitives.BagStateParDo},
	{"TestBagStateClear", primitives.BagStateParDoClear},
	{"TestBagStateBlindWrite", primitives.BagStateBlindWriteParDo},
	{"TestCombiningState", primitives.CombiningStateParDo},
	{"TestMapState", primitives.MapStateParDo},
	{"TestMapStateClear", primitives.MapStateParDoClear},
	{"TestSetState", primitives.SetStateParDo},
	{"TestSetStateClear", primitives.SetStateParDoClear},
	{"TestOrderedListState", primitives.OrderedListStateParDo},
	{"TestTimers_EventTime_Bounded", primitives.TimersEventTimeBounded},
	{"TestTimers_EventTime_Unbounded", primitives.TimersEventTimeUnbounded},
	{"TestTimers_EventTime_WithOutputTimestamp", primitives.TimersEventTime_WithOutputTimestamp},
	{"TestTimers_EventTime_WithNoOutputTimestamp", primitives.TimersEventTime_WithNoOutputTimestamp},
	{"TestTimers_ProcessingTime_Bounded", primitives.TimersProcessingTime_Bounded},
	{"TestTimers_ProcessingTime_Unbounded", primitives.TimersProcessingTime_Unbounded},
	{"TestTimers_ProcessingTime_Infinity", primitives.TimersProcessingTimeTestStream_Infinity},
	{"TestTestStreamTimersEventTime", primitives.TestStreamTimersEventTime},
}

// TestBeamGoStatefulPrimitivesOnOurJobServer runs Beam Go's state, timer
// and TestStream timer integration tests on our job server.
func TestBeamGoStatefulPrimitivesOnOurJobServer(t *testing.T) {
	ourJobServer(t)
	for _, tc := range beamStatefulPrimitives {
		t.Run(tc.name, func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			tc.build(s)
			if _, err := runBeam(t, p); err != nil {
				t.Errorf("%s on our job server: %v", tc.name, err)
			}
		})
	}
}

// TestBeamGoBundleFinalizerOnOurJobServer runs Beam Go's
// TestParDoBundleFinalizer on our job server: the harness, in this
// process (LOOPBACK), counts the finalization callbacks it runs, which our
// runner asks for with finalize_bundle once each bundle committed.
func TestBeamGoBundleFinalizerOnOurJobServer(t *testing.T) {
	ourJobServer(t)
	for _, tc := range []struct {
		name  string
		build func(beam.Scope)
		want  int32
	}{
		{"InProcessElement", primitives.ParDoProcessElementBundleFinalizer, primitives.BundleFinalizerProcess},
		{"InFinishBundle", primitives.ParDoFinishBundleFinalizer, primitives.BundleFinalizerFinish},
		{"InStartProcessFinishBundle", primitives.ParDoFinalizerInAll,
			primitives.BundleFinalizerStart + primitives.BundleFinalizerProcess + primitives.BundleFinalizerFinish},
	} {
		t.Run(tc.name, func(t *testing.T) {
			primitives.CountInvokeBundleFinalizer.Store(0)
			p, s := beam.NewPipelineWithRoot()
			tc.build(s)
			if _, err := runBeam(t, p); err != nil {
				t.Fatalf("%s on our job server: %v", tc.name, err)
			}
			if got := primitives.CountInvokeBundleFinalizer.Load(); got != tc.want {
				t.Errorf("finalization callbacks counted %d, want %d", got, tc.want)
			}
		})
	}
}
