package interop

import (
	"context"
	"flag"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	beamuniversal "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/proto/translate"
	"github.com/beamgo-dev/beamgo/proto/urns"

	"github.com/beamgo-dev/beamgo/runner/portable/jobservice"
)

// Beam Go SDK pipelines submitted to this project's job server with Beam's
// universal runner and LOOPBACK workers (the Beam Go harness in this
// process).

func init() {
	beam.RegisterFunction(splitWords)
	beam.RegisterFunction(formatCount)
	beam.RegisterFunction(countFormatted)
	beam.RegisterFunction(parseKV)
	beam.RegisterFunction(parseKVString)
	beam.RegisterFunction(sumGroup)
	beam.RegisterFunction(joinGroups)
	beam.RegisterFunction(addInts)
	beam.RegisterFunction(shareOfTotal)
	beam.RegisterFunction(lookupSide)
}

var beamInit sync.Once

// ourJobServer starts this project's job server on 127.0.0.1:0 for one
// test and points Beam's universal runner flags at it.
func ourJobServer(t *testing.T) *jobservice.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("Beam Go SDK interop skipped in -short mode")
	}
	beamInit.Do(beam.Init)
	srv, err := jobservice.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	for name, v := range map[string]string{"endpoint": srv.Addr(), "environment_type": "LOOPBACK"} {
		if err := flag.Set(name, v); err != nil {
			t.Fatalf("flag.Set(%q): %v", name, err)
		}
	}
	return srv
}

// beamMu serializes Beam submissions: the universal runner reads global
// flags.
var beamMu sync.Mutex

// runBeam submits p with Beam's universal runner.
func runBeam(t *testing.T, p *beam.Pipeline) (beam.PipelineResult, error) {
	t.Helper()
	beamMu.Lock()
	defer beamMu.Unlock()
	return beamuniversal.Execute(runCtx(t), p)
}

var beamWordRE = regexp.MustCompile(`[a-zA-Z]+('[a-z])?`)

func splitWords(line string, emit func(string)) {
	for _, w := range beamWordRE.FindAllString(line, -1) {
		emit(w)
	}
}

func formatCount(w string, n int) string { return fmt.Sprintf("%s: %d", w, n) }

// countFormatted counts the formatted lines in a user counter, so the test
// sees metrics come back through GetJobMetrics.
func countFormatted(ctx context.Context, s string) string {
	beam.NewCounter("interop", "formatted").Inc(ctx, 1)
	beam.NewDistribution("interop", "length").Update(ctx, int64(len(s)))
	return s
}

// wantWordCount computes the word count of lines directly.
func wantWordCount(lines []string) []any {
	counts := map[string]int{}
	for _, l := range lines {
		for _, w := range beamWordRE.FindAllString(l, -1) {
			counts[w]++
		}
	}
	var out []any
	for w, n := range counts {
		out = append(out, formatCount(w, n))
	}
	return out
}

// beamWordCount is the Beam Go word count over lines.
func beamWordCount(lines []string, want []any) *beam.Pipeline {
	p, s := beam.NewPipelineWithRoot()
	in := beam.CreateList(s, lines)
	words := beam.ParDo(s.Scope("ExtractWords"), splitWords, in)
	counted := stats.Count(s, words)
	formatted := beam.ParDo(s, formatCount, counted)
	passert.Equals(s, beam.ParDo(s, countFormatted, formatted), want...)
	return p
}

// TestBeamGoWordCountOnOurJobServer runs Beam Go's word count on our job
// server and checks its output with passert (a mismatch fails the job)
// and its user metrics.
func TestBeamGoWordCountOnOurJobServer(t *testing.T) {
	ourJobServer(t)
	var lines []string
	for range 20 {
		lines = append(lines, strings.Split(hamlet, "\n")...)
	}
	want := wantWordCount(lines)
	res, err := runBeam(t, beamWordCount(lines, want))
	if err != nil {
		t.Fatalf("Beam word count on our job server: %v", err)
	}
	var got int64
	for _, c := range res.Metrics().AllMetrics().Counters() {
		if c.Key.Namespace == "interop" && c.Key.Name == "formatted" {
			got += c.Committed
		}
	}
	if got != int64(len(want)) {
		t.Errorf("counter interop/formatted = %d, want %d", got, len(want))
	}
	var dists int
	for _, d := range res.Metrics().AllMetrics().Distributions() {
		if d.Key.Namespace == "interop" && d.Key.Name == "length" {
			dists++
			if d.Committed.Count != int64(len(want)) {
				t.Errorf("distribution interop/length count = %d, want %d", d.Committed.Count, len(want))
			}
		}
	}
	if dists == 0 {
		t.Errorf("distribution interop/length missing from the job's metrics")
	}
}

// TestBeamGoWrongOutputFailsOnOurJobServer checks that a failing Beam job
// (passert with a wrong expectation) is reported as failed, with its error.
func TestBeamGoWrongOutputFailsOnOurJobServer(t *testing.T) {
	ourJobServer(t)
	lines := strings.Split(hamlet, "\n")
	want := wantWordCount(lines)
	want[0] = "not a word: 7"
	_, err := runBeam(t, beamWordCount(lines, want))
	if err == nil {
		t.Fatal("Beam word count with a wrong expectation succeeded; want the job to fail")
	}
	if !strings.Contains(err.Error(), "not a word: 7") {
		t.Errorf("error %q does not carry the failed assertion's text", err)
	}
}

func parseKV(s string) (string, int) {
	k, v, _ := strings.Cut(s, "=")
	n, _ := strconv.Atoi(v)
	return k, n
}

func parseKVString(s string) (string, string) {
	k, v, _ := strings.Cut(s, "=")
	return k, v
}

func sumGroup(k string, vs func(*int) bool) string {
	sum, v := 0, 0
	for vs(&v) {
		sum += v
	}
	return fmt.Sprintf("%s=%d", k, sum)
}

func joinGroups(k string, nums func(*int) bool, strs func(*string) bool) string {
	var ns []string
	var n int
	for nums(&n) {
		ns = append(ns, strconv.Itoa(n))
	}
	var ss []string
	var s string
	for strs(&s) {
		ss = append(ss, s)
	}
	sort.Strings(ns)
	sort.Strings(ss)
	return fmt.Sprintf("%s:[%s][%s]", k, strings.Join(ns, ","), strings.Join(ss, ","))
}

func addInts(a, b int) int { return a + b }

func shareOfTotal(x int, total int) string { return fmt.Sprintf("%d/%d", x, total) }

// lookupSide joins each key with its values in a multimap side input.
func lookupSide(k string, side func(string) func(*string) bool) string {
	var vs []string
	var v string
	it := side(k)
	for it(&v) {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	return k + "->" + strings.Join(vs, "|")
}

// TestBeamGoTransformsOnOurJobServer runs a Beam Go pipeline with
// GroupByKey, CoGroupByKey, Combine (global and per key), Flatten and
// singleton and multimap side inputs, each checked with passert.
func TestBeamGoTransformsOnOurJobServer(t *testing.T) {
	ourJobServer(t)
	p, s := beam.NewPipelineWithRoot()
	nums := beam.ParDo(s, parseKV, beam.Create(s, "a=1", "b=2", "a=3", "c=4", "b=5"))
	strs := beam.ParDo(s, parseKVString, beam.Create(s, "a=x", "c=y", "a=z", "d=w"))

	passert.Equals(s.Scope("GBK"), beam.ParDo(s, sumGroup, beam.GroupByKey(s, nums)), "a=4", "b=7", "c=4")
	passert.Equals(s.Scope("CoGBK"), beam.ParDo(s, joinGroups, beam.CoGroupByKey(s, nums, strs)),
		"a:[1,3][x,z]", "b:[2,5][]", "c:[4][y]", "d:[][w]")

	ints := beam.Create(s, 1, 2, 3, 4, 5)
	more := beam.Create(s, 10, 20)
	all := beam.Flatten(s, ints, more)
	passert.Equals(s.Scope("Flatten"), all, 1, 2, 3, 4, 5, 10, 20)
	total := beam.Combine(s, addInts, all)
	passert.Equals(s.Scope("Combine"), total, 45)
	passert.Equals(s.Scope("CombinePerKey"), beam.ParDo(s, formatCount, stats.SumPerKey(s, nums)), "a: 4", "b: 7", "c: 4")
	passert.Equals(s.Scope("SingletonSide"), beam.ParDo(s, shareOfTotal, ints, beam.SideInput{Input: total}),
		"1/45", "2/45", "3/45", "4/45", "5/45")
	passert.Equals(s.Scope("MultimapSide"), beam.ParDo(s, lookupSide, beam.Create(s, "a", "b", "d"), beam.SideInput{Input: strs}),
		"a->x|z", "b->", "d->w")

	if _, err := runBeam(t, p); err != nil {
		t.Fatalf("Beam transforms pipeline on our job server: %v", err)
	}
}

// hostilePipeline returns a pipeline proto (our word count, translated)
// with external environments, changed by mutate.
func hostilePipeline(t *testing.T, mutate func(*pipepb.Pipeline)) *pipepb.Pipeline {
	t.Helper()
	p, _ := wordCount(strings.Split(hamlet, "\n"))
	pb, err := translate.ToProto(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := proto.Marshal(&pipepb.ExternalPayload{Endpoint: &pipepb.ApiServiceDescriptor{Url: "127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range pb.GetComponents().GetEnvironments() {
		env.Urn, env.Payload = urns.EnvExternal, payload
	}
	mutate(pb)
	return pb
}

// someParDo returns a leaf ParDo of pb that has inputs.
func someParDo(pb *pipepb.Pipeline) *pipepb.PTransform {
	for _, tr := range pb.GetComponents().GetTransforms() {
		if len(tr.GetSubtransforms()) == 0 && tr.GetSpec().GetUrn() == urns.TransformParDo && len(tr.GetInputs()) > 0 {
			return tr
		}
	}
	return nil
}

// TestHostileRequestsThenBeamGoJobOnOurJobServer sends our job server an
// unknown URN, a dangling reference and a "../" artifact name, checks each
// gets a clear InvalidArgument error, then runs Beam Go's word count on
// the same server.
func TestHostileRequestsThenBeamGoJobOnOurJobServer(t *testing.T) {
	srv := ourJobServer(t)
	cc, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	jobs := jobpb.NewJobServiceClient(cc)
	ctx := runCtx(t)

	unknown := hostilePipeline(t, func(pb *pipepb.Pipeline) { someParDo(pb).Spec.Urn = "beam:transform:evil:v1" })
	if _, err := jobs.Prepare(ctx, &jobpb.PrepareJobRequest{Pipeline: unknown}); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "beam:transform:evil:v1") {
		t.Errorf("Prepare with an unknown URN = %v, want InvalidArgument naming the URN", err)
	}
	dangling := hostilePipeline(t, func(pb *pipepb.Pipeline) {
		tr := someParDo(pb)
		for k := range tr.Inputs {
			tr.Inputs[k] = "dangling-pcollection"
		}
	})
	if _, err := jobs.Prepare(ctx, &jobpb.PrepareJobRequest{Pipeline: dangling}); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "dangling-pcollection") {
		t.Errorf("Prepare with a dangling reference = %v, want InvalidArgument naming it", err)
	}

	role, err := proto.Marshal(&pipepb.ArtifactStagingToRolePayload{StagedName: "../../escape"})
	if err != nil {
		t.Fatal(err)
	}
	climbing := hostilePipeline(t, func(pb *pipepb.Pipeline) {
		for _, env := range pb.Components.Environments {
			env.Dependencies = []*pipepb.ArtifactInformation{{TypeUrn: "beam:artifact:type:file:v1", RoleUrn: "beam:artifact:role:staging_to:v1", RolePayload: role}}
		}
	})
	prep, err := jobs.Prepare(ctx, &jobpb.PrepareJobRequest{Pipeline: climbing})
	if err != nil {
		t.Fatalf("Prepare with an artifact: %v", err)
	}
	stream, err := jobpb.NewArtifactStagingServiceClient(cc).ReverseArtifactRetrievalService(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&jobpb.ArtifactResponseWrapper{StagingToken: prep.GetStagingSessionToken()}); err != nil {
		t.Fatal(err)
	}
	req, err := stream.Recv()
	if err != nil {
		t.Fatalf("staging: first request: %v", err)
	}
	if err := stream.Send(&jobpb.ArtifactResponseWrapper{Response: &jobpb.ArtifactResponseWrapper_ResolveArtifactResponse{
		ResolveArtifactResponse: &jobpb.ResolveArtifactsResponse{Replacements: req.GetResolveArtifact().GetArtifacts()},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "../../escape") {
		t.Errorf("staging an artifact named ../../escape = %v, want InvalidArgument naming it", err)
	}

	lines := strings.Split(hamlet, "\n")
	if _, err := runBeam(t, beamWordCount(lines, wantWordCount(lines))); err != nil {
		t.Fatalf("Beam word count after the hostile requests: %v", err)
	}
}
