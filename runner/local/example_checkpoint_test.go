package local_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// A job with a checkpoint directory writes snapshots of itself there;
// started again with the same directory it resumes from the newest one.
// Here the first run finishes (its last snapshot says so), so the second
// resumes from it and has nothing left to do.
func ExampleJob_checkpoint() {
	dir, _ := os.MkdirTemp("", "ckpt-")
	defer os.RemoveAll(dir)
	job := local.Job{Checkpoint: &local.Checkpointing{Dir: dir, Interval: time.Second}}
	for run := 1; run <= 2; run++ {
		p := sdk.NewPipeline()
		s := p.Root()
		sdk.CountElements(s, sdk.Create(s, []string{"a", "b", "c"}))
		res, err := local.New(&local.Options{Job: job}).Run(context.Background(), p)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("run %d: resumed from snapshot %d, wrote %d\n", run, res.RestoredFrom, res.Checkpoints)
	}
	// Output:
	// run 1: resumed from snapshot 0, wrote 1
	// run 2: resumed from snapshot 1, wrote 1
}
