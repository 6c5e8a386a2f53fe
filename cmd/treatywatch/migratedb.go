package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"iter"
	"os"
	"strings"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/notifiers/pubsub"
)

// runMigrateDB copies an SQLite ledger into an empty PostgreSQL database:
// every event with its position, version, recorded time and hash (the
// chain is recomputed on arrival, event by event, and walked again in the
// target), then what lives beside the log as far as the PostgreSQL
// backend has a port for it (sink secrets, the notifier's offset). It
// refuses a target that holds any event, and, before writing anything,
// a source holding what the target cannot keep (sink secrets, a notifier
// offset, deliveries still waiting), unless --events-only.
func runMigrateDB(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("migrate-db", flag.ContinueOnError)
	from := fs.String("from", "", "the SQLite ledger file to copy (required; it is only read)")
	to := fs.String("to", "", "the postgres:// URL of the database to copy it into (required; its log must be empty)")
	eventsOnly := fs.Bool("events-only", false, "copy the events even when the source holds notifier state or sink secrets that the PostgreSQL backend cannot keep yet (they are left behind, and listed)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("migrate-db: unexpected argument %q", pos[0])
	case *from == "":
		return usagef("migrate-db: --from PATH.db is required")
	case *to == "":
		return usagef("migrate-db: --to postgres://… is required")
	case !postgres.IsURL(*to):
		return usagef("migrate-db: --to %q is not a postgres:// or postgresql:// URL", redactDB(*to))
	case postgres.IsURL(*from):
		return usagef("migrate-db: --from must be an SQLite file, not a URL")
	}
	if _, err := os.Stat(*from); err != nil {
		return usagef("migrate-db: --from %s: %v", *from, errors.Unwrap(err))
	}

	cfg := sqlite.Config{}
	if v := m.getenv("TREATYWATCH_SECRETS_KEY"); v != "" {
		key, err := sqlite.ParseSecretsKey(v)
		if err != nil {
			return fmt.Errorf("TREATYWATCH_SECRETS_KEY: %w", err)
		}
		cfg.SecretsKey = key
	}
	src, err := sqlite.Open(ctx, *from, cfg, m.logger)
	if err != nil {
		return fmt.Errorf("migrate-db: open %s: %w", *from, err)
	}
	defer src.Close()
	// The target seals the sink secrets it is given with the instances'
	// key (TREATYWATCH_SECRETS_KEY), or else with the source's own key,
	// which the instances are then to be given.
	dstCfg := postgres.Config{SecretsKey: cfg.SecretsKey}
	if dstCfg.SecretsKey == nil {
		dstCfg.SecretsKeyFile = src.SecretsKeyFile()
	}
	dst, err := postgres.Open(ctx, *to, dstCfg, m.logger)
	if err != nil {
		return fmt.Errorf("migrate-db: open %s: %w", redactDB(*to), err)
	}
	defer dst.Close()

	plan, err := planMigration(ctx, src, dst)
	if err != nil {
		return err
	}
	if len(plan.leftBehind) > 0 && !*eventsOnly {
		return fmt.Errorf("migrate-db: the source holds what the PostgreSQL backend cannot keep yet: %s. Nothing was written; pass --events-only to copy the events without it: %w",
			strings.Join(plan.leftBehind, "; "), events.ErrRefused)
	}

	srcRep, err := src.VerifyReport(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate-db: verify %s: %w", *from, err)
	}
	if len(srcRep.Breaks) > 0 {
		b := srcRep.Breaks[0]
		return fmt.Errorf("migrate-db: the source's hash chain is broken at position %d (%s): run treatywatch --db %s verify; nothing was written: %w", b.Position, b.Reason, *from, &b)
	}
	n, err := dst.Import(ctx, pages(ctx, src))
	if err != nil {
		return fmt.Errorf("migrate-db: %w", err)
	}
	rep, err := dst.VerifyReport(ctx, &events.KeptHead{Position: srcRep.Head, Hash: srcRep.Hash})
	if err != nil {
		return fmt.Errorf("migrate-db: verify the copy: %w", err)
	}
	if len(rep.Breaks) > 0 {
		b := rep.Breaks[0]
		return fmt.Errorf("migrate-db: the copy's hash chain is broken at position %d (%s): %w", b.Position, b.Reason, &b)
	}
	fmt.Fprintf(m.stdout, "migrate-db: copied %d events (treaties, acts, participants, subscriptions, tokens) to %s; hash chain verified on arrival and in the copy; head %d:%x\n",
		n, redactDB(*to), rep.Head, rep.Hash)
	for _, step := range plan.copies {
		line, err := step(ctx)
		if err != nil {
			return fmt.Errorf("migrate-db: the events are copied, but: %w", err)
		}
		fmt.Fprintln(m.stdout, "migrate-db: "+line)
	}
	for _, what := range plan.leftBehind {
		fmt.Fprintln(m.stdout, "migrate-db: not copied: "+what)
	}
	for _, what := range plan.notes {
		fmt.Fprintln(m.stdout, "migrate-db: "+what)
	}
	return nil
}

// migrationPlan is what migrate-db copies beside the events, and what it
// cannot.
type migrationPlan struct {
	copies     []func(context.Context) (string, error)
	leftBehind []string
	notes      []string
}

// planMigration looks at what the source holds beside its log, and which
// ports the target has for it. It writes nothing.
func planMigration(ctx context.Context, src *sqlite.Store, dst *postgres.Store) (migrationPlan, error) {
	var p migrationPlan
	head, err := dst.Head(ctx)
	if err != nil {
		return p, fmt.Errorf("migrate-db: %w", err)
	}
	if head != 0 {
		return p, fmt.Errorf("migrate-db: %w", &events.LedgerNotEmptyError{Head: head})
	}

	ids, err := src.SinkSecretIDs(ctx)
	if err != nil {
		return p, fmt.Errorf("migrate-db: read the source's sink secrets: %w", err)
	}
	if len(ids) > 0 {
		if secrets, ok := any(dst).(events.SecretStore); ok {
			p.copies = append(p.copies, func(ctx context.Context) (string, error) {
				for _, id := range ids {
					s, err := src.SinkSecret(ctx, id)
					if err != nil {
						return "", fmt.Errorf("read the sink secret of %s: %w", id, err)
					}
					if err := secrets.PutSinkSecret(ctx, id, s); err != nil {
						return "", fmt.Errorf("store the sink secret of %s: %w", id, err)
					}
				}
				return fmt.Sprintf("copied %d sink secrets (unsealed with the source's key, sealed by the target with the key every instance on it must be given: TREATYWATCH_SECRETS_KEY, or the source's key file %s when it is not set)", len(ids), src.SecretsKeyFile()), nil
			})
		} else {
			p.leftBehind = append(p.leftBehind, fmt.Sprintf("%d sink secrets (webhook URLs, HMAC secrets): the PostgreSQL backend has no secret store yet", len(ids)))
		}
	}

	offset, err := src.GroupOffset(ctx, pubsub.LogTopic, notifierConsumerGroup)
	if err != nil {
		return p, fmt.Errorf("migrate-db: read the source's notifier offset: %w", err)
	}
	if offset > 0 {
		// The copy's notifier reads the log through watermill-sql
		// (postgres.NewLogSubscriber): its group's offset is the row of
		// log_offsets, which its router resumes after.
		p.copies = append(p.copies, func(ctx context.Context) (string, error) {
			if err := dst.SetLogOffset(ctx, notifierConsumerGroup, offset); err != nil {
				return "", fmt.Errorf("set the notifier's offset in the target: %w", err)
			}
			return fmt.Sprintf("copied the notifier's offset (position %d)", offset), nil
		})
	}

	runs, err := scheduleRuns(ctx, src)
	if err != nil {
		return p, err
	}
	if len(runs) > 0 {
		p.copies = append(p.copies, func(ctx context.Context) (string, error) {
			for _, r := range runs {
				if _, err := dst.RecordRun(ctx, r.name, r.at, nil); err != nil {
					return "", fmt.Errorf("record the last run of %s: %w", r.name, err)
				}
			}
			return fmt.Sprintf("copied the last runs of %d schedules (digests and timed notices), so that the next ones cover what happened since", len(runs)), nil
		})
	}

	counts, err := src.DeliveryCounts(ctx)
	if err != nil {
		return p, fmt.Errorf("migrate-db: read the source's deliveries: %w", err)
	}
	if waiting := counts[events.DeliveryPending] + counts[events.DeliverySending]; waiting > 0 {
		p.leftBehind = append(p.leftBehind, fmt.Sprintf("%d deliveries still waiting to be sent: let the notifier drain them first (treatywatch notify run on the source)", waiting))
	}
	if done := counts[events.DeliverySent] + counts[events.DeliveryDead]; done > 0 {
		p.notes = append(p.notes, fmt.Sprintf("the delivery history (%d sent, %d dead) stays in the source: the copy's notifier starts from the copied offset", counts[events.DeliverySent], counts[events.DeliveryDead]))
	}
	return p, nil
}

// scheduleRun is a schedule's last run.
type scheduleRun struct {
	name string
	at   time.Time
}

// scheduleRuns returns the last runs the source's scheduler recorded, for
// the timed notices and the digests of its active subscriptions.
func scheduleRuns(ctx context.Context, src *sqlite.Store) ([]scheduleRun, error) {
	l, err := events.NewLedger(src, events.LedgerConfig{Now: time.Now})
	if err != nil {
		return nil, fmt.Errorf("migrate-db: %w", err)
	}
	subs, err := l.Subscriptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate-db: read the source's subscriptions: %w", err)
	}
	var out []scheduleRun
	for _, name := range notifiers.ScheduleNames(subs) {
		at, err := src.LastRun(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("migrate-db: read the last run of %s: %w", name, err)
		}
		if !at.IsZero() {
			out = append(out, scheduleRun{name: name, at: at})
		}
	}
	return out, nil
}

// pages yields the source's log, one page of ReadAll at a time.
func pages(ctx context.Context, src *sqlite.Store) iter.Seq2[events.Envelope, error] {
	return func(yield func(events.Envelope, error) bool) {
		var after int64
		for {
			page, err := src.ReadAll(ctx, after, 1000)
			if err != nil {
				yield(events.Envelope{}, err)
				return
			}
			if len(page) == 0 {
				return
			}
			for _, e := range page {
				if !yield(e, nil) {
					return
				}
			}
			after = page[len(page)-1].Position
		}
	}
}
