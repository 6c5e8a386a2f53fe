package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/treatywatch/treatywatch/seed"
)

func runSeed(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	quiet := fs.Bool("quiet", false, "print nothing when there is nothing to do")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	l, err := m.open(ctx)
	if err != nil {
		return err
	}
	n, err := seed.Load(ctx, l)
	if err != nil {
		return err
	}
	if n > 0 || !*quiet {
		if n == 0 {
			fmt.Fprintln(m.stdout, "seed: nothing to do (every shipped treaty is registered and holds every shipped act up to today; the seed never changes a registered definition)")
		} else {
			fmt.Fprintf(m.stdout, "seed: %d events recorded\n", n)
		}
	}
	return nil
}
