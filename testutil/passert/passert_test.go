package passert_test

import (
	"slices"
	"strings"
	"testing"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/beamgo-dev/beamgo/proto/translate"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/testutil/passert"
)

// The assertions build into a valid pipeline, which translates into Beam
// protos: a side input read by a ParDo per assertion. (check_test.go runs
// the ParDo's DoFn over a side input the way an executor does.)
// runner/local's passert_test.go runs assertions end to end, passing and
// failing.
func TestAssertionsBuildAndTranslate(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	words := sdk.Create(s, []string{"a", "b", "b"})
	passert.Equals(s, words, "a", "b", "b")
	passert.EqualsList(s, words, []string{"b", "a", "b"})
	passert.EqualsInOrder(s, words, "a", "b", "b")
	passert.Count(s, words, 3)
	passert.NonEmpty(s, words)
	passert.Empty(s, sdk.Filter(s, func(w string) bool { return w == "z" }, words))
	passert.True(s, words, func(w string) bool { return w != "" })
	if err := p.Err(); err != nil {
		t.Fatalf("Err() = %v", err)
	}
	pb, err := translate.ToProto(p, nil)
	if err != nil {
		t.Fatalf("ToProto() = %v", err)
	}
	var checks []string
	for _, tr := range pb.GetComponents().GetTransforms() {
		if !strings.HasSuffix(tr.GetUniqueName(), "/Check") {
			continue
		}
		checks = append(checks, tr.GetUniqueName())
		var pd pipepb.ParDoPayload
		if err := unmarshalParDo(tr, &pd); err != nil {
			t.Fatal(err)
		}
		if len(pd.GetSideInputs()) != 1 {
			t.Errorf("%s has %d side inputs, want 1", tr.GetUniqueName(), len(pd.GetSideInputs()))
		}
	}
	want := []string{"passert.Count/Check", "passert.Empty/Check", "passert.EqualsInOrder/Check", "passert.Equals/Check",
		"passert.Equals_2/Check", "passert.NonEmpty/Check", "passert.True/Check"}
	if diff := cmp.Diff(want, checks, sortStrings); diff != "" {
		t.Errorf("check transforms (-want +got):\n%s", diff)
	}
}

type unexported struct{ n int }

func TestIncomparableTypesPanicAtTheCaller(t *testing.T) {
	defer func() {
		r := recover()
		msg, _ := r.(string)
		if !strings.Contains(msg, "passert_test.go:") || !strings.Contains(msg, "passert.Equals: records of type passert_test.unexported cannot be compared") {
			t.Errorf("panic %v, want one naming this file and the type", r)
		}
	}()
	s := sdk.NewPipeline().Root()
	passert.Equals(s, sdk.Create(s, []unexported{{1}}), unexported{1})
}

var sortStrings = cmp.Transformer("sort", func(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return out
})

func unmarshalParDo(tr *pipepb.PTransform, pd *pipepb.ParDoPayload) error {
	return proto.Unmarshal(tr.GetSpec().GetPayload(), pd)
}
