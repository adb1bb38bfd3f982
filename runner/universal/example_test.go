package universal_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/beamgo-dev/beamgo/runner/universal"
	"github.com/beamgo-dev/beamgo/sdk"
)

// ExampleRunner submits a pipeline to a Beam job server on this machine
// (for example Prism, started with `prism -job_port=8073`) and runs its
// user code in this process (LOOPBACK). It needs a running job server, so
// it is compiled but not run by go test.
func ExampleRunner() {
	p := sdk.NewPipeline()
	s := p.Root()
	words := sdk.Create(s, []string{"a", "b", "a"})
	sdk.CountElements(s, sdk.Map(s, strings.ToUpper, words))

	r := universal.New(&universal.Options{Endpoint: "localhost:8073", EnvironmentType: universal.Loopback})
	res, err := r.Run(context.Background(), p)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Metrics.Counters)
}
