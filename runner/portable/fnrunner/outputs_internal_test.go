package fnrunner

import (
	"strings"
	"testing"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/google/go-cmp/cmp"

	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/internal/engine"
)

// globalValue encodes s as a string in the global window, no pane info
// beyond the default: timestamp, one window, pane, value.
func globalValue(s string) []byte {
	return cat([]byte{0x7f, 0xdf, 0x3b, 0x64, 0x5a, 0x1c, 0xac, 0x09}, []byte{0, 0, 0, 1}, []byte{0x0f}, str(s))
}

func TestOutputStreamsReassembleElementsSplitAcrossChunks(t *testing.T) {
	coders := map[string]*pipepb.Coder{
		"s":  {Spec: &pipepb.FunctionSpec{Urn: urns.CoderStringUTF8}},
		"gw": {Spec: &pipepb.FunctionSpec{Urn: urns.CoderGlobalWindow}},
		"wv": {Spec: &pipepb.FunctionSpec{Urn: urns.CoderWindowedValue}, ComponentCoderIds: []string{"s", "gw"}},
	}
	split, err := engine.PrefixSplitter(coders, "wv")
	if err != nil {
		t.Fatal(err)
	}
	words := []string{"alpha", "beta", strings.Repeat("g", 100), "delta"}
	var stream []byte
	for _, w := range words {
		stream = append(stream, globalValue(w)...)
	}
	for _, size := range []int{1, 3, 7, 20, len(stream)} {
		var got [][]byte
		r := &remote{splits: map[string]func([]byte) ([][]byte, []byte, error){"sink": split}}
		o := r.streamOutputs(engine.Bundle{Output: func(string) func([]byte) error {
			return func(e []byte) error {
				got = append(got, append([]byte(nil), e...))
				return nil
			}
		}})
		for i := 0; i < len(stream); i += size {
			// Each chunk is a new slice, as a worker's message is.
			chunk := append([]byte(nil), stream[i:min(i+size, len(stream))]...)
			if err := o.receive("sink", chunk); err != nil {
				t.Fatalf("chunks of %d: receive: %v", size, err)
			}
		}
		if err := o.end(); err != nil {
			t.Errorf("chunks of %d: end: %v", size, err)
		}
		var want [][]byte
		for _, w := range words {
			want = append(want, globalValue(w))
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("chunks of %d: elements (-want +got):\n%s", size, d)
		}
	}
	o := (&remote{splits: map[string]func([]byte) ([][]byte, []byte, error){"sink": split}}).streamOutputs(engine.Bundle{Output: func(string) func([]byte) error {
		return func([]byte) error { return nil }
	}})
	if err := o.receive("sink", stream[:len(stream)-2]); err != nil {
		t.Fatal(err)
	}
	if err := o.end(); err == nil {
		t.Error("end after an output that stops inside an element succeeded")
	}
}
