package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/treatywatch/treatywatch/events/sqlite"
)

func runBackup(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("backup: want the FILE to write the copy to")
	}
	if _, err := m.open(ctx); err != nil {
		return err
	}
	sq, ok := m.store.(*sqlite.Store)
	if !ok {
		return usagef("backup: the ledger is on PostgreSQL: back it up with pg_dump or pg_basebackup (README), then check the copy with treatywatch --db URL verify")
	}
	dest, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	if dest == sq.Path() {
		return usagef("backup: %s is the ledger itself", pos[0])
	}
	rep, err := sq.Backup(ctx, dest)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.stdout, "backup %s: %d events, hash chain verified; head %d:%x\n", dest, rep.Events, rep.Head, rep.Hash)
	fmt.Fprintf(m.stdout, "the webhook URLs and secrets in it are sealed with the key in %s (or TREATYWATCH_SECRETS_KEY): keep a copy of the key apart from the backup\n", sq.SecretsKeyFile())
	return nil
}
