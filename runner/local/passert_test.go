package local_test

import (
	"context"
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/testutil/passert"
)

func TestPassertOnLocalRunner(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	words := sdk.Create(s, []string{"a", "b", "a"})
	passert.Equals(s, words, "a", "a", "b")
	passert.Count(s, words, 3)
	if _, err := local.New(nil).Run(context.Background(), p); err != nil {
		t.Fatalf("passing assertions failed the run: %v", err)
	}

	p = sdk.NewPipeline()
	s = p.Root()
	words = sdk.Create(s, []string{"a", "b"})
	passert.Equals(s, words, "a", "c")
	_, err := local.New(nil).Run(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "c") || !strings.Contains(err.Error(), "b") {
		t.Fatalf("Run = %v, want a failed assertion naming missing \"c\" and unexpected \"b\"", err)
	}
}
