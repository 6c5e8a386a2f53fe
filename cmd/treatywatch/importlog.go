package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/export"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/notifiers/pubsub"
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
	in := m.stdin
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
	if err := m.notifierStartsAt(ctx, n); err != nil {
		return fmt.Errorf("import-log: %d events imported, but the notifier's offset could not be set to the head: %w; before serve or notify run, unsubscribe the copy's subscriptions or they hear of the whole log again", n, err)
	}
	rep, err := m.verifyReport(ctx, nil)
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
	fmt.Fprintf(m.stdout, "imported %d events into %s\nhash chain intact: %d events verified\nhead %d:%x\n", n, m.dbName(), rep.Events, rep.Head, rep.Hash)
	return nil
}

// notifierStartsAt moves the notifier's offset on the log to head, so
// that `serve` or `notify run` on an imported copy notifies its
// subscriptions of what is recorded from now on, not again of the whole
// log the original ledger's notifier already delivered.
func (m *Main) notifierStartsAt(ctx context.Context, head int64) error {
	if head == 0 {
		return nil
	}
	if pg, ok := m.store.(*postgres.Store); ok {
		// The notifier reads the log through watermill-sql there
		// (logSubscriber): its offset is the group's row of log_offsets.
		return pg.SetLogOffset(ctx, notifierConsumerGroup, head)
	}
	now := time.Now()
	c := events.Claim{Topic: pubsub.LogTopic, Group: notifierConsumerGroup, Holder: fmt.Sprintf("import-log-%d", os.Getpid()), Until: now.Add(time.Minute)}
	if _, ok, err := m.store.TakeClaim(ctx, c, now, ""); err != nil {
		return err
	} else if !ok {
		return errors.New("another notifier holds the offset")
	}
	if ok, err := m.store.CommitOffset(ctx, c, head); err != nil {
		return err
	} else if !ok {
		return errors.New("the claim on the offset was lost")
	}
	_, err := m.store.ReleaseClaim(ctx, c)
	return err
}
