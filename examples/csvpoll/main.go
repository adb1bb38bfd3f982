// Command csvpoll is the seed's Streamliner pipeline: an extractor polls a
// directory every second for CSV files it has not seen (io/unbounded.Extract,
// with Initialize, Next and Cleanup), a transformer parses each batch's rows
// into readings (unbounded.Transform), and the readings are printed, each
// with the batch that brought it.
//
//	go run ./examples/csvpoll --dir=incoming --every=1s --for=10s
//
// A file is picked up once its name ends in .csv: write it under another
// name and rename it, so that a half-written file is never read. Each file
// is read once; its rows are "station,celsius". Without --dir the program
// makes a temporary directory and drops a sample file into it every 700 ms
// while it runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/beamgo-dev/beamgo/io/unbounded"
	"github.com/beamgo-dev/beamgo/runner/local"
	"github.com/beamgo-dev/beamgo/sdk"
)

// Job describes one run of the example.
type Job struct {
	// Dir is the directory polled.
	Dir string
	// Every is the polling interval.
	Every time.Duration
	// Drain, when closed, drains the job.
	Drain <-chan struct{}
	// Out gets every reading (from several goroutines at once).
	Out func(Reading)
}

// Pipeline adds the job to s: the directory's new files every interval,
// their rows parsed, one reading per element.
func Pipeline(s sdk.Scope, dir string, every time.Duration) sdk.PCollection[Reading] {
	rows := unbounded.Extract[Row](s, every, NewDirExtractor(dir), unbounded.ExtractOptions{Name: "PollDir"})
	readings := unbounded.Transform[Row, Reading](s, Parse{}, rows)
	return sdk.FlatMap(s, func(b unbounded.Batch[Reading], emit func(Reading)) {
		for _, r := range b.Records {
			r.Batch = b.ID
			emit(r)
		}
	}, readings, sdk.Name("Flatten"))
}

// Run runs the job on the local runner until it is drained.
func Run(ctx context.Context, j Job) error {
	p := sdk.NewPipeline()
	s := p.Root()
	sdk.ForEachFunc(s, func(_ context.Context, r Reading) error { j.Out(r); return nil }, Pipeline(s, j.Dir, j.Every))
	_, err := local.New(&local.Options{Job: local.Job{Drain: j.Drain}}).Run(ctx, p)
	return err
}

func main() {
	dir := flag.String("dir", "", "directory to poll for *.csv files (default: a temporary one with sample files dropped into it)")
	every := flag.Duration("every", time.Second, "polling interval")
	runFor := flag.Duration("for", 4*time.Second, "how long to run before draining")
	flag.Parse()
	log.SetFlags(0)
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "csvpoll-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(tmp)
		*dir = tmp
		stop := dropSamples(tmp, 700*time.Millisecond)
		defer stop()
		fmt.Printf("polling %s, where a sample file lands every 700 ms\n", tmp)
	}
	drain := make(chan struct{})
	defer time.AfterFunc(*runFor, func() { close(drain) }).Stop()
	err := Run(context.Background(), Job{Dir: *dir, Every: *every, Drain: drain, Out: func(r Reading) {
		fmt.Printf("batch %d: %s line %d: %s %.1f°C = %.1f°F\n", r.Batch, r.File, r.Line, r.Station, r.Celsius, r.Fahrenheit)
	}})
	if err != nil {
		log.Fatal(err)
	}
}

// dropSamples writes a small CSV file into dir every interval, written
// under a temporary name and renamed, until the returned function is
// called.
func dropSamples(dir string, every time.Duration) (stop func()) {
	stations := []string{"oslo", "lima", "pune", "kiev", "nome"}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for i := 0; ; i++ {
			body := fmt.Sprintf("station,celsius\n%s,%d.5\n%s,%d\n", stations[i%5], i, stations[(i+2)%5], 20-i)
			tmp := filepath.Join(dir, fmt.Sprintf(".sample-%03d.tmp", i))
			if err := os.WriteFile(tmp, []byte(body), 0o644); err == nil {
				os.Rename(tmp, filepath.Join(dir, fmt.Sprintf("sample-%03d.csv", i)))
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done) }
}
