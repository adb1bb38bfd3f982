package textio_test

import (
	"errors"
	"fmt"

	"github.com/beamgo-dev/beamgo/io/textio"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Validate matches a read's pattern when the pipeline is built, so that a
// pattern that matches nothing fails before any job starts, naming it.
func ExampleValidate() {
	p := sdk.NewPipeline()
	textio.Read(p.Root(), "mem://example/none-*.csv", textio.Validate())
	err := p.Err() // Run returns it too, before running anything
	var pe *textio.PatternError
	fmt.Println(errors.As(err, &pe), pe.Pattern, errors.Is(err, textio.ErrNoMatch))
	// Output: true mem://example/none-*.csv true
}
