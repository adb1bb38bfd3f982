// Package cpuprof starts and stops the CPU profile, and the peak heap
// profile, of a benchmark program.
package cpuprof

import (
	"bytes"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// Start profiles the process into path until the returned function is
// called; an empty path profiles nothing. Failures end the program: a
// benchmark asked for a profile it cannot write is of no use.
func Start(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
}

// StartHeap samples the process's live heap every 100 ms until the returned
// function is called, and writes the heap profile taken when the live heap
// was largest to path (allocation totals included): what a job holds at its
// peak, which a profile written at the end, after the job let go of its
// state, does not show. An empty path profiles nothing.
func StartHeap(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	var best bytes.Buffer
	go func() {
		defer close(finished)
		var peak uint64
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc <= peak {
				continue
			}
			peak = ms.HeapAlloc
			best.Reset()
			// The profile describes the heap as of the last collection.
			if err := pprof.Lookup("heap").WriteTo(&best, 0); err != nil {
				log.Fatal(err)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		if err := os.WriteFile(path, best.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
