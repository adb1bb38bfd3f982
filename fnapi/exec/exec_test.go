package exec_test

import (
	"context"
	"errors"
	"iter"
	"slices"
	"strings"
	"testing"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/fnapi/exec"
	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/operator"
	"github.com/beamgo-dev/beamgo/internal/sdkaccess"
	"github.com/beamgo-dev/beamgo/proto/translate"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

// collect is a Receiver that keeps elements.
type collect[T any] struct{ got []T }

func (c *collect[T]) Receive(v window.Value[T]) error {
	c.got = append(c.got, v.Elem)
	return nil
}

// lifecycle records the order of lifecycle calls.
type lifecycle struct {
	Log *[]string
}

func (l *lifecycle) Setup(context.Context) error { *l.Log = append(*l.Log, "Setup"); return nil }
func (l *lifecycle) StartBundle(context.Context) error {
	*l.Log = append(*l.Log, "StartBundle")
	return nil
}
func (l *lifecycle) ProcessElement(_ context.Context, s string, emit func(string)) error {
	*l.Log = append(*l.Log, "Process("+s+")")
	if s == "boom" {
		return errors.New("bad element")
	}
	emit(strings.ToUpper(s))
	return nil
}
func (l *lifecycle) FinishBundle(context.Context) error {
	*l.Log = append(*l.Log, "FinishBundle")
	return nil
}
func (l *lifecycle) Teardown(context.Context) error { *l.Log = append(*l.Log, "Teardown"); return nil }

// stageOf builds a descriptor that runs the leaves of the pipeline after
// its first Impulse: a source on the impulse output, a sink on out.
func stageOf(t *testing.T, p *sdk.Pipeline, out *graph.Collection) *fnpb.ProcessBundleDescriptor {
	t.Helper()
	var impulseOut string
	for _, tr := range sdkaccess.Graph(p).Transforms {
		if tr.Kind == graph.KindImpulse {
			impulseOut = tr.Outputs[0].Coll.ID
		}
	}
	return descriptorOf(t, p, func(tr *pipepb.PTransform) bool { return tr.GetSpec().GetUrn() == urns.TransformParDo }, impulseOut, out.ID)
}

// descriptorOf builds a descriptor "s1" of the transforms of p that
// include picks, with a source "src" on PCollection in and a sink "snk"
// on out, in the global window.
func descriptorOf(t *testing.T, p *sdk.Pipeline, include func(*pipepb.PTransform) bool, in, out string) *fnpb.ProcessBundleDescriptor {
	t.Helper()
	pb, err := translate.ToProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := pb.GetComponents()
	desc := &fnpb.ProcessBundleDescriptor{Id: "s1", Transforms: map[string]*pipepb.PTransform{},
		Pcollections: c.Pcollections, Coders: c.Coders, WindowingStrategies: c.WindowingStrategies}
	desc.Coders["gw"] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderGlobalWindow}}
	for id, tr := range c.GetTransforms() {
		if len(tr.GetSubtransforms()) == 0 && include(tr) {
			desc.Transforms[id] = tr
		}
	}
	port := func(pc string) []byte {
		wv := "wv_" + pc
		desc.Coders[wv] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderWindowedValue}, ComponentCoderIds: []string{c.Pcollections[pc].CoderId, "gw"}}
		b, _ := proto.Marshal(&fnpb.RemoteGrpcPort{CoderId: wv})
		return b
	}
	desc.Transforms["src"] = &pipepb.PTransform{UniqueName: "src", Spec: &pipepb.FunctionSpec{Urn: urns.TransformSource, Payload: port(in)}, Outputs: map[string]string{"out": in}}
	desc.Transforms["snk"] = &pipepb.PTransform{UniqueName: "snk", Spec: &pipepb.FunctionSpec{Urn: urns.TransformSink, Payload: port(out)}, Inputs: map[string]string{"in": out}}
	return desc
}

func impulseInput(t *testing.T, p *sdk.Pipeline) map[string]iter.Seq2[[]byte, error] {
	t.Helper()
	var imp *graph.Collection
	for _, tr := range sdkaccess.Graph(p).Transforms {
		if tr.Kind == graph.KindImpulse {
			imp = tr.Outputs[0].Coll
		}
	}
	var enc []byte
	r := imp.Ops.(operator.TypeOps).NewEncoder(false, func(b []byte) error { enc = append(enc, b...); return nil })
	if err := r.(operator.Receiver[[]byte]).Receive(window.InGlobalWindow([]byte{})); err != nil {
		t.Fatal(err)
	}
	return map[string]iter.Seq2[[]byte, error]{"src": func(yield func([]byte, error) bool) { yield(enc, nil) }}
}

func run(t *testing.T, values []string) ([]string, []string, error) {
	var log []string
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, values)
	out := sdk.ParDo(s, &lifecycle{Log: &log}, in)
	desc := stageOf(t, p, sdkaccess.Collection(out))
	proc, err := exec.New(desc, sdkaccess.Graph(p))
	if err != nil {
		t.Fatalf("exec.New: %v", err)
	}
	got := &collect[string]{}
	dec, err := sdkaccess.Collection(out).Ops.(operator.TypeOps).NewDecoder(false, operator.Receiver[string](got))
	if err != nil {
		t.Fatal(err)
	}
	err = proc.Process(context.Background(), exec.Bundle{
		Inputs: impulseInput(t, p),
		Output: func(string) func([]byte) error {
			return func(b []byte) error { _, err := dec.Decode(b); return err }
		},
	})
	if terr := proc.Teardown(context.Background()); terr != nil {
		t.Errorf("Teardown: %v", terr)
	}
	return got.got, log, err
}

func TestProcessRunsLifecycleInOrder(t *testing.T) {
	got, log, err := run(t, []string{"a", "b"})
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	if diff := cmp.Diff([]string{"A", "B"}, got); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	want := []string{"Setup", "StartBundle", "Process(a)", "Process(b)", "FinishBundle", "Teardown"}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("lifecycle (-want +got):\n%s", diff)
	}
}

func TestProcessErrorNamesTransformAndElement(t *testing.T) {
	_, log, err := run(t, []string{"a", "boom", "c"})
	var ue *operator.UserError
	if !errors.As(err, &ue) {
		t.Fatalf("Process error = %v, want a UserError", err)
	}
	if !strings.Contains(ue.Transform, "lifecycle") || !strings.Contains(ue.Element, "boom") {
		t.Errorf("UserError = %+v, want transform lifecycle and element boom", ue)
	}
	if !slices.Contains(log, "Teardown") {
		t.Errorf("Teardown did not run after the failure: %v", log)
	}
}
