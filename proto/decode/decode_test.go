package decode_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/proto/decode"
	"github.com/beamgo-dev/beamgo/proto/urns"
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
		{name: "a chain of 100,000 length prefixes is refused", id: "lp99999", want: `decode: coder "lp99882": components nest deeper than 116 levels (a cycle?)`},
		{name: "a coder whose tree has 2^61 nodes is refused", id: "kv59", want: `decode: coder "kv59": components expand to more than 20016 coders`},
		{name: "a coder containing itself is refused", id: "self", want: `decode: coder "self": components nest deeper than 116 levels (a cycle?)`},
		{name: "a coder of 2047 nodes is resolved", id: "kv10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := decode.CoderSpec(coders, tt.id)
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

func TestWindowFn(t *testing.T) {
	spec := func(urn string, m proto.Message) *pipepb.FunctionSpec {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return &pipepb.FunctionSpec{Urn: urn, Payload: b}
	}
	offset := timestamppb.New(time.UnixMilli(5000))
	fixed := window.FixedFn(time.Minute)
	fixed.Offset = 5 * time.Second
	sliding := window.SlidingFn(time.Minute, 10*time.Second)
	sliding.Offset = 5 * time.Second
	tests := []struct {
		name    string
		spec    *pipepb.FunctionSpec
		want    window.Fn
		wantErr string
	}{
		{name: "global windows need no payload", spec: &pipepb.FunctionSpec{Urn: urns.WindowFnGlobal}, want: window.GlobalFn()},
		{name: "fixed windows keep size and offset", spec: spec(urns.WindowFnFixed, &pipepb.FixedWindowsPayload{Size: durationpb.New(time.Minute), Offset: offset}), want: fixed},
		{name: "sliding windows keep size, period and offset", spec: spec(urns.WindowFnSliding, &pipepb.SlidingWindowsPayload{Size: durationpb.New(time.Minute), Period: durationpb.New(10 * time.Second), Offset: offset}), want: sliding},
		{name: "session windows keep their gap", spec: spec(urns.WindowFnSession, &pipepb.SessionWindowsPayload{GapSize: durationpb.New(time.Hour)}), want: window.SessionsFn(time.Hour)},
		{name: "a garbled payload is an error", spec: &pipepb.FunctionSpec{Urn: urns.WindowFnFixed, Payload: []byte{0xff}}, wantErr: "decode: fixed windows payload"},
		{name: "an unknown window function is an error", spec: &pipepb.FunctionSpec{Urn: "beam:window_fn:custom:v1"}, wantErr: `decode: unsupported window function "beam:window_fn:custom:v1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decode.WindowFn(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("WindowFn() = %v, %v, want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("WindowFn() = %+v, %v, want %+v", got, err, tt.want)
			}
		})
	}
}

func TestFn(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    decode.FnPayload
		wantErr string
	}{
		{name: "a payload names the transform, type and config", payload: `{"transform":"Format","type":"main.format","config":"{}"}`, want: decode.FnPayload{Transform: "Format", Type: "main.format", Config: "{}"}},
		{name: "a payload without a transform is refused", payload: `{"type":"main.format"}`, wantErr: "decode: function payload names no transform"},
		{name: "a payload that is not JSON is refused", payload: `not json`, wantErr: "decode: function payload: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decode.Fn([]byte(tt.payload))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Fn(%q) = %v, %v, want an error containing %q", tt.payload, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Fn(%q) = %+v, %v, want %+v", tt.payload, got, err, tt.want)
			}
		})
	}
}
