package portable_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/runner/portable"
	"github.com/beamgo-dev/beamgo/sdk"
)

func TestExternalWorkersNeedAReachablePool(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		want     []string
	}{
		{"a missing endpoint is an error", "", []string{"EXTERNAL", "ExternalEndpoint"}},
		{"an unreachable pool is an error naming it", "127.0.0.1:1", []string{"worker pool 127.0.0.1:1", "start worker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			p := sdk.NewPipeline()
			sdk.Create(p.Root(), []int{1})
			start := time.Now()
			_, err := portable.New(&portable.Options{EnvironmentType: portable.EnvExternal, ExternalEndpoint: tt.endpoint}).Run(ctx, p)
			if err == nil {
				t.Fatalf("Run with EXTERNAL workers at %q succeeded, want an error", tt.endpoint)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Run with EXTERNAL workers at %q = %v, want an error containing %q", tt.endpoint, err, want)
				}
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("Run took %v to fail, want it to fail at once", d)
			}
		})
	}
}
