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
	code := NewMain(os.Stdin, os.Stdout, os.Stderr, os.Getenv).RunAndClose(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
