package interop

import (
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/test/integration/primitives"
)

// beamStreamingPrimitives are those of Beam Go's own integration tests of
// triggers, panes and TestStream (test/integration/primitives) that pass
// on our job server, run as Beam runs them: each builds a pipeline checked
// with passert. Not yet passing (2026-12-03): TriggerAlways, TriggerRepeat,
// TriggerAfterEndOfWindow, TriggerAfterEach, TriggerAfterAny,
// TriggerOrFinally, TriggerAfterProcessingTime (passert mismatches), and
// the TestStreams of strings, byte slices, int16 and ints (Simple,
// Simple_InfinityDefault, ToGBK): Beam Go puts nested encodings in the
// TestStream payload, which our engine re-encodes as if they were outer
// ones; Prism sidesteps the question by length-prefixing the elements and
// the coder. The processing-time cases that passed once
// (AfterProcessingTimeNotTriggered, AfterSynchronizedProcessingTime) are
// left out until they are shown to be stable.
var beamStreamingPrimitives = []struct {
	name  string
	build func(beam.Scope)
}{
	{"TestTriggerDefault", primitives.TriggerDefault},
	{"TestTriggerElementCount", primitives.TriggerElementCount},
	{"TestTriggerAfterAll", primitives.TriggerAfterAll},
	{"TestTriggerNever", primitives.TriggerNever},
	{"TestTestStreamInt64Sequence", primitives.TestStreamInt64Sequence},
	{"TestTestStreamTwoInt64Sequences", primitives.TestStreamTwoInt64Sequences},
	{"TestTestStreamFloat64Sequence", primitives.TestStreamFloat64Sequence},
	{"TestTestStreamTwoFloat64Sequences", primitives.TestStreamTwoFloat64Sequences},
	{"TestTestStreamBoolSequence", primitives.TestStreamBoolSequence},
	{"TestTestStreamTwoBoolSequences", primitives.TestStreamTwoBoolSequences},
	{"TestTestStreamTwoUserTypeSequences", primitives.TestStreamTwoUserTypeSequences},
	{"TestPanes", primitives.Panes},
}

// TestBeamGoStreamingPrimitivesOnOurJobServer runs Beam Go's trigger,
// pane and TestStream integration tests on our job server.
func TestBeamGoStreamingPrimitivesOnOurJobServer(t *testing.T) {
	ourJobServer(t)
	for _, tc := range beamStreamingPrimitives {
		t.Run(tc.name, func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			tc.build(s)
			if _, err := runBeam(t, p); err != nil {
				t.Errorf("%s on our job server: %v", tc.name, err)
			}
		})
	}
}
