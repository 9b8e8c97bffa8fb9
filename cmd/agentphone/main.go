// Command agentphone is the composition root of the agentphone server: it
// reads flags and AGENTPHONE_* environment variables, opens the store, wires
// the domain services to their adapters and runs the subcommands (serve,
// migrate, keys, version).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(os.Getenv, os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "agentphone:", err)
		os.Exit(1)
	}
}

// streams are a command's outputs; tests pass buffers.
type streams struct {
	Out io.Writer // results that scripts capture (a key, a table)
	Err io.Writer // logs and messages for people
}
