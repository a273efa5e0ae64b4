// Command goforward runs the Go Forward server and its admin commands. It is the root
// package with nothing added: a program embedding Go Forward looks the same, with its
// registrations between New and Execute.
package main

import (
	"os"

	"github.com/goforward/goforward"
)

func main() {
	if err := goforward.New().Execute(); err != nil {
		os.Exit(goforward.ExitCode(err))
	}
}
