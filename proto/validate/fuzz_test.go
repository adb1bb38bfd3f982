package validate_test

import (
	"testing"

	"github.com/beamgo-dev/beamgo/proto/validate"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

// FuzzPipeline checks that Pipeline never panics on arbitrary pipelines and
// reports the same problems every time.
func FuzzPipeline(f *testing.F) {
	valid := wordCount(&testing.T{})
	cyclic := proto.Clone(valid).(*pipepb.Pipeline)
	cyclic.Components.Transforms["t_read"].Inputs["i0"] = "p_custom"
	cyclic.Components.Coders["iter"].ComponentCoderIds = []string{"kv_iter"}
	for _, p := range []*pipepb.Pipeline{valid, cyclic} {
		bs, err := proto.Marshal(p)
		if err != nil {
			f.Fatalf("proto.Marshal() = %v", err)
		}
		f.Add(bs)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p pipepb.Pipeline
		if err := proto.Unmarshal(data, &p); err != nil {
			return
		}
		first := validate.Pipeline(&p, nil)
		second := validate.Pipeline(&p, nil)
		if (first == nil) != (second == nil) || (first != nil && first.Error() != second.Error()) {
			t.Errorf("Pipeline() = %v, then %v; want the same result", first, second)
		}
	})
}
