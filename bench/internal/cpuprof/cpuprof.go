// Package cpuprof starts and stops the CPU profile of a benchmark program.
package cpuprof

import (
	"log"
	"os"
	"runtime/pprof"
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
