package state_test

import (
	"fmt"
	"log"
	"time"

	"github.com/beamgo-dev/beamgo/internal/window"
	"github.com/beamgo-dev/beamgo/runner/internal/state"
)

// The engine's side of a stateful DoFn: a bundle per key keeps a running
// count in value state and sets an end-of-window timer; when the input
// watermark passes it, the engine drains the key's timers with PopTimer,
// then expires the window.
func ExampleStore() {
	s, err := state.Open(&state.Options{AllowedLateness: 0 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	w := window.Interval(0, 10_000)
	count := state.Cell{Transform: "count", State: "n", Key: []byte("k"), Window: w}
	eow := state.Timer{
		TimerID: state.TimerID{Transform: "count", Family: "eow", Key: []byte("k"), Window: w},
		Domain:  state.EventTime, Fire: w.MaxTimestamp(), Hold: w.MaxTimestamp(),
	}
	for range 3 { // three elements, one bundle each
		b := s.Begin()
		v, _, err := b.Value(count)
		if err != nil {
			log.Fatal(err)
		}
		if err := b.SetValue(count, append(v, '+')); err != nil {
			log.Fatal(err)
		}
		if err := b.SetTimer(eow); err != nil { // the same identity: set once
			log.Fatal(err)
		}
		if err := b.Commit(); err != nil {
			log.Fatal(err)
		}
	}
	hold, _ := s.Hold()
	fmt.Println("hold:", int64(hold))

	now := state.Times{Input: 10_000}
	keys, _ := s.DueKeys(now, 0)
	for _, key := range keys {
		b := s.Begin()
		for {
			t, ok, err := b.PopTimer(key, now)
			if err != nil {
				log.Fatal(err)
			}
			if !ok {
				break
			}
			v, _, _ := b.Value(state.Cell{Transform: t.Transform, State: "n", Key: t.Key, Window: t.Window})
			fmt.Printf("timer %s fired at %d: count %q\n", t.Family, t.Fire, v)
		}
		if err := b.Commit(); err != nil {
			log.Fatal(err)
		}
	}
	dropped, _ := s.DropExpired(now.Input, 0)
	hold, _ = s.Hold()
	fmt.Println("dropped:", dropped, "hold:", hold)
	// Output:
	// hold: 9999
	// timer eow fired at 9999: count "+++"
	// dropped: 1 hold: MaxTime
}
