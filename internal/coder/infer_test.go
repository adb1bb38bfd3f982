package coder

import (
	"bytes"
	"slices"
	"testing"
)

func TestDeterministic(t *testing.T) {
	tests := []struct {
		name string
		c    Any
		want bool
	}{
		{"varint", Erase(Varint[int]()), true},
		{"string", Erase(String()), true},
		{"double is not, as in Beam", Erase(Double()), false},
		{"kv of deterministic components", Erase(NewKV(String(), Varint[int]())), true},
		{"kv with a double value", Erase(NewKV(String(), Double())), false},
		{"iterable of deterministic elements", Erase(NewIterable(Bytes())), true},
		{"iterable of doubles", Erase(NewIterable(Double())), false},
		{"windowed value", Erase(NewWindowedValue(String(), IntervalWindow())), true},
		{"map sorts its entries, so it can be", mustErase[map[string]int](t), true},
		{"map with float values", mustErase[map[string]float64](t), false},
		{"struct of deterministic fields", mustErase[address](t), true},
		{"struct with a float field", mustErase[customer](t), false},
		{"struct with a map field", mustErase[struct{ M map[string]string }](t), true},
		{"struct with a map of doubles", mustErase[struct{ M map[string]float64 }](t), false},
		{"custom coder that says so", mustErase[version](t), true},
		{"custom coder that does not say", mustErase[opaqueThing](t), false},
		{"nullable", mustErase[*int](t), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Deterministic(); got != tt.want {
				t.Errorf("%v.Deterministic() = %v, want %v", tt.c.Spec(), got, tt.want)
			}
		})
	}
}

type opaqueThing struct{ b []byte }

func (o opaqueThing) MarshalBeam(dst []byte) []byte { return append(dst, o.b...) }
func (o *opaqueThing) UnmarshalBeam(src []byte) error {
	o.b = slices.Clone(src)
	return nil
}

func TestOf(t *testing.T) {
	varint, str := Spec{URN: URNVarint}, Spec{URN: URNStringUTF8}
	tests := []struct {
		name string
		c    Any
		want Spec
	}{
		{"int", mustErase[int](t), varint},
		{"uint8", mustErase[uint8](t), varint},
		{"defined int32", mustErase[userID](t), varint},
		{"float32", mustErase[float32](t), Spec{URN: URNDouble}},
		{"string", mustErase[string](t), str},
		{"bytes", mustErase[[]byte](t), Spec{URN: URNBytes}},
		{"byte array", mustErase[[16]byte](t), Spec{URN: URNBytes}},
		{"bool", mustErase[bool](t), Spec{URN: URNBool}},
		{"kv", mustErase[KV[string, int]](t), Spec{URN: URNKV, Components: []Spec{str, varint}}},
		{"slice", mustErase[[]string](t), Spec{URN: URNIterable, Components: []Spec{str}}},
		{"defined slice", mustErase[words](t), Spec{URN: URNIterable, Components: []Spec{str}}},
		{"slice of slices", mustErase[[][]int16](t), Spec{URN: URNIterable, Components: []Spec{{URN: URNIterable, Components: []Spec{varint}}}}},
		{"pointer", mustErase[*string](t), Spec{URN: URNNullable, Components: []Spec{str}}},
		{"pointer to kv", mustErase[*KV[string, int]](t), Spec{URN: URNNullable, Components: []Spec{{URN: URNKV, Components: []Spec{str, varint}}}}},
		{"slice of kv pointers", mustErase[[]*KV[string, int]](t), Spec{URN: URNIterable, Components: []Spec{{URN: URNNullable, Components: []Spec{{URN: URNKV, Components: []Spec{str, varint}}}}}}},
		{"map", mustErase[map[string]int](t), Spec{URN: URNIterable, Components: []Spec{{URN: URNKV, Components: []Spec{str, varint}}}}},
		{"custom", mustErase[version](t), Spec{URN: URNCustom, Payload: []byte("github.com/beamgo-dev/beamgo/internal/coder.version")}},
		{"sharded key", mustErase[ShardedKey[int]](t), Spec{URN: URNShardedKey, Components: []Spec{varint}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Spec(); !got.Equal(tt.want) {
				t.Errorf("Of().Spec() = %v, want %v", got, tt.want)
			}
		})
	}
	if got := mustErase[customer](t).Spec(); got.URN != URNRow || len(got.Payload) == 0 {
		t.Errorf("Of[customer]().Spec() = %v, want a row with a schema", got)
	}
}

func TestOfErrors(t *testing.T) {
	tests := []struct {
		name string
		of   func() error
		want []string // substrings of the error
	}{
		{"channel", ofErr[chan int], []string{"chan int", "channels cannot be encoded"}},
		{"function", ofErr[func()], []string{"func()", "functions cannot be encoded"}},
		{"interface", ofErr[any], []string{"interface {}", "interface types have no coder"}},
		{"error interface", ofErr[error], []string{"error", "interface"}},
		{"complex", ofErr[complex128], []string{"complex128", "implement coder.Marshaler"}},
		{"struct with an unexported field", ofErr[struct{ a int }], []string{"field a is unexported"}},
		{"struct field of a bad type", ofErr[struct{ C chan int }], []string{"field C", "chan int", "channels"}},
		{"slice of functions", ofErr[[]func()], []string{"element", "functions"}},
		{"map with a bad value", ofErr[map[string]any], []string{"map value", "interface"}},
		{"kv with a bad key", ofErr[KV[chan int, int]], []string{"chan int"}},
		{"recursive struct", ofErr[node], []string{"recursive"}},
		{"row of pointers to pointers", ofErr[struct{ P **int }], []string{"pointers to pointers"}},
		{"duplicate field names", ofErr[struct {
			A int `beam:"x"`
			B int `beam:"x"`
		}], []string{`two fields are named "x"`}},
		{"time.Time has unexported fields", ofErr[struct{ T timeLike }], []string{"field T", "unexported"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.of()
			if err == nil {
				t.Fatalf("Of() succeeded, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !bytes.Contains([]byte(err.Error()), []byte(w)) {
					t.Errorf("Of() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

type node struct {
	Value int
	Next  *node
}

type timeLike struct{ wall, ext int64 }

func ofErr[T any]() error {
	_, err := Of[T]()
	return err
}

func TestSchemaIDIsStable(t *testing.T) {
	a, err := NewRow[customer]()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewRow[customer]()
	if err != nil {
		t.Fatal(err)
	}
	if !a.Spec().Equal(b.Spec()) {
		t.Errorf("two row coders of one type have different specs")
	}
	if a.Spec().Equal(mustOf[address](t).Spec()) {
		t.Errorf("row coders of different types have equal specs")
	}
	if _, err := NewRow[int](); err == nil {
		t.Errorf("NewRow[int]() succeeded")
	}
}
