package fnrunner_test

import (
	"context"
	"strings"
	"testing"
	"time"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/proto/translate"
	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/runner/portable/fnrunner"
	"github.com/beamgo-dev/beamgo/sdk"
)

var seen = sdk.NewCounter("fnrunner", "seen")

type countFn struct{}

func (countFn) ProcessElement(ctx context.Context, v int, emit func(int)) error {
	seen.Inc(ctx, int64(v))
	emit(v)
	return nil
}

// The test builds the pipeline with the SDK and serves it on LOOPBACK
// workers of runner/portable; fnrunner itself sees only the proto.
func TestRunExecutesAPipelineProtoOnItsWorkers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.ParDo(s, sdk.DoFn[int, int](countFn{}), sdk.Reshuffle(s, sdk.Create(s, []int{1, 2, 3, 4})))
	pb, err := translate.ToProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := fnrunner.New(&fnrunner.Options{Workers: 2}).Run(ctx, pb, portable.Loopback(p))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var sum int64
	for k, v := range res.Metrics.Counters {
		if k.Namespace == "fnrunner" && k.Name == "seen" {
			sum += v
		}
	}
	if sum != 10 || res.Stages != 2 || res.Bundles < 2 {
		t.Errorf("Run() = counter %d, %d stages, %d bundles; want 10, 2 stages and a bundle each at least", sum, res.Stages, res.Bundles)
	}
}

func TestRunRefusesAnInvalidPipelineBeforeStartingWorkers(t *testing.T) {
	started := 0
	start := func(context.Context, string, *pipepb.ApiServiceDescriptor) (func(), error) {
		started++
		return nil, nil
	}
	pb := &pipepb.Pipeline{RootTransformIds: []string{"missing"}}
	_, err := fnrunner.New(nil).Run(context.Background(), pb, start)
	if err == nil || !strings.HasPrefix(err.Error(), "portable: invalid pipeline: ") {
		t.Errorf("Run(invalid) = %v, want a portable: invalid pipeline error", err)
	}
	if started != 0 {
		t.Errorf("Run(invalid) started %d workers, want none", started)
	}
}
