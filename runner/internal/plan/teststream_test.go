package plan_test

import (
	"strings"
	"testing"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/beamgo-dev/beamgo/proto/urns"
	"github.com/beamgo-dev/beamgo/runner/internal/plan"
)

// testStream adds a TestStream with one unbounded output per tag and the
// events, and returns the outputs by tag.
func (b *builder) testStream(name string, tags []string, events ...*pipepb.TestStreamPayload_Event) map[string]string {
	outs := map[string]string{}
	var ids []string
	for _, tag := range tags {
		pc := b.pcoll("kv", "global")
		b.comps().Pcollections[pc].IsBounded = pipepb.IsBounded_UNBOUNDED
		outs[tag] = pc
		ids = append(ids, pc)
	}
	payload := b.marshal(&pipepb.TestStreamPayload{CoderId: "kv", Events: events})
	id := b.add(name, &pipepb.FunctionSpec{Urn: urns.TransformTestStream, Payload: payload}, nil, ids, "")
	t := b.comps().Transforms[id]
	t.Outputs = map[string]string{}
	for tag, pc := range outs {
		t.Outputs[tag] = pc
	}
	return outs
}

func elementsEvent(tag string, ts ...int64) *pipepb.TestStreamPayload_Event {
	ev := &pipepb.TestStreamPayload_Event_AddElements{Tag: tag}
	for _, t := range ts {
		ev.Elements = append(ev.Elements, &pipepb.TestStreamPayload_TimestampedElement{EncodedElement: []byte{1, 'a', 1}, Timestamp: t})
	}
	return &pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_ElementEvent{ElementEvent: ev}}
}

func watermarkEvent(tag string, wm int64) *pipepb.TestStreamPayload_Event {
	return &pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_WatermarkEvent{
		WatermarkEvent: &pipepb.TestStreamPayload_Event_AdvanceWatermark{Tag: tag, NewWatermark: wm}}}
}

func processingEvent(d int64) *pipepb.TestStreamPayload_Event {
	return &pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_ProcessingTimeEvent{
		ProcessingTimeEvent: &pipepb.TestStreamPayload_Event_AdvanceProcessingTime{AdvanceDuration: d}}}
}

func TestTestStreamStages(t *testing.T) {
	b := newBuilder(t)
	outs := b.testStream("Events", []string{"a", "b"}, elementsEvent("a", 1000), watermarkEvent("b", 5000), processingEvent(10), watermarkEvent("a", 20000))
	all := b.flatten("Flatten", outs["a"], outs["b"])
	b.comps().Pcollections[all].IsBounded = pipepb.IsBounded_UNBOUNDED
	b.sink("Write", b.do("Sum", b.gbk("GroupByKey", all), "kv"))
	pl, err := plan.Build(b.p, nil)
	if err != nil {
		t.Fatal(err)
	}
	var streams []*plan.Stage
	for _, s := range pl.Stages {
		if s.Input.Kind == plan.InputTestStream {
			streams = append(streams, s)
		}
	}
	if len(streams) != 2 {
		t.Fatalf("plan has %d TestStream stages, want 2:\n%s", len(streams), pl)
	}
	ts := streams[0].Input.TestStream
	if ts == nil || streams[1].Input.TestStream != ts {
		t.Fatalf("the stages of one TestStream do not share its script")
	}
	if got := []string{streams[0].Input.Target, streams[1].Input.Target}; got[0] != outs["a"] || got[1] != outs["b"] {
		t.Errorf("TestStream stage targets = %v, want [%s %s]", got, outs["a"], outs["b"])
	}
	want := []plan.TestStreamEvent{
		{Kind: plan.AddElements, PCollection: outs["a"], Elements: []plan.TimestampedElement{{Encoded: []byte{1, 'a', 1}, Timestamp: 1000}}},
		{Kind: plan.AdvanceWatermark, PCollection: outs["b"], Watermark: 5000},
		{Kind: plan.AdvanceProcessingTime, Advance: 10},
		{Kind: plan.AdvanceWatermark, PCollection: outs["a"], Watermark: 20000},
	}
	if len(ts.Events) != len(want) {
		t.Fatalf("events = %+v, want %+v", ts.Events, want)
	}
	for i := range want {
		if g, w := ts.Events[i], want[i]; g.Kind != w.Kind || g.PCollection != w.PCollection || g.Watermark != w.Watermark || g.Advance != w.Advance || len(g.Elements) != len(w.Elements) {
			t.Errorf("event %d = %+v, want %+v", i, g, w)
		}
	}
	for _, s := range pl.Stages {
		if s.Input.Kind == plan.InputGrouped && !s.Input.Unbounded {
			t.Errorf("grouped stage %s reads unbounded input but is not marked Unbounded", s.ID)
		}
	}
}

func TestTestStreamErrors(t *testing.T) {
	tests := []struct {
		name   string
		events []*pipepb.TestStreamPayload_Event
		want   string
	}{
		{"a watermark going backwards is refused", []*pipepb.TestStreamPayload_Event{watermarkEvent("a", 10000), watermarkEvent("a", 5000)}, "moves backwards"},
		{"an event for an unknown tag is refused", []*pipepb.TestStreamPayload_Event{elementsEvent("zz", 1)}, "names none of the outputs"},
		{"a processing time step back is refused", []*pipepb.TestStreamPayload_Event{processingEvent(-1)}, "processing time moves backwards"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBuilder(t)
			outs := b.testStream("Script", []string{"a"}, tt.events...)
			b.sink("Write", outs["a"])
			_, err := plan.Build(b.p, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "Script") {
				t.Errorf("Build = %v, want an error naming the transform Script and containing %q", err, tt.want)
			}
		})
	}
}

// coderShape describes coder id of comps as urn(components...), with the
// beam:coder: prefix and :v1 suffix dropped.
func coderShape(comps *pipepb.Components, id string) string {
	c := comps.GetCoders()[id]
	if c == nil {
		return "missing " + id
	}
	var parts []string
	for _, cc := range c.GetComponentCoderIds() {
		parts = append(parts, coderShape(comps, cc))
	}
	name := strings.TrimPrefix(strings.TrimSuffix(c.GetSpec().GetUrn(), ":v1"), "beam:coder:")
	if len(parts) == 0 {
		return name
	}
	return name + "(" + strings.Join(parts, ",") + ")"
}

// TestTestStreamOutputCoders checks that the planner length-prefixes the
// parts of a TestStream's output coder whose encoding depends on the
// context (Beam Go sends them nested, Java and Python outer), and nothing
// else.
func TestTestStreamOutputCoders(t *testing.T) {
	tests := []struct {
		coder string
		want  string
	}{
		{"string", "length_prefix(string_utf8)"},
		{"bytes", "length_prefix(bytes)"},
		{"kv", "kv(string_utf8,varint)"},
		{"varint", "varint"},
		{"lpcustom", "length_prefix(beamgo:coder:custom)"},
		{"kv_string", "kv(varint,length_prefix(string_utf8))"},
		{"kv_kv_bytes", "kv(string_utf8,kv(varint,length_prefix(bytes)))"},
	}
	for _, tt := range tests {
		t.Run(tt.coder, func(t *testing.T) {
			b := newBuilder(t)
			b.comps().Coders["kv_string"] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderKV}, ComponentCoderIds: []string{"varint", "string"}}
			b.comps().Coders["kv_varint_bytes"] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderKV}, ComponentCoderIds: []string{"varint", "bytes"}}
			b.comps().Coders["kv_kv_bytes"] = &pipepb.Coder{Spec: &pipepb.FunctionSpec{Urn: urns.CoderKV}, ComponentCoderIds: []string{"string", "kv_varint_bytes"}}
			outs := b.testStream("Events", []string{"a"}, elementsEvent("a", 1000))
			b.comps().Pcollections[outs["a"]].CoderId = tt.coder
			b.sink("Read", outs["a"])
			pl, err := plan.Build(b.p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := coderShape(pl.Components, pl.Components.GetPcollections()[outs["a"]].GetCoderId()); got != tt.want {
				t.Errorf("TestStream output coder = %s, want %s", got, tt.want)
			}
			if got, want := coderShape(pl.Components, tt.coder), coderShape(b.comps(), tt.coder); got != want {
				t.Errorf("coder %s became %s, want it unchanged (%s): other PCollections use it", tt.coder, got, want)
			}
		})
	}
}
