package portable_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/sdk"
)

// failingPipeline fails on the element "b" in the transform "Sink".
func failingPipeline() *sdk.Pipeline {
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.ForEachFunc(s, func(_ context.Context, v string) error {
		if v == "b" {
			return errors.New("bad element")
		}
		return nil
	}, sdk.Create(s, []string{"a", "b", "c"}), sdk.Name("Sink"))
	return p
}

// TestErrorsSayPortableOnce checks that the errors of a failed bundle and
// of a worker that cannot start carry the runner's prefix once: the
// engine and the runner each add their context, and nothing below repeats
// it.
func TestErrorsSayPortableOnce(t *testing.T) {
	tests := []struct {
		name string
		opts *portable.Options
		want []string
	}{
		{name: "a DoFn error fails the job", opts: &portable.Options{Job: portable.Job{MaxAttempts: 1}},
			want: []string{`transform "Sink" on element "b": bad element`}},
		{name: "a worker that cannot start fails the job", opts: &portable.Options{
			EnvironmentType: portable.EnvProcess, Process: &portable.ProcessOptions{Command: "./no-such-worker"}},
			want: []string{"start worker", "no-such-worker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := portable.New(tt.opts).Run(context.Background(), failingPipeline())
			if err == nil {
				t.Fatal("Run() succeeded, want an error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "portable: ") || strings.Count(msg, "portable:") != 1 {
				t.Errorf("Run() = %q, want one \"portable: \" prefix", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Run() = %q, want it to say %q", msg, w)
				}
			}
		})
	}
}
