package keymap_test

import (
	"fmt"

	"github.com/beamgo-dev/beamgo/runner/internal/keymap"
)

func Example() {
	m := keymap.New[int](0)
	m.Set("auction-17", 1)                      // short: held in the map's slot
	m.Set("a key longer than fifteen bytes", 2) // long: a copied string
	v, ok := m.GetBytes([]byte("auction-17"))   // no copy of the key
	fmt.Println(v, ok, m.Len())
	// Output: 1 true 2
}
