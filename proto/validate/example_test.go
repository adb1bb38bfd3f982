package validate_test

import (
	"fmt"

	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/proto/validate"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
)

func ExamplePipeline() {
	p := &pipepb.Pipeline{
		RootTransformIds: []string{"t1", "t2"},
		Components: &pipepb.Components{
			Transforms: map[string]*pipepb.PTransform{
				"t1": {UniqueName: "Impulse", Spec: &pipepb.FunctionSpec{Urn: urns.TransformImpulse}, Outputs: map[string]string{"out": "p1"}},
				"t2": {UniqueName: "Group", Spec: &pipepb.FunctionSpec{Urn: urns.TransformGroupByKey}, Inputs: map[string]string{"in": "p2"}},
			},
			Pcollections: map[string]*pipepb.PCollection{
				"p1": {UniqueName: "impulse.out", CoderId: "bytes", WindowingStrategyId: "global"},
			},
			Coders: map[string]*pipepb.Coder{
				"bytes":  {Spec: &pipepb.FunctionSpec{Urn: urns.CoderBytes}},
				"window": {Spec: &pipepb.FunctionSpec{Urn: urns.CoderGlobalWindow}},
			},
			WindowingStrategies: map[string]*pipepb.WindowingStrategy{
				"global": {WindowFn: &pipepb.FunctionSpec{Urn: urns.WindowFnGlobal}, WindowCoderId: "window"},
			},
		},
	}
	fmt.Println(validate.Pipeline(p, nil))
	// Output:
	// validate: transform "Group" (id t2): input "in" names missing PCollection "p2"
}
