package launch_test

import (
	"context"
	"flag"
	"fmt"
	"log"

	"github.com/beamgo-dev/beamgo/launch"
	"github.com/beamgo-dev/beamgo/sdk"
)

// A program registers the standard flags next to its own, parses them
// with Parse, builds its pipeline and runs it with Run. Run's nil Result
// means the process was a worker, whose job the submitter reports.
func ExampleRun() {
	fs := flag.NewFlagSet("sum", flag.ContinueOnError)
	opts := launch.Flags(fs)
	n := fs.Int("n", 3, "sum 1..n")
	// A real program passes os.Args[1:].
	if err := opts.Parse(fs, []string{"--runner=local", "--parallelism=2", "--progress=false", "--n=4"}); err != nil {
		log.Fatal(err)
	}
	var nums []int
	for i := 1; i <= *n; i++ {
		nums = append(nums, i)
	}
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.ForEachFunc(s, func(_ context.Context, sum int) error {
		fmt.Println("sum:", sum) // on the local runner, in this process
		return nil
	}, sdk.Sum(s, sdk.Create(s, nums)))
	res, err := launch.Run(context.Background(), p, opts)
	if err != nil {
		log.Fatal(err)
	}
	if res == nil {
		return // a worker
	}
	fmt.Println("ran", res.Stages > 0)
	// Output:
	// sum: 10
	// ran true
}
