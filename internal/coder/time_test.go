package coder

import (
	"bytes"
	"testing"
	"time"

	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"
)

type event struct {
	At   time.Time
	Took time.Duration
	Seen *time.Time
}

func TestTimeRoundTrips(t *testing.T) {
	c, err := Of[time.Time]()
	if err != nil {
		t.Fatal(err)
	}
	if !c.Deterministic() {
		t.Error("time.Time's coder is not deterministic; times could not be grouping keys")
	}
	for _, tm := range []time.Time{
		{},
		time.Unix(0, 0).UTC(),
		time.Unix(1700000000, 123456789).UTC(),
		time.Unix(-1, 999999999).UTC(),
		time.Date(2026, 12, 3, 15, 4, 5, 6, time.FixedZone("CET", 3600)),
	} {
		got, n, err := c.Decode(c.Encode(nil, tm))
		if err != nil || !got.Equal(tm) || got.Location() != time.UTC || n != len(c.Encode(nil, tm)) {
			t.Errorf("Decode(Encode(%v)) = %v (%v), %d, %v; want the same instant in UTC", tm, got, got.Location(), n, err)
		}
	}
	if got, _, _ := c.Decode(c.Encode(nil, time.Time{})); got != (time.Time{}) {
		t.Errorf("the zero time decodes to %#v, want time.Time{}", got)
	}
}

// TestTimeIsNanosInstant checks the wire format against Beam's: a time is
// the representation row of nanos_instant (seconds, nanos), encoded as
// Java's RowCoder does; in a row it is a nanos_instant field, and a
// duration a nanos_duration field.
func TestTimeIsNanosInstant(t *testing.T) {
	c, _ := Of[time.Time]()
	// A row of 2 fields, no null bitmap, varint seconds, varint nanos.
	want := []byte{2, 0, 0x80, 0x08, 5}
	if got := c.Encode(nil, time.Unix(1024, 5)); !bytes.Equal(got, want) {
		t.Errorf("Encode(1024 s + 5 ns) = %x, want %x", got, want)
	}
	s := c.Spec()
	var schema pipepb.Schema
	if s.URN != URNRow || proto.Unmarshal(s.Payload, &schema) != nil || len(schema.Fields) != 2 ||
		schema.Fields[0].GetName() != "seconds" || schema.Fields[1].GetName() != "nanos" {
		t.Errorf("time.Time's spec is %v, want a row of seconds and nanos", s)
	}

	ec, err := Of[event]()
	if err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(ec.Spec().Payload, &schema); err != nil {
		t.Fatal(err)
	}
	for i, urn := range []string{LogicalTypeNanosInstant, LogicalTypeNanosDuration, LogicalTypeNanosInstant} {
		if got := schema.Fields[i].GetType().GetLogicalType().GetUrn(); got != urn {
			t.Errorf("field %s has logical type %q, want %q", schema.Fields[i].GetName(), got, urn)
		}
	}
	if !schema.Fields[2].GetType().GetNullable() {
		t.Error("a *time.Time field is not nullable")
	}
}

func TestTimeFieldsRoundTrip(t *testing.T) {
	ec, err := Of[event]()
	if err != nil {
		t.Fatal(err)
	}
	seen := time.Unix(5, 6).UTC()
	for _, ev := range []event{
		{},
		{At: time.Unix(1700000000, 1).UTC(), Took: 1500 * time.Millisecond, Seen: &seen},
		{At: time.Unix(-5, 3).UTC(), Took: -1500 * time.Millisecond},
	} {
		b := ec.Encode(nil, ev)
		got, _, err := ec.Decode(b)
		if err != nil || !got.At.Equal(ev.At) || got.Took != ev.Took || (got.Seen == nil) != (ev.Seen == nil) || got.Seen != nil && !got.Seen.Equal(*ev.Seen) {
			t.Errorf("Decode(Encode(%+v)) = %+v, %v", ev, got, err)
		}
		// A runner that knows only the schema reads the same fields.
		dyn, err := FromSpec(ec.Spec())
		if err != nil {
			t.Fatal(err)
		}
		row, _, err := dyn.DecodeAny(b)
		if err != nil {
			t.Fatalf("dynamic decode: %v", err)
		}
		if at := row.(Row).Values[0].(Row); at.Values[0] != ev.At.Unix() {
			t.Errorf("dynamic row's At = %v, want seconds %d", at, ev.At.Unix())
		}
	}
}

func TestDurationAloneIsVarintNanos(t *testing.T) {
	c, err := Of[time.Duration]()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Spec(); got.URN != URNVarint {
		t.Errorf("time.Duration's spec is %v, want a varint", got)
	}
	if got, _, err := c.Decode(c.Encode(nil, -3*time.Second)); err != nil || got != -3*time.Second {
		t.Errorf("Decode(Encode(-3s)) = %v, %v", got, err)
	}
}

func TestTimeRejectsNanosOutOfRange(t *testing.T) {
	c, _ := Of[time.Time]()
	// nanos = 1e9, varint 0x80 0x94 0xeb 0xdc 0x03.
	if _, _, err := c.Decode([]byte{2, 0, 1, 0x80, 0x94, 0xeb, 0xdc, 0x03}); err == nil {
		t.Error("Decode accepted 1e9 nanos")
	}
}
