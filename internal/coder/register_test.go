package coder

import (
	"strings"
	"testing"
)

// sealed stands for a type of another package: its field is unexported
// and it has no Marshaler, so only a registered coder can encode it.
type sealed struct{ n int64 }

// sealedCoder encodes an sealed as its number, a varint.
type sealedCoder struct{}

func (sealedCoder) Encode(dst []byte, v sealed) []byte { return Varint[int64]().Encode(dst, v.n) }
func (sealedCoder) Decode(src []byte) (sealed, int, error) {
	n, m, err := Varint[int64]().Decode(src)
	return sealed{n}, m, err
}
func (sealedCoder) Spec() Spec          { return Spec{URN: URNCustom, Payload: []byte("sealed")} }
func (sealedCoder) Deterministic() bool { return true }

func init() { Register[sealed](sealedCoder{}) }

type withSealed struct {
	Name string
	O    sealed
	Os   []sealed
}

func TestRegisteredCoderIsUsedEverywhere(t *testing.T) {
	c, err := Of[sealed]()
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := c.Decode(c.Encode(nil, sealed{7})); err != nil || got != (sealed{7}) {
		t.Errorf("sealed round trip = %v, %v", got, err)
	}
	sc, err := Of[[]sealed]()
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := sc.Decode(sc.Encode(nil, []sealed{{1}, {2}})); err != nil || len(got) != 2 || got[1] != (sealed{2}) {
		t.Errorf("[]sealed round trip = %v, %v", got, err)
	}
	rc, err := Of[withSealed]()
	if err != nil {
		t.Fatal(err)
	}
	v := withSealed{Name: "x", O: sealed{-3}, Os: []sealed{{4}}}
	got, _, err := rc.Decode(rc.Encode(nil, v))
	if err != nil || got.Name != "x" || got.O != v.O || len(got.Os) != 1 || got.Os[0] != v.Os[0] {
		t.Errorf("row with sealed fields round trip = %+v, %v", got, err)
	}
	// A runner reads the field as bytes: the registered coder's encoding.
	dyn, err := FromSpec(rc.Spec())
	if err != nil {
		t.Fatal(err)
	}
	row, _, err := dyn.DecodeAny(rc.Encode(nil, v))
	if err != nil {
		t.Fatalf("dynamic decode: %v", err)
	}
	if b, ok := row.(Row).Values[1].([]byte); !ok || string(b) != string(sealedCoder{}.Encode(nil, sealed{-3})) {
		t.Errorf("dynamic row's O = %#v, want the registered coder's bytes", row.(Row).Values[1])
	}
}

func TestRegisterPanics(t *testing.T) {
	for _, tt := range []struct {
		name     string
		register func()
		want     string
	}{
		{"a second coder for a type panics", func() { Register[sealed](sealedCoder{}) }, "twice"},
		{"a predeclared type keeps its coder", func() { Register[int64](Varint[int64]()) }, "built-in"},
		{"a nil coder panics", func() { Register[withSealed](nil) }, "nil"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), tt.want) {
					t.Errorf("Register panicked with %v, want a panic mentioning %q", r, tt.want)
				}
			}()
			tt.register()
		})
	}
}

func TestUnexportedFieldErrorAdvisesRegister(t *testing.T) {
	type foreign struct{ hidden int }
	_, err := Of[foreign]()
	if err == nil || !strings.Contains(err.Error(), "coder.Register") {
		t.Errorf("Of of a struct with an unexported field = %v, want advice to use coder.Register", err)
	}
}
