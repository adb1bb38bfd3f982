package sdk_test

import (
	"context"
	"strings"
	"testing"

	"github.com/beamgo-dev/beamgo/sdk"
)

type valueOnInts struct{ Last sdk.ValueState[int] }

func (f *valueOnInts) ProcessElement(ctx context.Context, v int, emit func(int)) error { return nil }

type valueByValue struct{ Last sdk.ValueState[int] }

func (f valueByValue) ProcessElement(ctx context.Context, kv sdk.KV[string, int], emit func(int)) error {
	return nil
}

type timerNoCallback struct{ T sdk.EventTimeTimer }

func (f *timerNoCallback) ProcessElement(ctx context.Context, kv sdk.KV[string, int], emit func(int)) error {
	return nil
}

type combiningNoFn struct {
	Sum sdk.CombiningState[int, int, int]
}

func (f *combiningNoFn) ProcessElement(ctx context.Context, kv sdk.KV[string, int], emit func(int)) error {
	return nil
}

type hiddenState struct{ last sdk.ValueState[int] }

func (f *hiddenState) ProcessElement(ctx context.Context, kv sdk.KV[string, int], emit func(int)) error {
	return nil
}

type floatKeyState struct{ Last sdk.ValueState[int] }

func (f *floatKeyState) ProcessElement(ctx context.Context, kv sdk.KV[float64, int], emit func(int)) error {
	return nil
}

func TestStatefulConstructionErrors(t *testing.T) {
	kvs := func(s sdk.Scope) sdk.PCollection[sdk.KV[string, int]] {
		return sdk.Create(s, []sdk.KV[string, int]{sdk.Pair("a", 1)})
	}
	tests := []struct {
		name  string
		build func(s sdk.Scope)
		want  []string
	}{
		{
			name:  "state over input that is not a KV is refused",
			build: func(s sdk.Scope) { sdk.ParDo(s, sdk.DoFn[int, int](&valueOnInts{}), sdk.Create(s, []int{1})) },
			want:  []string{"valueOnInts", "needs KV input"},
		},
		{
			name:  "a DoFn with state passed by value is refused",
			build: func(s sdk.Scope) { sdk.ParDo(s, sdk.DoFn[sdk.KV[string, int], int](valueByValue{}), kvs(s)) },
			want:  []string{"pass a pointer"},
		},
		{
			name:  "timers without OnTimer are refused",
			build: func(s sdk.Scope) { sdk.ParDo(s, sdk.DoFn[sdk.KV[string, int], int](&timerNoCallback{}), kvs(s)) },
			want:  []string{"declares timers but has no method OnTimer"},
		},
		{
			name:  "combining state without a CombineFn is refused",
			build: func(s sdk.Scope) { sdk.ParDo(s, sdk.DoFn[sdk.KV[string, int], int](&combiningNoFn{}), kvs(s)) },
			want:  []string{`combining state "Sum" has no CombineFn`},
		},
		{
			name:  "unexported state fields are refused",
			build: func(s sdk.Scope) { sdk.ParDo(s, sdk.DoFn[sdk.KV[string, int], int](&hiddenState{}), kvs(s)) },
			want:  []string{"field last", "export it"},
		},
		{
			name: "state keyed by a non-deterministic coder is refused",
			build: func(s sdk.Scope) {
				sdk.ParDo(s, sdk.DoFn[sdk.KV[float64, int], int](&floatKeyState{}), sdk.Create(s, []sdk.KV[float64, int]{sdk.Pair(1.5, 1)}))
			},
			want: []string{"deterministic key coder"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sdk.NewPipeline()
			tt.build(p.Root())
			err := p.Err()
			if err == nil {
				t.Fatalf("Err() = nil, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Err() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}
