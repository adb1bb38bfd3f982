package sdk_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/sdk"
)

type hookKey struct{}

func TestStartRun(t *testing.T) {
	errRun := errors.New("the run failed")
	for _, tt := range []struct {
		name    string
		runErr  error
		hookErr error
		// want is what StartRun's finish returns, as text; wantSame
		// says it must be runErr itself.
		want     string
		wantSame bool
	}{
		{name: "a successful run with quiet hooks stays successful", wantSame: true},
		{name: "a failed run's error is returned unchanged", runErr: errRun, wantSame: true},
		{name: "a hook's error follows the run's", runErr: errRun, hookErr: errors.New("cleanup failed"), want: "the run failed\ncleanup failed"},
		{name: "a hook's error fails a successful run", hookErr: errors.New("cleanup failed"), want: "cleanup failed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := sdk.NewPipeline()
			var calls []string
			for _, name := range []string{"first", "second"} {
				p.OnRun(func(ctx context.Context) (context.Context, sdk.RunEnd) {
					calls = append(calls, "begin "+name)
					return context.WithValue(ctx, hookKey{}, name), func(ctx context.Context, err error) error {
						calls = append(calls, "end "+name+" sees "+ctx.Value(hookKey{}).(string))
						if ctx.Err() != nil {
							t.Errorf("RunEnd of %s got a cancelled context", name)
						}
						if err != tt.runErr {
							t.Errorf("RunEnd of %s got %v, want %v", name, err, tt.runErr)
						}
						if name == "first" {
							return tt.hookErr
						}
						return nil
					}
				})
			}
			ctx, cancel := context.WithCancel(context.Background())
			runCtx, finish := p.StartRun(ctx)
			if got := runCtx.Value(hookKey{}); got != "second" {
				t.Errorf("the run's context has %v, want the second hook's value", got)
			}
			cancel() // a cancelled run still cleans up
			err := finish(tt.runErr)
			switch {
			case tt.wantSame && err != tt.runErr:
				t.Errorf("finish(%v) = %v, want it unchanged", tt.runErr, err)
			case !tt.wantSame && (err == nil || err.Error() != tt.want || tt.runErr != nil && !errors.Is(err, tt.runErr)):
				t.Errorf("finish(%v) = %v, want %q wrapping the run's error", tt.runErr, err, tt.want)
			}
			want := "begin first, begin second, end second sees second, end first sees second"
			if got := strings.Join(calls, ", "); got != want {
				t.Errorf("calls: %s\nwant: %s", got, want)
			}
		})
	}
}
