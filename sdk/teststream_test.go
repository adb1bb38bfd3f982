package sdk_test

import (
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/internal/graph"
	"github.com/beamgo-dev/beamgo/internal/sdkaccess"
	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/window"
)

func TestTestStreamConstructionErrors(t *testing.T) {
	at := time.UnixMilli
	tests := []struct {
		name  string
		build func(s sdk.Scope)
		want  []string // substrings of the error
	}{
		{
			name: "the watermark moving backwards is refused",
			build: func(s sdk.Scope) {
				ts := sdk.NewTestStream[string](s)
				ts.AdvanceWatermarkTo(at(10_000))
				ts.AdvanceWatermarkTo(at(5_000))
			},
			want: []string{"TestStream", "cannot move backwards", "teststream_test.go:"},
		},
		{
			name: "each tag has its own watermark, which cannot move backwards",
			build: func(s sdk.Scope) {
				ts := sdk.NewTestStream[string](s)
				a, b := ts.Tag("a"), ts.Tag("b")
				a.AdvanceWatermarkTo(at(10_000))
				b.AdvanceWatermarkTo(at(5_000))
				b.AdvanceWatermarkTo(at(1_000))
			},
			want: []string{"cannot move backwards", "from 1970-01-01T00:00:05.000Z to 1970-01-01T00:00:01.000Z"},
		},
		{
			name: "elements after the watermark reached infinity are refused",
			build: func(s sdk.Scope) {
				ts := sdk.NewTestStream[string](s)
				ts.AdvanceWatermarkToInfinity()
				ts.AddElements("x")
			},
			want: []string{"AddElements after the watermark", "infinity"},
		},
		{
			name: "a processing time advance below 1ms is refused",
			build: func(s sdk.Scope) {
				sdk.NewTestStream[string](s).AdvanceProcessingTime(time.Microsecond)
			},
			want: []string{"at least 1ms"},
		},
		{
			name: "untagged and tagged outputs do not mix",
			build: func(s sdk.Scope) {
				ts := sdk.NewTestStream[string](s)
				ts.AddElements("x")
				ts.Tag("a")
			},
			want: []string{"either one untagged output or tagged ones"},
		},
		{
			name:  "a type without a coder is refused",
			build: func(s sdk.Scope) { sdk.NewTestStream[chan int](s).AddElements(nil) },
			want:  []string{"TestStream", "no coder"},
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
					t.Errorf("Err() = %v, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestTestStreamScript(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	ts := sdk.NewTestStream[int64](s, sdk.Name("Events"))
	ts.AddElements(1)
	ts.AdvanceWatermarkTo(time.UnixMilli(2000))
	ts.AdvanceWatermarkTo(time.UnixMilli(2000)) // standing still is allowed
	ts.AddElements(2, 3)
	ts.AddElementsAt(time.UnixMilli(500), 4)
	ts.AdvanceProcessingTime(time.Second)
	ts.AdvanceWatermarkToInfinity()
	out := ts.Output()
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	c := sdkaccess.Collection(out)
	if c.Bounded {
		t.Errorf("TestStream output is bounded, want unbounded")
	}
	if c.Producer.Name != "Events" || c.Producer.Kind != graph.KindTestStream {
		t.Errorf("producer = %s (kind %d), want Events (KindTestStream)", c.Producer.Name, c.Producer.Kind)
	}
	var got []string
	for _, e := range c.Producer.TestStream.Events {
		switch e.Kind {
		case graph.TestStreamElements:
			var ts []string
			for _, el := range e.Elements {
				ts = append(ts, el.Timestamp.String())
			}
			got = append(got, "elements@"+strings.Join(ts, ","))
		case graph.TestStreamWatermark:
			got = append(got, "watermark "+e.Watermark.String())
		case graph.TestStreamProcessingTime:
			got = append(got, "processing +"+(time.Duration(e.Advance)*time.Millisecond).String())
		}
	}
	want := []string{
		"elements@MinTime",
		"watermark 1970-01-01T00:00:02.000Z",
		"watermark 1970-01-01T00:00:02.000Z",
		"elements@1970-01-01T00:00:02.000Z,1970-01-01T00:00:02.000Z",
		"elements@1970-01-01T00:00:00.500Z",
		"processing +1s",
		"watermark MaxTime",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if w := window.MaxTime; c.Producer.TestStream.Events[6].Watermark != w {
		t.Errorf("infinity = %v, want %v", c.Producer.TestStream.Events[6].Watermark, w)
	}
}
