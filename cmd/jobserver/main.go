// Command jobserver serves Beam's JobService and artifact staging on
// ADDRESS:PORT (default 127.0.0.1:8099) and runs the submitted jobs on the
// portable runner with the submitter's LOOPBACK workers. It stops on
// SIGINT or SIGTERM.
//
// Submit a Beam Go pipeline with
//
//	--runner=universal --endpoint=127.0.0.1:8099 --environment_type=LOOPBACK
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
	flag.Parse()
	srv, err := jobservice.Start(net.JoinHostPort(*address, strconv.Itoa(*port)), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("jobserver: listening on %s\n", srv.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	srv.Stop()
}
