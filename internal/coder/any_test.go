package coder

import (
	"errors"
	"testing"
)

func TestAsRecoversTypedCoder(t *testing.T) {
	c := NewKV(String(), Varint[int]())
	a := Erase(c)
	got, ok := As[KV[string, int]](a)
	if !ok || got != c {
		t.Errorf("As(Erase(c)) = %v, %v, want c", got, ok)
	}
	if _, ok := As[string](a); ok {
		t.Errorf("As[string] of a kv coder succeeded")
	}
	if a.GoType().String() != "coder.KV[string,int]" {
		t.Errorf("GoType() = %v", a.GoType())
	}
}

func TestEncodeAnyRejectsWrongTypes(t *testing.T) {
	row, err := FromSpec(mustOf[address](t).Spec())
	if err != nil {
		t.Fatal(err)
	}
	kv, err := FromSpec(Spec{URN: URNKV, Components: []Spec{{URN: URNStringUTF8}, {URN: URNVarint}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		c    Any
		v    any
	}{
		{"typed coder given another type", Erase(String()), 3},
		{"typed coder given nil", Erase(Varint[int]()), nil},
		{"dynamic kv with a wrong key type", kv, KV[any, any]{Key: 1, Value: int64(2)}},
		{"dynamic kv given a typed kv", kv, KV[string, int64]{"a", 2}},
		{"row with too few values", row, Row{Values: []any{"a"}}},
		{"row with a wrong value type", row, Row{Values: []any{"a", 3}}},
		{"row with null in a non-nullable field", row, Row{Values: []any{"a", nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if out, err := tt.c.EncodeAny(nil, tt.v); err == nil {
				t.Errorf("EncodeAny(%v) = %x, want an error", tt.v, out)
			}
			if out, err := tt.c.EncodeOuterAny(nil, tt.v); err == nil {
				t.Errorf("EncodeOuterAny(%v) = %x, want an error", tt.v, out)
			}
		})
	}
}

func TestFromSpecErrors(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		unknown bool
	}{
		{"unknown URN", Spec{URN: "beam:coder:nope:v1"}, true},
		{"unknown window coder", Spec{URN: URNWindowedValue, Components: []Spec{{URN: URNBytes}, {URN: URNCustomWindow}}}, true},
		{"kv with one component", Spec{URN: URNKV, Components: []Spec{{URN: URNBytes}}}, false},
		{"bytes with a component", Spec{URN: URNBytes, Components: []Spec{{URN: URNBytes}}}, false},
		{"row with a bad schema", Spec{URN: URNRow, Payload: []byte{0xff, 0xff}}, false},
		{"param windowed value with a short payload", Spec{URN: URNParamWindowedValue, Payload: []byte{1, 2}, Components: []Spec{{URN: URNBytes}, {URN: URNGlobalWindow}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromSpec(tt.spec)
			if err == nil {
				t.Fatalf("FromSpec(%v) = %v, want an error", tt.spec, c)
			}
			if got := errors.Is(err, ErrUnknownCoder); got != tt.unknown {
				t.Errorf("FromSpec(%v) = %v; errors.Is(err, ErrUnknownCoder) = %v, want %v", tt.spec, err, got, tt.unknown)
			}
		})
	}
}

func TestFromSpecOpaqueValues(t *testing.T) {
	// A custom coder's values, and those of unknown coders inside a length
	// prefix, reach runners as raw bytes.
	v := version{1, 2}
	enc := mustOf[version](t).Encode(nil, v)
	c, err := FromSpec(Spec{URN: URNCustom, Payload: []byte("x.version")})
	if err != nil {
		t.Fatal(err)
	}
	got, n, err := c.DecodeAny(enc)
	if err != nil || n != len(enc) || string(got.([]byte)) != "1.2" {
		t.Errorf("DecodeAny(%x) = %q, %d, %v, want 1.2", enc, got, n, err)
	}
	lp, err := FromSpec(Spec{URN: URNLengthPrefix, Components: []Spec{{URN: "urn:other:sdk:coder"}}})
	if err != nil {
		t.Fatal(err)
	}
	got, n, err = lp.DecodeAny([]byte{3, 'a', 'b', 'c', 9})
	if err != nil || n != 4 || string(got.([]byte)) != "abc" {
		t.Errorf("DecodeAny = %q, %d, %v, want abc", got, n, err)
	}
	if s := lp.Spec(); s.Components[0].URN != "urn:other:sdk:coder" {
		t.Errorf("Spec() = %v, want the original spec", s)
	}
}

func TestSpecString(t *testing.T) {
	s := NewWindowedValue(NewKV(String(), NewIterable(Varint[int]())), GlobalWindow()).Spec()
	want := "beam:coder:windowed_value:v1(beam:coder:kv:v1(beam:coder:string_utf8:v1, beam:coder:iterable:v1(beam:coder:varint:v1)), beam:coder:global_window:v1)"
	if got := s.String(); got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}
