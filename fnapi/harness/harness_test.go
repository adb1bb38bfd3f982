package harness_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/fnapi/fnapitest"
	"github.com/beamgo-dev/beamgo/fnapi/harness"
	"github.com/beamgo-dev/beamgo/internal/sdkaccess"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

var (
	upperCount = sdk.NewCounter("harness", "upper")
	upperSizes = sdk.NewDistribution("harness", "sizes")
)

// events records lifecycle calls across DoFn instances.
type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	e.log = append(e.log, s)
	e.mu.Unlock()
}

func (e *events) count(s string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, x := range e.log {
		if x == s {
			n++
		}
	}
	return n
}

// upperFn upper-cases words, fails on "boom" and counts what it sees.
type upperFn struct {
	Events *events
}

func (f *upperFn) Setup(context.Context) error    { f.Events.add("Setup"); return nil }
func (f *upperFn) Teardown(context.Context) error { f.Events.add("Teardown"); return nil }
func (f *upperFn) ProcessElement(ctx context.Context, s string, emit func(string)) error {
	if s == "boom" {
		return errors.New("cannot upper-case boom")
	}
	upperCount.Inc(ctx, 1)
	upperSizes.Update(ctx, int64(len(s)))
	emit(strings.ToUpper(s))
	return nil
}

// upperPipeline is Create -> Upper; the stage runs Upper.
func upperPipeline(t *testing.T, f *fakeRunner, ev *events) (*sdk.Pipeline, stage) {
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []string{"unused"})
	out := sdk.ParDo(s, &upperFn{Events: ev}, in, sdk.Name("Upper"))
	return p, stageFor(t, f, p, "upper", []string{"Upper"}, sdkaccess.Collection(in), sdkaccess.Collection(out), nil)
}

// metricsOf resolves a response's monitoring data through the harness's
// short id metadata.
func metricsOf(t *testing.T, f *fakeRunner, inst string, data map[string][]byte) map[string][]byte {
	t.Helper()
	var ids []string
	for id := range data {
		ids = append(ids, id)
	}
	resp := f.await(f.instruct(&fnpb.InstructionRequest{InstructionId: inst, Request: &fnpb.InstructionRequest_MonitoringInfos{
		MonitoringInfos: &fnpb.MonitoringInfosMetadataRequest{MonitoringInfoId: ids},
	}}))
	out := map[string][]byte{}
	for id, mi := range resp.GetMonitoringInfos().GetMonitoringInfo() {
		key := mi.GetUrn()
		for _, l := range []string{urns.LabelTransform, urns.LabelPCollection, urns.LabelNamespace, urns.LabelName} {
			if v, ok := mi.GetLabels()[l]; ok {
				key += " " + l + "=" + v
			}
		}
		out[key] = data[id]
	}
	return out
}

func varints(vs ...int64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b
}

func idOf(t *testing.T, desc *fnpb.ProcessBundleDescriptor, uniqueName string) string {
	t.Helper()
	for id, pt := range desc.GetTransforms() {
		if pt.GetUniqueName() == uniqueName {
			return id
		}
	}
	t.Fatalf("no transform %q", uniqueName)
	return ""
}

func TestBundlesRunWithDataMetricsAndWorkerID(t *testing.T) {
	f := newFakeRunner(t)
	ev := &events{}
	p, st := upperPipeline(t, f, ev)
	startHarness(t, f, p)

	// The descriptor is not registered: the harness fetches it.
	resp := f.instruct(processBundle("b1", "upper"))
	f.send("b1", st.in, fnapitest.EncodeStrings("a", "bb"), fnapitest.EncodeStrings("ccc"))
	if got, want := fnapitest.DecodeStrings(t, f.output("b1", st.out)), []string{"A", "BB", "CCC"}; !slices.Equal(got, want) {
		t.Errorf("output = %q, want %q", got, want)
	}
	r := f.await(resp)
	if r.GetError() != "" {
		t.Fatalf("bundle failed: %s", r.GetError())
	}
	upper := idOf(t, st.desc, "Upper")
	want := map[string][]byte{
		urns.MetricUserSumInt64 + " PTRANSFORM=" + upper + " NAMESPACE=harness NAME=upper":          varints(3),
		urns.MetricUserDistributionInt64 + " PTRANSFORM=" + upper + " NAMESPACE=harness NAME=sizes": varints(3, 6, 1, 3),
		urns.MetricElementCount + " PCOLLECTION=" + st.desc.Transforms[st.in].Outputs["o"]:          varints(3),
		urns.MetricDataChannelReadIndex + " PTRANSFORM=" + st.in:                                    varints(2),
	}
	if d := cmp.Diff(want, metricsOf(t, f, "m1", r.GetProcessBundle().GetMonitoringData())); d != "" {
		t.Errorf("monitoring data (-want +got):\n%s", d)
	}
	if n := len(r.GetProcessBundle().GetMonitoringInfos()); n != len(want) {
		t.Errorf("got %d full monitoring infos, want %d for a runner without short id support", n, len(want))
	}

	// A second bundle reuses the descriptor and the DoFn instance.
	resp = f.instruct(processBundle("b2", "upper"))
	f.send("b2", st.in, fnapitest.EncodeStrings("d"))
	if got := fnapitest.DecodeStrings(t, f.output("b2", st.out)); !slices.Equal(got, []string{"D"}) {
		t.Errorf("second bundle output = %q, want [D]", got)
	}
	if r := f.await(resp); r.GetError() != "" {
		t.Fatalf("second bundle failed: %s", r.GetError())
	}
	f.mu.Lock()
	fetches, ids := f.descFetches, f.workerIDs
	f.mu.Unlock()
	if fetches != 1 {
		t.Errorf("descriptor fetched %d times, want 1", fetches)
	}
	for _, svc := range []string{"control", "descriptor", "data", "logging", "provision"} {
		if ids[svc] != "worker-7" {
			t.Errorf("%s calls carry worker_id %q, want worker-7", svc, ids[svc])
		}
	}
	if n := ev.count("Setup"); n != 1 {
		t.Errorf("Setup ran %d times for two bundles, want 1", n)
	}
}

func TestRegisteredDescriptorIsNotFetched(t *testing.T) {
	f := newFakeRunner(t)
	p, st := upperPipeline(t, f, &events{})
	f.capability = []string{urns.ProtocolMonitoringInfoShortIDs}
	startHarness(t, f, p)
	r := f.await(f.instruct(&fnpb.InstructionRequest{InstructionId: "r1", Request: &fnpb.InstructionRequest_Register{
		Register: &fnpb.RegisterRequest{ProcessBundleDescriptor: []*fnpb.ProcessBundleDescriptor{st.desc}},
	}}))
	if r.GetError() != "" {
		t.Fatalf("register failed: %s", r.GetError())
	}
	resp := f.instruct(processBundle("b1", "upper"))
	f.send("b1", st.in, fnapitest.EncodeStrings("x"))
	f.output("b1", st.out)
	r = f.await(resp)
	if r.GetError() != "" {
		t.Fatalf("bundle failed: %s", r.GetError())
	}
	if len(r.GetProcessBundle().GetMonitoringData()) == 0 {
		t.Error("no monitoring data")
	}
	if n := len(r.GetProcessBundle().GetMonitoringInfos()); n != 0 {
		t.Errorf("got %d full monitoring infos, want none for a runner that reads short ids", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.descFetches != 0 {
		t.Errorf("a registered descriptor was fetched %d times", f.descFetches)
	}
}

func TestFailedBundleReportsErrorTearsDownAndLogs(t *testing.T) {
	f := newFakeRunner(t)
	ev := &events{}
	p, st := upperPipeline(t, f, ev)
	startHarness(t, f, p)

	resp := f.instruct(processBundle("bad", "upper"))
	f.send("bad", st.in, fnapitest.EncodeStrings("ok", "boom", "never"))
	r := f.await(resp)
	for _, want := range []string{"Upper", "boom", "cannot upper-case"} {
		if !strings.Contains(r.GetError(), want) {
			t.Errorf("bundle error %q does not mention %q", r.GetError(), want)
		}
	}
	if n := ev.count("Teardown"); n != 1 {
		t.Errorf("Teardown ran %d times after the failure, want 1", n)
	}
	// The runner may still send data for the failed bundle; it is dropped,
	// and the next bundle runs on a fresh instance.
	f.send("bad", st.in, fnapitest.EncodeStrings("late"))
	resp = f.instruct(processBundle("good", "upper"))
	f.send("good", st.in, fnapitest.EncodeStrings("fine"))
	if got := fnapitest.DecodeStrings(t, f.output("good", st.out)); !slices.Equal(got, []string{"FINE"}) {
		t.Errorf("output after a failure = %q, want [FINE]", got)
	}
	if r := f.await(resp); r.GetError() != "" {
		t.Fatalf("bundle after a failure failed: %s", r.GetError())
	}
	if n := ev.count("Setup"); n != 2 {
		t.Errorf("Setup ran %d times, want 2 (a fresh instance after the failure)", n)
	}
	f.waitFor("the failure's log entry", func() bool {
		for _, e := range f.logs {
			if e.GetSeverity() == fnpb.LogEntry_Severity_ERROR && e.GetInstructionId() == "bad" && strings.Contains(e.GetCustomData().String(), "boom") {
				return true
			}
		}
		return false
	})
}

func TestRunTearsDownWhenStopped(t *testing.T) {
	f := newFakeRunner(t)
	ev := &events{}
	p, st := upperPipeline(t, f, ev)
	stop := startHarness(t, f, p)
	resp := f.instruct(processBundle("b1", "upper"))
	f.send("b1", st.in, fnapitest.EncodeStrings("a"))
	f.output("b1", st.out)
	f.await(resp)
	if n := ev.count("Teardown"); n != 0 {
		t.Fatalf("Teardown ran %d times before the worker stopped", n)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
	if n := ev.count("Teardown"); n != 1 {
		t.Errorf("Teardown ran %d times after the worker stopped, want 1", n)
	}
}

// point is encoded with a row coder, which runners do not know and wrap in
// length prefixes.
type point struct{ X, Y int }

type swapFn struct{}

func (swapFn) ProcessElement(_ context.Context, p point, emit func(point)) error {
	emit(point{p.Y, p.X})
	return nil
}

func TestLengthPrefixedPortsAreRecoded(t *testing.T) {
	f := newFakeRunner(t)
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []point{})
	out := sdk.ParDo(s, swapFn{}, in, sdk.Name("Swap"))
	// Like Prism, wrap the port element coders in a length prefix.
	st := stageFor(t, f, p, "swap", []string{"Swap"}, sdkaccess.Collection(in), sdkaccess.Collection(out), func(desc *fnpb.ProcessBundleDescriptor, id string) string {
		desc.Coders["lp_"+id] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderLengthPrefix}, ComponentCoderIds: []string{id}}
		return "lp_" + id
	})
	rows, err := coder.Of[point]()
	if err != nil {
		t.Fatal(err)
	}
	if rows.Spec().URN != coder.URNRow {
		t.Fatalf("point coder is %s, want a row coder for this test", rows.Spec().URN)
	}
	wv := coder.NewWindowedValue(coder.LengthPrefix(rows), coder.GlobalWindow())
	var chunk []byte
	for _, pt := range []point{{1, 2}, {3, 400}} {
		chunk = wv.Encode(chunk, window.InGlobalWindow(pt))
	}
	startHarness(t, f, p)
	resp := f.instruct(processBundle("b1", "swap"))
	f.send("b1", st.in, chunk)
	b := f.output("b1", st.out)
	var got []point
	for len(b) > 0 {
		v, n, err := wv.Decode(b)
		if err != nil {
			t.Fatalf("output is not length-prefixed rows: %v", err)
		}
		got = append(got, v.Elem)
		b = b[n:]
	}
	if d := cmp.Diff([]point{{2, 1}, {400, 3}}, got); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
	if r := f.await(resp); r.GetError() != "" {
		t.Fatalf("bundle failed: %s", r.GetError())
	}
}

type sideSumFn struct {
	Nums *sdk.IterView[int]
}

func (f *sideSumFn) ProcessElement(ctx context.Context, s string, emit func(string)) error {
	sum := 0
	for n := range f.Nums.Get(ctx) {
		sum += n
	}
	emit(s + "=" + strings.Repeat("|", sum))
	return nil
}

func TestSideInputsFollowContinuationTokens(t *testing.T) {
	f := newFakeRunner(t)
	f.pageSize = 3
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []string{})
	fn := &sideSumFn{Nums: sdk.AsIter(sdk.Create(s, []int{}))}
	out := sdk.ParDo(s, fn, in, sdk.WithSideInput(fn.Nums), sdk.Name("Sum"))
	st := stageFor(t, f, p, "sum", []string{"Sum"}, sdkaccess.Collection(in), sdkaccess.Collection(out), nil)
	id := idOf(t, st.desc, "Sum")
	var pd pipepb.ParDoPayload
	if err := proto.Unmarshal(st.desc.Transforms[id].GetSpec().GetPayload(), &pd); err != nil {
		t.Fatal(err)
	}
	if len(pd.GetSideInputs()) != 1 {
		t.Fatalf("ParDo has %d side inputs, want 1", len(pd.GetSideInputs()))
	}
	var contents []byte
	ints, _ := coder.Of[int]()
	for _, n := range []int{1, 2, 3, 4, 200, 300} {
		contents = ints.Encode(contents, n)
	}
	for local := range pd.GetSideInputs() {
		f.sides[id+"/"+local] = contents
	}
	startHarness(t, f, p)
	resp := f.instruct(processBundle("b1", "sum"))
	f.send("b1", st.in, fnapitest.EncodeStrings("a", "b"))
	want := []string{"a=" + strings.Repeat("|", 510), "b=" + strings.Repeat("|", 510)}
	if got := fnapitest.DecodeStrings(t, f.output("b1", st.out)); !slices.Equal(got, want) {
		t.Errorf("output = %q, want %q", got, want)
	}
	if r := f.await(resp); r.GetError() != "" {
		t.Fatalf("bundle failed: %s", r.GetError())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// 8 bytes in pages of 3, read once per bundle and window.
	if f.stateCalls != 3 {
		t.Errorf("%d state requests, want 3 pages", f.stateCalls)
	}
}

// gateFn blocks on element "y" until released.
type gateFn struct {
	Gate *gate
}

type gate struct {
	once    sync.Once
	started chan struct{}
	release chan struct{}
}

func (f *gateFn) ProcessElement(_ context.Context, s string, emit func(string)) error {
	if s == "y" {
		f.Gate.once.Do(func() {
			close(f.Gate.started)
			<-f.Gate.release
		})
	}
	emit(s)
	return nil
}

func TestProgressSplitAndFinalizeOfARunningBundle(t *testing.T) {
	f := newFakeRunner(t)
	g := &gate{started: make(chan struct{}), release: make(chan struct{})}
	p := sdk.NewPipeline()
	s := p.Root()
	in := sdk.Create(s, []string{})
	out := sdk.ParDo(s, &gateFn{Gate: g}, in, sdk.Name("Gate"))
	st := stageFor(t, f, p, "gate", []string{"Gate"}, sdkaccess.Collection(in), sdkaccess.Collection(out), nil)
	startHarness(t, f, p)

	resp := f.instruct(processBundle("b1", "gate"))
	// Not the last chunk: the bundle keeps running.
	f.elements <- &fnpb.Elements{Data: []*fnpb.Elements_Data{{InstructionId: "b1", TransformId: st.in, Data: fnapitest.EncodeStrings("x", "y")}}}
	<-g.started
	prog := f.await(f.instruct(&fnpb.InstructionRequest{InstructionId: "p1", Request: &fnpb.InstructionRequest_ProcessBundleProgress{
		ProcessBundleProgress: &fnpb.ProcessBundleProgressRequest{InstructionId: "b1"},
	}}))
	counts := metricsOf(t, f, "m1", prog.GetProcessBundleProgress().GetMonitoringData())
	key := urns.MetricElementCount + " PCOLLECTION=" + sdkaccess.Collection(in).ID
	if got := counts[key]; string(got) != string(varints(1)) {
		t.Errorf("progress element count = %v, want %v (x done, y running)", got, varints(1))
	}
	split := f.await(f.instruct(&fnpb.InstructionRequest{InstructionId: "s1", Request: &fnpb.InstructionRequest_ProcessBundleSplit{
		ProcessBundleSplit: &fnpb.ProcessBundleSplitRequest{InstructionId: "b1", DesiredSplits: map[string]*fnpb.ProcessBundleSplitRequest_DesiredSplit{
			st.in: {FractionOfRemainder: 0.5},
		}},
	}}))
	if split.GetError() != "" || len(split.GetProcessBundleSplit().GetChannelSplits()) != 0 {
		t.Errorf("split response = %v, want an empty answer (no split)", split)
	}
	close(g.release)
	f.send("b1", st.in, fnapitest.EncodeStrings("z"))
	if got := fnapitest.DecodeStrings(t, f.output("b1", st.out)); !slices.Equal(got, []string{"x", "y", "z"}) {
		t.Errorf("output = %q, want [x y z]", got)
	}
	if r := f.await(resp); r.GetError() != "" {
		t.Fatalf("bundle failed: %s", r.GetError())
	}
	fin := f.await(f.instruct(&fnpb.InstructionRequest{InstructionId: "f1", Request: &fnpb.InstructionRequest_FinalizeBundle{
		FinalizeBundle: &fnpb.FinalizeBundleRequest{InstructionId: "b1"},
	}}))
	if fin.GetError() != "" || fin.GetFinalizeBundle() == nil {
		t.Errorf("finalize response = %v, want an empty success", fin)
	}
	// Progress of a finished bundle is empty, not an error.
	late := f.await(f.instruct(&fnpb.InstructionRequest{InstructionId: "p2", Request: &fnpb.InstructionRequest_ProcessBundleProgress{
		ProcessBundleProgress: &fnpb.ProcessBundleProgressRequest{InstructionId: "b1"},
	}}))
	if late.GetError() != "" || len(late.GetProcessBundleProgress().GetMonitoringData()) != 0 {
		t.Errorf("progress of a finished bundle = %v, want empty", late)
	}
}

func TestUnknownDescriptorAndInstructionAreErrors(t *testing.T) {
	f := newFakeRunner(t)
	p, _ := upperPipeline(t, f, &events{})
	startHarness(t, f, p)
	r := f.await(f.instruct(processBundle("b1", "no-such-descriptor")))
	if !strings.Contains(r.GetError(), "no-such-descriptor") {
		t.Errorf("bundle of an unknown descriptor: error %q, want one naming it", r.GetError())
	}
	r = f.await(f.instruct(&fnpb.InstructionRequest{InstructionId: "x", Request: &fnpb.InstructionRequest_SampleData{SampleData: &fnpb.SampleDataRequest{}}}))
	if !strings.Contains(r.GetError(), "unsupported instruction") {
		t.Errorf("unsupported instruction: error %q, want one saying so", r.GetError())
	}
}

func TestDescriptorNamingForeignCodeFails(t *testing.T) {
	f := newFakeRunner(t)
	_, st := upperPipeline(t, f, &events{})
	// The worker's pipeline differs from the one the descriptor came from.
	other := sdk.NewPipeline()
	sdk.ParDo(other.Root(), &upperFn{Events: &events{}}, sdk.Create(other.Root(), []string{"a"}), sdk.Name("Different"))
	startHarness(t, f, other)
	resp := f.instruct(processBundle("b1", "upper"))
	f.send("b1", st.in, fnapitest.EncodeStrings("a"))
	r := f.await(resp)
	if !strings.Contains(r.GetError(), "Upper") || !strings.Contains(r.GetError(), "same pipeline") {
		t.Errorf("error %q, want one naming the missing transform Upper", r.GetError())
	}
}

func TestRunRefusesBadOptions(t *testing.T) {
	p := sdk.NewPipeline()
	sdk.Create(p.Root(), []int{1})
	tests := []struct {
		name string
		opts *harness.Options
		want string
	}{
		{"nil options are refused", nil, "Pipeline is required"},
		{"a missing control endpoint is refused", &harness.Options{Pipeline: p}, "ControlEndpoint"},
		{"an unreachable control endpoint is an error", &harness.Options{Pipeline: p, ControlEndpoint: "127.0.0.1:1"}, "control stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := harness.Run(context.Background(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestDataOfFailedInstructionsNeverStallsTheStream sends, for bundles that
// fail before they read their input (an unknown descriptor), more data
// chunks than the harness queues per instruction, before and after their
// process_bundle requests; a good bundle sent afterwards on the same data
// stream must still complete.
func TestDataOfFailedInstructionsNeverStallsTheStream(t *testing.T) {
	f := newFakeRunner(t)
	p, st := upperPipeline(t, f, &events{})
	startHarness(t, f, p)
	// A first bundle opens the data stream.
	resp := f.instruct(processBundle("b0", "upper"))
	f.send("b0", st.in, fnapitest.EncodeStrings("warm"))
	f.output("b0", st.out)
	f.await(resp)

	chunks := make([][]byte, 200)
	for i := range chunks {
		chunks[i] = fnapitest.EncodeStrings(fmt.Sprintf("lost-%d", i))
	}
	// Data after the failed request.
	if r := f.await(f.instruct(processBundle("after", "no-such-descriptor"))); r.GetError() == "" {
		t.Fatal("a bundle of an unknown descriptor succeeded")
	}
	f.send("after", st.in, chunks...)
	// Data before the request, which then fails.
	f.send("before", st.in, chunks...)
	if r := f.await(f.instruct(processBundle("before", "no-such-descriptor"))); r.GetError() == "" {
		t.Fatal("a bundle of an unknown descriptor succeeded")
	}

	resp = f.instruct(processBundle("good", "upper"))
	f.send("good", st.in, fnapitest.EncodeStrings("still", "flowing"))
	out, ok := f.outputWithin("good", st.out, 5*time.Second)
	if !ok {
		t.Fatal("a good bundle did not complete within 5s after data for failed instructions: the data stream stalled")
	}
	if got, want := fnapitest.DecodeStrings(t, out), []string{"STILL", "FLOWING"}; !slices.Equal(got, want) {
		t.Errorf("good bundle output = %q, want %q", got, want)
	}
	if r := f.await(resp); r.GetError() != "" {
		t.Errorf("good bundle failed: %s", r.GetError())
	}
}
