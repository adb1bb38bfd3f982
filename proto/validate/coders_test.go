package validate_test

import (
	"fmt"
	"testing"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/proto/validate"
)

// prefixChain returns n length-prefix coders nested around "bytes", the
// outermost named lp0.
func prefixChain(n int) map[string]*pipepb.Coder {
	coders := map[string]*pipepb.Coder{"bytes": {Spec: &pipepb.FunctionSpec{Urn: urns.CoderBytes}}}
	for i := range n {
		inner := "bytes"
		if i < n-1 {
			inner = fmt.Sprintf("lp%d", i+1)
		}
		coders[fmt.Sprintf("lp%d", i)] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderLengthPrefix}, ComponentCoderIds: []string{inner}}
	}
	return coders
}

func TestCoders(t *testing.T) {
	cyclic := prefixChain(3)
	cyclic["lp2"].ComponentCoderIds = []string{"lp0"}
	tests := []struct {
		name   string
		coders map[string]*pipepb.Coder
		want   string
	}{
		{name: "coders nested up to the limit are accepted", coders: prefixChain(validate.MaxCoderDepth)},
		{name: "a coder one level deeper is refused", coders: prefixChain(validate.MaxCoderDepth + 1),
			want: fmt.Sprintf(`validate: coder "lp0": components nest deeper than %d levels`, validate.MaxCoderDepth)},
		{name: "a cycle of coders is refused", coders: cyclic,
			want: `validate: coders: components form a cycle through ["lp0" "lp1" "lp2"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validate.Coders(tt.coders)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Coders() = %q, want %q", got, tt.want)
			}
		})
	}
}
