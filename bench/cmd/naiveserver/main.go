// Command naiveserver is restbench's naive reference server (see restbench.NaiveSpec): it
// reads a restbench.NaiveSpec as JSON from stdin, listens on a free loopback port, prints its
// base URL on one line and serves until SIGTERM or SIGINT. restbench starts it; it is not
// meant to be run by hand.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/goforward/goforward/bench/restbench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "naiveserver:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var spec restbench.NaiveSpec
	if err := json.NewDecoder(os.Stdin).Decode(&spec); err != nil {
		return fmt.Errorf("read the spec: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("http://%s\n", ln.Addr())
	return restbench.ServeNaive(ctx, spec, ln)
}
