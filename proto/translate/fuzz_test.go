package translate_test

import (
	"testing"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/proto/decode"
	"github.com/beamgo-dev/beamgo/proto/translate"
)

// FuzzTriggerRoundTrip decodes arbitrary trigger protos: decoding never
// panics, and a trigger it accepts translates back to a proto that decodes
// to the same trigger.
func FuzzTriggerRoundTrip(f *testing.F) {
	for _, tt := range everyTrigger {
		b, err := proto.Marshal(translate.Trigger(tt.t))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var pb pipepb.Trigger
		if proto.Unmarshal(b, &pb) != nil {
			return
		}
		tr, err := decode.Trigger(&pb)
		if err != nil {
			return
		}
		again, err := decode.Trigger(translate.Trigger(tr))
		if err != nil {
			t.Fatalf("decode.Trigger(Trigger(%v)) = %v", tr, err)
		}
		if d := cmp.Diff(tr, again); d != "" {
			t.Errorf("round trip of %v (-want +got):\n%s", tr, d)
		}
	})
}
