package rangetracker_test

import (
	"fmt"
	"log"

	"github.com/beamgo-dev/beamgo/rangetracker"
)

// A reader claims records at offsets 0, 10, 20, ... while a runner splits the
// rest of its range off for another worker.
func ExampleOffset() {
	rt := rangetracker.NewOffset(0, 100)
	for off := int64(0); ; off += 10 {
		ok, err := rt.TryClaim(off)
		if err != nil {
			log.Fatal(err)
		}
		if !ok {
			fmt.Printf("claim %d refused: the range now ends at %d\n", off, rt.StopPosition())
			break
		}
		fmt.Printf("read %d, %.0f%% consumed\n", off, 100*rt.FractionConsumed())
		if off == 30 {
			// Another goroutine, in real life.
			if _, _, why := rt.TrySplitReason(30); why != rangetracker.Accepted {
				fmt.Println("split at 30 refused:", why)
			}
			pos, fraction, ok := rt.TrySplit(55)
			fmt.Printf("split at %d: ok %v, the primary keeps %.2f of the range\n", pos, ok, fraction)
		}
	}
	// Output:
	// read 0, 0% consumed
	// read 10, 10% consumed
	// read 20, 20% consumed
	// read 30, 30% consumed
	// split at 30 refused: position already consumed
	// split at 55: ok true, the primary keeps 0.55 of the range
	// read 40, 73% consumed
	// read 50, 91% consumed
	// claim 60 refused: the range now ends at 55
}

// A runner asks a splittable read to keep 70% of its remaining work, as an
// Fn API split request does, and later checkpoints it.
func ExampleRestrictionTracker() {
	b := rangetracker.NewRestrictionTracker[int64](rangetracker.NewOffset(100, 200), 1000)
	for _, off := range []int64{100, 115, 130} {
		if _, err := b.TryClaim(off); err != nil {
			log.Fatal(err)
		}
	}
	primary, residual, ok := b.TrySplit(0.7)
	fmt.Println(primary, residual, ok)
	done, remaining := b.GetProgress()
	fmt.Printf("progress: %.0f done, %.0f remaining\n", done, remaining)

	primary, residual, ok = b.TrySplit(0) // checkpoint
	fmt.Println(primary, residual, ok)
	fmt.Println("done?", b.IsDone())
	if ok, _ := b.TryClaim(145); !ok {
		fmt.Println("done?", b.IsDone())
	}
	// Output:
	// {100 179 790} {179 200 210} true
	// progress: 300 done, 490 remaining
	// {100 131 310} {131 179 480} true
	// done? rangetracker: read of [100, 131) stopped after claiming 130, before the stop 131: the reader must call TryClaim until it returns false, or Finish
	// done? <nil>
}

// Keys are read as base-256 fractions to find the middle of a key range.
func ExampleLexicographicKey() {
	rt := rangetracker.NewLexicographicKey([]byte("apple"), []byte("melon"))
	if _, err := rt.TryClaim([]byte("banana")); err != nil {
		log.Fatal(err)
	}
	mid, err := rt.PositionAtFraction(0.5)
	if err != nil {
		log.Fatal(err)
	}
	pos, fraction, ok := rt.TrySplit(mid)
	fmt.Printf("split at %q (%.3f of the range): %v\n", pos, fraction, ok)
	for _, k := range []string{"cherry", "kiwi"} {
		claimed, err := rt.TryClaim([]byte(k))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(k, "claimed:", claimed)
	}
	// Output:
	// split at "gj\xeem\xe9\x80" (0.500 of the range): true
	// cherry claimed: true
	// kiwi claimed: false

}
