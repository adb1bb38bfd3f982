package sdk_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/sdk/coder"
	"github.com/beamgo-dev/beamgo/testutil/passert"
)

// click is the kind of event users write first: a time.Time field.
type click struct {
	User string
	At   time.Time
	Took time.Duration
}

func TestTimeElementsRunEverywhere(t *testing.T) {
	base := time.Date(2026, 12, 3, 10, 0, 0, 123, time.UTC)
	runOnEach(t, func(s sdk.Scope) {
		clicks := sdk.Create(s, []click{{User: "ann", At: base, Took: time.Second}, {User: "ann", At: base.Add(time.Minute), Took: 2 * time.Second}})
		byTime := sdk.MapKV(s, func(c click) (time.Time, string) { return c.At, c.User }, clicks)
		passert.Equals(s, sdk.CountPerKey(s, byTime), sdk.Pair(base, int64(1)), sdk.Pair(base.Add(time.Minute), int64(1)))
		took := sdk.Map(s, func(c click) time.Duration { return c.Took }, clicks)
		passert.Equals(s, sdk.Sum(s, took), 3*time.Second)
	})
}

// temperature stands for a type of another package that has no coder:
// its field is unexported and it has no Marshaler.
type temperature struct{ milliKelvin int64 }

// temperatureCoder is a coder for temperature written by its user.
type temperatureCoder struct{}

func (temperatureCoder) Encode(dst []byte, v temperature) []byte {
	return coder.Varint[int64]().Encode(dst, v.milliKelvin)
}

func (temperatureCoder) Decode(src []byte) (temperature, int, error) {
	v, n, err := coder.Varint[int64]().Decode(src)
	return temperature{v}, n, err
}

func (temperatureCoder) Spec() coder.Spec {
	return coder.Spec{URN: coder.URNCustom, Payload: []byte("temperature")}
}
func (temperatureCoder) Deterministic() bool { return true }

func init() { coder.Register[temperature](temperatureCoder{}) }

type reading struct {
	Sensor string
	T      temperature
}

func TestRegisteredCoderRunsEverywhere(t *testing.T) {
	runOnEach(t, func(s sdk.Scope) {
		readings := sdk.Create(s, []reading{{Sensor: "a", T: temperature{300}}, {Sensor: "a", T: temperature{310}}})
		temps := sdk.MapKV(s, func(r reading) (string, temperature) { return r.Sensor, r.T }, readings)
		warmest := sdk.ReducePerKey(s, func(a, b temperature) temperature {
			if b.milliKelvin > a.milliKelvin {
				return b
			}
			return a
		}, temps)
		mk := sdk.Map(s, func(kv sdk.KV[string, temperature]) int64 { return kv.Value.milliKelvin }, warmest)
		passert.Equals(s, mk, 310)
	})
}

// unencodable has no coder and none is registered.
type unencodable struct{ secret int }

// TestOneErrorPerRootCause checks that a transform that cannot be built
// is reported once, not again by every transform downstream of it.
func TestOneErrorPerRootCause(t *testing.T) {
	p := sdk.NewPipeline()
	s := p.Root()
	bad := sdk.Create(s, []unencodable{{1}})
	keyed := sdk.Map(s, func(u unencodable) sdk.KV[string, int] { return sdk.Pair("k", u.secret) }, bad)
	grouped := sdk.GroupByKey(s, keyed)
	sdk.Print(s, "", sdk.Map(s, func(g sdk.Group[string, int]) string { return g.Key }, grouped))
	sdk.Distinct(s, sdk.Keys(s, keyed))
	err := p.Err()
	var ce *sdk.ConstructionError
	if !errors.As(err, &ce) {
		t.Fatalf("Err() = %v, want a ConstructionError", err)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 1 || ce.Transform != "Create" {
		t.Errorf("Err() has %d lines, want the one of Create:\n%v", n, err)
	}
	if !strings.Contains(err.Error(), "coder.Register") {
		t.Errorf("Err() = %v, want advice to register a coder", err)
	}
}
