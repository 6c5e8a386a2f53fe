package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // digests in any IANA zone, even where the system has no zoneinfo
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := NewMain(os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	code := m.Run(ctx, os.Args[1:])
	if err := m.Close(); err != nil && code == 0 {
		code = 1
	}
	stop()
	os.Exit(code)
}
