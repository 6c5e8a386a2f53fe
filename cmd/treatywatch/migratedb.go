package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
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
// target), the sink secrets, the notifier's whole state (every delivery
// with its id and state, the dead letters, the Slack threads, the
// channels' pacing, the schedules' last runs, the settings), the answers
// kept for Idempotency-Key retries and the Slack requests seen within
// their replay window, all in one transaction on the target; then the
// notifier's offset. It refuses a
// target that holds any event or notifier row, and a source whose sender
// or scheduler lease a running process holds (it could still be posting),
// before writing anything. --events-only copies the log, the sink secrets
// and the offset only, whoever holds the leases.
func runMigrateDB(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("migrate-db", flag.ContinueOnError)
	from := fs.String("from", "", "the SQLite ledger file to copy (required; it is only read)")
	to := fs.String("to", "", "the postgres:// URL of the database to copy it into (required; its log must be empty)")
	eventsOnly := fs.Bool("events-only", false, "copy only the log (with the sink secrets of its subscriptions and the notifier's offset), not the notifier's deliveries, dead letters, threads, pacing or schedules, even while a notifier runs on the source (what is left behind is listed)")
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

	if !*eventsOnly {
		if err := refuseLiveNotifier(ctx, src, *from); err != nil {
			return err
		}
	}
	plan, err := planMigration(ctx, src, dst, *eventsOnly)
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
	n, err := dst.ImportLedger(ctx, events.LogPages(ctx, src, 1000), plan.copy)
	if err != nil {
		return fmt.Errorf("migrate-db: nothing was written: %w", err)
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
	for _, line := range plan.copied {
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
	// copy is written with the log, in its transaction; copied says what
	// it holds.
	copy       events.LedgerCopy
	copied     []string
	leftBehind []string
	notes      []string
}

// planMigration reads what the source holds beside its log (all of it is
// copied in the log's transaction), and which ports the
// target has for it. It writes nothing.
func planMigration(ctx context.Context, src *sqlite.Store, dst *postgres.Store, eventsOnly bool) (migrationPlan, error) {
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
		p.copy.SinkSecrets = make(map[string]events.SinkSecret, len(ids))
		for _, id := range ids {
			s, err := src.SinkSecret(ctx, id)
			if err != nil {
				return p, fmt.Errorf("migrate-db: read the sink secret of %s: %w", id, err)
			}
			p.copy.SinkSecrets[id] = s
		}
		p.copied = append(p.copied, fmt.Sprintf("copied %d sink secrets (unsealed with the source's key, sealed by the target with the key every instance on it must be given: TREATYWATCH_SECRETS_KEY, or the source's key file %s when it is not set)", len(ids), src.SecretsKeyFile()))
	}

	offset, err := src.GroupOffset(ctx, pubsub.LogTopic, notifierConsumerGroup)
	if err != nil {
		return p, fmt.Errorf("migrate-db: read the source's notifier offset: %w", err)
	}
	if offset > 0 {
		// The copy's notifier reads the log through watermill-sql
		// (postgres.NewLogSubscriber): its group's offset is the row of
		// log_offsets, which its router resumes after, written in the
		// log's transaction.
		p.copy.LogOffsets = map[string]int64{notifierConsumerGroup: offset}
		p.copied = append(p.copied, fmt.Sprintf("copied the notifier's offset (position %d)", offset))
	}

	st, err := src.ExportNotifierState(ctx)
	if err != nil {
		return p, fmt.Errorf("migrate-db: read the source's notifier: %w", err)
	}
	counts := map[string]int{}
	for _, d := range st.Deliveries {
		counts[d.Status]++
	}
	waitingDead := 0
	for _, m := range st.DeadMessages {
		if !m.Redriven {
			waitingDead++
		}
	}
	answers, err := src.ExportAnswers(ctx)
	if err != nil {
		return p, fmt.Errorf("migrate-db: %w", err)
	}
	seen, err := src.ExportSeenRequests(ctx, time.Now())
	if err != nil {
		return p, fmt.Errorf("migrate-db: %w", err)
	}
	if eventsOnly {
		if len(answers)+len(seen) > 0 {
			p.leftBehind = append(p.leftBehind, fmt.Sprintf("--events-only: %d answers kept for Idempotency-Key retries and %d Slack requests seen within their replay window", len(answers), len(seen)))
		}
		if len(st.Deliveries) > 0 {
			p.leftBehind = append(p.leftBehind, fmt.Sprintf("--events-only: %d deliveries (%d pending, %d sending, %d sent, %d dead): the copy's notifier will not send the waiting ones, nor confirm those left sending",
				len(st.Deliveries), counts[events.DeliveryPending], counts[events.DeliverySending], counts[events.DeliverySent], counts[events.DeliveryDead]))
		}
		if len(st.DeadMessages)+len(st.Threads)+len(st.Paces)+len(st.LastRuns)+len(st.Settings) > 0 {
			p.leftBehind = append(p.leftBehind, fmt.Sprintf("--events-only: %d dead letters of the router, %d Slack threads, the pacing of %d channels, the last runs of %d schedules and %d notifier settings",
				len(st.DeadMessages), len(st.Threads), len(st.Paces), len(st.LastRuns), len(st.Settings)))
		}
		return p, nil
	}
	p.copy.Notifier, p.copy.Answers, p.copy.SeenRequests = st, answers, seen
	if len(answers)+len(seen) > 0 {
		p.copied = append(p.copied, fmt.Sprintf("copied %d answers kept for Idempotency-Key retries (a retry gets its first answer) and %d Slack requests seen within their replay window (a replay is still refused)", len(answers), len(seen)))
	}
	if len(st.Deliveries) > 0 {
		p.copied = append(p.copied, fmt.Sprintf("copied %d deliveries with their ids and states (%d pending, %d sending, %d sent, %d dead): the copy's notifier confirms those left sending with the sink before it posts any again, then sends the pending ones",
			len(st.Deliveries), counts[events.DeliveryPending], counts[events.DeliverySending], counts[events.DeliverySent], counts[events.DeliveryDead]))
	}
	if len(st.DeadMessages) > 0 {
		p.copied = append(p.copied, fmt.Sprintf("copied %d dead letters of the router (%d not redriven)", len(st.DeadMessages), waitingDead))
	}
	if len(st.Threads) > 0 || len(st.Paces) > 0 {
		p.copied = append(p.copied, fmt.Sprintf("copied %d Slack threads (follow-ups go on under their first message) and the pacing of %d channels (a Retry-After still holds)", len(st.Threads), len(st.Paces)))
	}
	if len(st.LastRuns) > 0 {
		p.copied = append(p.copied, fmt.Sprintf("copied the last runs of %d schedules (digests and timed notices), so that the next ones cover what happened since", len(st.LastRuns)))
	}
	if len(st.Settings) > 0 {
		p.copied = append(p.copied, fmt.Sprintf("copied %d notifier settings", len(st.Settings)))
	}
	p.notes = append(p.notes, "not copied: the sender and scheduler leases and the consumer group's claim, which belong to the source's processes (the copy's instances take them anew)")
	return p, nil
}

// refuseLiveNotifier refuses a source whose sender or scheduler lease a
// process may still hold: it could post a delivery, or record a run,
// that the copy would not know of.
func refuseLiveNotifier(ctx context.Context, src *sqlite.Store, path string) error {
	held, err := notifiers.LiveLeases(ctx, src, time.Now())
	if err != nil {
		return fmt.Errorf("migrate-db: %w", err)
	}
	if len(held) == 0 {
		return nil
	}
	var who []string
	for _, h := range held {
		who = append(who, fmt.Sprintf("the %s lease (it %s) is held by %s, pid %d, until %s", h.Name, h.Role, h.Host, h.PID, h.ExpiresAt.UTC().Format(time.RFC3339)))
	}
	return fmt.Errorf("migrate-db: a notifier runs on %s: %s. It could still be posting: stop it (serve, or notify run) and run migrate-db again, or wait until its lease expires; --events-only copies the log alone. Nothing was written: %w",
		path, strings.Join(who, "; "), events.ErrRefused)
}
