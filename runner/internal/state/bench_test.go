package state

import (
	"encoding/binary"
	"testing"

	"github.com/beamgo-dev/beamgo/internal/window"
)

// BenchmarkEvent is one event of the stateful benchmark: a value read and
// write, a bag append and a timer set, in bundles of 1000 events over 10k
// keys.
func BenchmarkEvent(b *testing.B) {
	for name, open := range map[string]Backend{"memory": Memory, "pebble": Pebble} {
		b.Run(name, func(b *testing.B) {
			s, err := Open(&Options{Backend: open, Dir: b.TempDir(), MemoryBudget: 32 << 20})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			w := window.Global()
			bu := s.Begin()
			for i := range b.N {
				key := binary.BigEndian.AppendUint64(nil, uint64(i*7919%10_000))
				value := Cell{Transform: "fn", State: "value", Key: key, Window: w}
				v, _, _ := bu.Value(value)
				_ = bu.SetValue(value, append(v[:0:0], byte(i)))
				_ = bu.Append(Cell{Transform: "fn", State: "bag", Key: key, Window: w}, v)
				_ = bu.SetTimer(Timer{TimerID: TimerID{Transform: "fn", Family: "f", Key: key, Window: w}, Domain: EventTime, Fire: window.Time(i), Hold: window.Time(i)})
				if i%1000 == 999 {
					if err := bu.Commit(); err != nil {
						b.Fatal(err)
					}
					bu = s.Begin()
				}
			}
			bu.Discard()
		})
	}
}
