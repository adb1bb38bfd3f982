package passert_test

import (
	"fmt"
	"strings"

	"github.com/beamgo-dev/beamgo/sdk"
	"github.com/beamgo-dev/beamgo/testutil/passert"
)

func Example() {
	p := sdk.NewPipeline()
	s := p.Root()
	lines := sdk.Create(s, []string{"a b", "b c"})
	words := sdk.FlatMap(s, func(line string, emit func(string)) {
		for _, w := range strings.Fields(line) {
			emit(w)
		}
	}, lines)
	passert.Equals(s, words, "c", "b", "b", "a")
	passert.Count(s, words, 4)
	passert.True(s, words, func(w string) bool { return len(w) == 1 })
	// Running p now checks the assertions, and fails if one does not hold.
	fmt.Println("construction error:", p.Err())
	// Output:
	// construction error: <nil>
}
