package translate_test

import (
	"fmt"
	"strings"
	"testing"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/proto/translate"
)

func TestFromProtoRefusesDeeplyNestedComposites(t *testing.T) {
	p := &pipepb.Pipeline{Components: &pipepb.Components{Transforms: map[string]*pipepb.PTransform{}}}
	ts := p.Components.Transforms
	for i := range 100_000 {
		id := fmt.Sprintf("t%d", i)
		ts[id] = &pipepb.PTransform{UniqueName: "Nest" + id}
		if i > 0 {
			ts[fmt.Sprintf("t%d", i-1)].Subtransforms = []string{id}
		}
	}
	p.RootTransformIds = []string{"t0"}
	_, err := translate.FromProto(p)
	if want := "is nested deeper than 1000 composites"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("FromProto() = %v, want an error containing %q", err, want)
	}
}
