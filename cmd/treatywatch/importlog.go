package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/treatywatch/treatywatch/cmd/internal/export"
	"github.com/treatywatch/treatywatch/events"
)

// runImportLog imports an archive (export log --format jsonl) into an
// empty ledger, then verifies the copy's hash chain.
func runImportLog(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("import-log", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print {events, head, hash} as JSON (and errors as JSON)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("import-log: want the archive FILE.jsonl (or - for standard input)")
	}
	var in io.Reader = m.stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return fmt.Errorf("import-log: %w", err)
		}
		defer func() { _ = f.Close() }() // read only
		in = f
	}
	if _, err := m.open(ctx); err != nil {
		return err
	}
	// Refuse a ledger that holds events before reading the file.
	if head, err := m.store.Head(ctx); err != nil {
		return err
	} else if head != 0 {
		return &events.LedgerNotEmptyError{Head: head}
	}
	n, err := m.store.Import(ctx, export.ReadArchive(in))
	if err != nil {
		return err
	}
	rep, err := m.store.VerifyReport(ctx, nil)
	if err != nil {
		return err
	}
	if len(rep.Breaks) > 0 {
		first := rep.Breaks[0]
		return fmt.Errorf("import-log: %d events imported, but verify finds %d breaks: %w", n, len(rep.Breaks), &first)
	}
	if *asJSON {
		return json.NewEncoder(m.stdout).Encode(map[string]any{"events": n, "head": rep.Head, "hash": hex.EncodeToString(rep.Hash)})
	}
	fmt.Fprintf(m.stdout, "imported %d events into %s\nhash chain intact: %d events verified\nhead %d:%x\n", n, m.dbPath, rep.Events, rep.Head, rep.Hash)
	return nil
}
