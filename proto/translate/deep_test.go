package translate_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"beamgo/proto/translate"
	"beamgo/proto/urns"
)

func TestCoderSpecRefusesDeepAndExplodingCoders(t *testing.T) {
	coders := map[string]*pipepb.Coder{"bytes": {Spec: &pipepb.FunctionSpec{Urn: urns.CoderBytes}}}
	add := func(id, urn string, comps ...string) {
		coders[id] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urn}, ComponentCoderIds: comps}
	}
	// lp0 wraps bytes, lp1 wraps lp0, ...: a chain of 100,000.
	for i := range 100_000 {
		inner := "bytes"
		if i > 0 {
			inner = fmt.Sprintf("lp%d", i-1)
		}
		add(fmt.Sprintf("lp%d", i), urns.CoderLengthPrefix, inner)
	}
	// kv<i> is KV<kv<i-1>, kv<i-1>>: 2^61 coders as a tree.
	for i := range 60 {
		inner := "bytes"
		if i > 0 {
			inner = fmt.Sprintf("kv%d", i-1)
		}
		add(fmt.Sprintf("kv%d", i), urns.CoderKV, inner, inner)
	}
	add("self", urns.CoderIterable, "self")
	add("kv10", urns.CoderKV, "kv9", "kv9") // 2047 coders: fine.
	tests := []struct {
		name, id, want string
	}{
		{name: "a chain of 100,000 length prefixes is refused", id: "lp99999", want: `translate: coder "lp99882": components nest deeper than 116 levels (a cycle?)`},
		{name: "a coder whose tree has 2^61 nodes is refused", id: "kv59", want: `translate: coder "kv59": components expand to more than 20016 coders`},
		{name: "a coder containing itself is refused", id: "self", want: `translate: coder "self": components nest deeper than 116 levels (a cycle?)`},
		{name: "a coder of 2047 nodes is resolved", id: "kv10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := translate.CoderSpec(coders, tt.id)
			if d := time.Since(start); d > time.Second {
				t.Errorf("CoderSpec(%q) took %v, want it bounded well under 1s", tt.id, d)
			}
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("CoderSpec(%q) = %v, want %q", tt.id, err, tt.want)
			}
		})
	}
}

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
