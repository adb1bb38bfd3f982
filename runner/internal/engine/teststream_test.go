package engine

import (
	"bytes"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/coder"
	"github.com/beamgo-dev/beamgo/proto/urns"
)

// TestNestedFromOuter checks how TestStream elements, encoded in the outer
// context of their coder, become nested encodings of the stage's wire
// coder.
func TestNestedFromOuter(t *testing.T) {
	leaf := func(urn string) coder.Spec { return coder.Spec{URN: urn} }
	lp := func(c coder.Spec) coder.Spec {
		return coder.Spec{URN: urns.CoderLengthPrefix, Components: []coder.Spec{c}}
	}
	kv := func(k, v coder.Spec) coder.Spec { return coder.Spec{URN: urns.CoderKV, Components: []coder.Spec{k, v}} }
	tests := []struct {
		name  string
		spec  coder.Spec
		outer []byte
		want  []byte
	}{
		{"a string gains its length", leaf(urns.CoderStringUTF8), []byte("ab"), []byte("\x02ab")},
		{"a length prefix prefixes the bytes as they came", lp(leaf(urns.CoderStringUTF8)), []byte("\x02ab"), []byte("\x03\x02ab")},
		{"a varint is the same in both contexts", leaf(urns.CoderVarInt), []byte{42}, []byte{42}},
		{"a KV's value is the part in the outer context", kv(leaf(urns.CoderStringUTF8), leaf(urns.CoderBytes)), []byte("\x01kv"), []byte("\x01k\x01v")},
		{"Beam Go's custom coder already carries its length", lp(leaf(urns.CoderBeamGoCustom)), []byte{1, 42}, []byte{1, 42}},
		{"another SDK's unknown coder gains a length", lp(leaf("beam:python:pickled:v1")), []byte{42}, []byte{1, 42}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nestedFromOuter(tt.spec, tt.outer)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("nestedFromOuter(%q) = %q, want %q", tt.outer, got, tt.want)
			}
		})
	}
}
