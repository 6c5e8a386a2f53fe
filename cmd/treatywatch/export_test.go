package main

import (
	"context"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/treatywatch/treatywatch/notifiers"
)

// CrashExitCode is the status a crashing notifier exits with: 137, as
// after SIGKILL.
const CrashExitCode = 137

// RunCrashingAfterSends runs the command line args as main does, with a
// notifier whose sender ends the process abruptly — os.Exit, so no
// deferred call runs and nothing more is written — right after the nth
// message a sink accepted, before the delivery is marked sent: the one
// window a crash can hit. It exists only in the test binary, which runs
// it as a helper process (see notify_test.go); the shipped binary has no
// fault injection.
func RunCrashingAfterSends(n int, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := NewMain(os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	var sends atomic.Int64
	m.afterSend = func(notifiers.Delivery) {
		if sends.Add(1) >= int64(n) {
			os.Exit(CrashExitCode)
		}
	}
	return m.RunAndClose(ctx, args)
}
