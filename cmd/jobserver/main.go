// Command jobserver serves Beam's JobService and artifact staging on
// ADDRESS:PORT (default 127.0.0.1:8099) and runs the submitted jobs on the
// portable runner. It stops on SIGINT or SIGTERM.
//
// Workers come from the job's environment: LOOPBACK jobs bring their own
// (the submitter's external worker pool), EXTERNAL jobs name a worker pool
// that is already running, which the server asks to start and stop the
// job's workers, and for PROCESS jobs the server starts the environment's
// command, as Prism does, with --id and --provision_endpoint; their output
// goes to the server's stderr. A PROCESS job runs the command it names as
// the server's user: --refuse_process turns such jobs away, which a server
// listening beyond loopback wants.
//
// Submit a Beam Go pipeline with
//
//	--runner=universal --endpoint=127.0.0.1:8099 --environment_type=LOOPBACK
//
// and a pipeline of this SDK (examples/wordcount) with
//
//	--runner=universal --endpoint=127.0.0.1:8099 --environment_type=PROCESS
//
// or, with EXTERNAL workers from the same program started as a worker pool
// (BEAMGO_WORKER_POOL=127.0.0.1:50000 and the same flags, see
// examples/wordcount), with
//
//	--runner=universal --endpoint=127.0.0.1:8099 --environment_type=EXTERNAL --environment_config=127.0.0.1:50000
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"beamgo/runner/portable/jobservice"
)

func main() {
	address := flag.String("address", "127.0.0.1", "address to listen on (loopback unless told otherwise)")
	port := flag.Int("port", 8099, "port to listen on (0 picks a free one)")
	refuseProcess := flag.Bool("refuse_process", false, "refuse PROCESS jobs, which run the command they name on this machine")
	flag.Parse()
	srv, err := jobservice.Start(net.JoinHostPort(*address, strconv.Itoa(*port)), &jobservice.Options{RefuseProcess: *refuseProcess})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("jobserver: listening on %s\n", srv.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	srv.Stop()
}
