package fnrunner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	fnpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/fnexecution_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
)

// fixedSide serves the same encoded elements for every side input.
type fixedSide []byte

func (f fixedSide) SideInput(context.Context, string, string, window.Window) ([]byte, error) {
	return f, nil
}

// str encodes s with the string_utf8 coder (varint length, bytes).
func str(s string) []byte { return append([]byte{byte(len(s))}, s...) }

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestSidesReadStateMultimap(t *testing.T) {
	desc := &fnpb.ProcessBundleDescriptor{Coders: map[string]*pipepb.Coder{
		"s":  {Spec: &pipepb.FunctionSpec{Urn: urns.CoderStringUTF8}},
		"kv": {Spec: &pipepb.FunctionSpec{Urn: urns.CoderKV}, ComponentCoderIds: []string{"s", "s"}},
		"gw": {Spec: &pipepb.FunctionSpec{Urn: urns.CoderGlobalWindow}},
	}}
	wiring := &plan.Wiring{SideInputs: []plan.SideInputPort{{
		SideInput: plan.SideInput{Transform: "t", Local: "side", AccessPattern: urns.SideInputMultimap},
		Coder:     "kv", WindowCoder: "gw",
	}}}
	// a->x, b->y, a->z.
	data := fixedSide(cat(str("a"), str("x"), str("b"), str("y"), str("a"), str("z")))
	s := &sides{data: data, desc: desc, wiring: wiring}
	multimap := func(key string) *fnpb.StateKey {
		return &fnpb.StateKey{Type: &fnpb.StateKey_MultimapSideInput_{MultimapSideInput: &fnpb.StateKey_MultimapSideInput{
			TransformId: "t", SideInputId: "side", Key: str(key),
		}}}
	}
	tests := []struct {
		name string
		key  *fnpb.StateKey
		want []byte
	}{
		{"The values of a key repeated in the input are all returned.", multimap("a"), cat(str("x"), str("z"))},
		{"The value of a key present once is returned.", multimap("b"), str("y")},
		{"A missing key has no values.", multimap("c"), nil},
		{"The keys request returns each key once, in input order.",
			&fnpb.StateKey{Type: &fnpb.StateKey_MultimapKeysSideInput_{MultimapKeysSideInput: &fnpb.StateKey_MultimapKeysSideInput{
				TransformId: "t", SideInputId: "side",
			}}}, cat(str("a"), str("b"))},
		{"The iterable request returns every element.",
			&fnpb.StateKey{Type: &fnpb.StateKey_IterableSideInput_{IterableSideInput: &fnpb.StateKey_IterableSideInput{
				TransformId: "t", SideInputId: "side",
			}}}, []byte(data)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ReadState(tt.key)
			if err != nil {
				t.Fatalf("ReadState(%v): %v", tt.key, err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("ReadState(%v) (-want +got):\n%s", tt.key, d)
			}
		})
	}
	if _, err := s.ReadState(&fnpb.StateKey{Type: &fnpb.StateKey_MultimapSideInput_{MultimapSideInput: &fnpb.StateKey_MultimapSideInput{
		TransformId: "t", SideInputId: "other", Key: str("a"),
	}}}); err == nil {
		t.Errorf("ReadState of an unknown side input succeeded; want an error")
	}
}

// openedSide serves side inputs only through engine.SideInputOpener; its
// SideInput fails, so a test sees whether the contents were read whole.
type openedSide []byte

func (openedSide) SideInput(context.Context, string, string, window.Window) ([]byte, error) {
	return nil, errors.New("read whole")
}

func (o openedSide) OpenSideInput(context.Context, string, string, window.Window) (*io.SectionReader, error) {
	return io.NewSectionReader(bytes.NewReader(o), 0, int64(len(o))), nil
}

func TestSidesOpenStateReadsIterablesInPieces(t *testing.T) {
	desc := &fnpb.ProcessBundleDescriptor{Coders: map[string]*pipepb.Coder{
		"s":  {Spec: &pipepb.FunctionSpec{Urn: urns.CoderStringUTF8}},
		"gw": {Spec: &pipepb.FunctionSpec{Urn: urns.CoderGlobalWindow}},
	}}
	wiring := &plan.Wiring{SideInputs: []plan.SideInputPort{{
		SideInput: plan.SideInput{Transform: "t", Local: "side", AccessPattern: urns.SideInputIterable},
		Coder:     "s", WindowCoder: "gw",
	}}}
	data := openedSide(cat(str("a"), str("bc"), str("def")))
	s := &sides{data: data, desc: desc, wiring: wiring}
	key := &fnpb.StateKey{Type: &fnpb.StateKey_IterableSideInput_{IterableSideInput: &fnpb.StateKey_IterableSideInput{
		TransformId: "t", SideInputId: "side",
	}}}
	r, err := s.OpenState(key)
	if err != nil {
		t.Fatalf("OpenState(iterable): %v", err)
	}
	got := make([]byte, r.Size())
	if _, err := r.ReadAt(got, 0); err != nil {
		t.Fatalf("ReadAt: %v", err)
	}
	if d := cmp.Diff([]byte(data), got); d != "" {
		t.Errorf("OpenState(iterable) contents (-want +got):\n%s", d)
	}
	if _, err := s.ReadState(key); err != nil {
		t.Errorf("ReadState(iterable) = %v, want the opened contents", err)
	}
}

func TestSidesMultimapReadsPastChunkBoundaries(t *testing.T) {
	desc := &fnpb.ProcessBundleDescriptor{Coders: map[string]*pipepb.Coder{
		"s":  {Spec: &pipepb.FunctionSpec{Urn: urns.CoderStringUTF8}},
		"kv": {Spec: &pipepb.FunctionSpec{Urn: urns.CoderKV}, ComponentCoderIds: []string{"s", "s"}},
		"gw": {Spec: &pipepb.FunctionSpec{Urn: urns.CoderGlobalWindow}},
	}}
	wiring := &plan.Wiring{SideInputs: []plan.SideInputPort{{
		SideInput: plan.SideInput{Transform: "t", Local: "side", AccessPattern: urns.SideInputMultimap},
		Coder:     "kv", WindowCoder: "gw",
	}}}
	// Several chunks of elements of odd sizes, so that chunks cut keys
	// and values; key "k3" recurs.
	var data, wantValues, wantKeys []byte
	seen := map[string]bool{}
	for i := 0; len(data) < 3*multimapChunk+1000; i++ {
		k, v := fmt.Sprintf("k%d", i%7), fmt.Sprintf("v%d-%s", i, strings.Repeat("x", i%90))
		data = append(data, cat(str(k), str(v))...)
		if k == "k3" {
			wantValues = append(wantValues, str(v)...)
		}
		if !seen[k] {
			seen[k] = true
			wantKeys = append(wantKeys, str(k)...)
		}
	}
	s := &sides{data: openedSide(data), desc: desc, wiring: wiring}
	got, err := s.ReadState(&fnpb.StateKey{Type: &fnpb.StateKey_MultimapSideInput_{MultimapSideInput: &fnpb.StateKey_MultimapSideInput{
		TransformId: "t", SideInputId: "side", Key: str("k3")}}})
	if err != nil {
		t.Fatalf("ReadState(multimap k3): %v", err)
	}
	if !bytes.Equal(got, wantValues) {
		t.Errorf("ReadState(multimap k3) = %d bytes, want %d", len(got), len(wantValues))
	}
	got, err = s.ReadState(&fnpb.StateKey{Type: &fnpb.StateKey_MultimapKeysSideInput_{MultimapKeysSideInput: &fnpb.StateKey_MultimapKeysSideInput{
		TransformId: "t", SideInputId: "side"}}})
	if err != nil {
		t.Fatalf("ReadState(multimap keys): %v", err)
	}
	if d := cmp.Diff(wantKeys, got); d != "" {
		t.Errorf("ReadState(multimap keys) (-want +got):\n%s", d)
	}
	// Contents that end inside an element are an error, not a short answer.
	s.data = openedSide(data[:len(data)-1])
	if _, err := s.ReadState(&fnpb.StateKey{Type: &fnpb.StateKey_MultimapKeysSideInput_{MultimapKeysSideInput: &fnpb.StateKey_MultimapKeysSideInput{
		TransformId: "t", SideInputId: "side"}}}); err == nil {
		t.Errorf("ReadState of truncated contents succeeded; want an error")
	}
}
