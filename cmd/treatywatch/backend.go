package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/notifiers/pubsub"
)

// ledgerStore is what the commands need of the store they open: the event
// log and every storage port beside it. *sqlite.Store implements it; a
// *postgres.Store does once it has every port (openPostgres checks).
type ledgerStore interface {
	events.Store
	events.SecretStore
	events.AnswerStore
	events.SeenRequestStore
	notifiers.Store
	pubsub.OffsetStore
	// VerifyReport walks the hash chain (see events/sqlite and
	// events/postgres).
	VerifyReport(ctx context.Context, kept *events.KeptHead) (events.VerifyReport, error)
	Close() error
}

// Compile-time checks that both stores have every port.
var (
	_ ledgerStore = (*sqlite.Store)(nil)
	_ ledgerStore = (*postgres.Store)(nil)
)

// ledgerPorts names each port of ledgerStore beyond the event log, for the
// message that says which ones a backend lacks.
var ledgerPorts = []struct {
	name string
	has  func(any) bool
}{
	{"sink secrets (events.SecretStore)", func(s any) bool { _, ok := s.(events.SecretStore); return ok }},
	{"idempotency answers (events.AnswerStore)", func(s any) bool { _, ok := s.(events.AnswerStore); return ok }},
	{"signed-request replays (events.SeenRequestStore)", func(s any) bool { _, ok := s.(events.SeenRequestStore); return ok }},
	{"the notifier's outbox, dead letters, schedules, settings and lease (notifiers.Store)", func(s any) bool { _, ok := s.(notifiers.Store); return ok }},
	{"consumer-group offsets (pubsub.OffsetStore)", func(s any) bool { _, ok := s.(pubsub.OffsetStore); return ok }},
}

// missingPorts returns the names of the ports of ledgerStore that st
// lacks.
func missingPorts(st any) []string {
	var missing []string
	for _, p := range ledgerPorts {
		if !p.has(st) {
			missing = append(missing, p.name)
		}
	}
	return missing
}

// openStore opens the store that --db (or TREATYWATCH_DB) names: a
// postgres:// or postgresql:// URL opens PostgreSQL, anything else is the
// path of an SQLite file. It is the one place that chooses the backend.
func (m *Main) openStore(ctx context.Context) (ledgerStore, error) {
	if postgres.IsURL(m.dbPath) {
		return m.openPostgres(ctx)
	}
	cfg := sqlite.Config{}
	if v := m.getenv("TREATYWATCH_SECRETS_KEY"); v != "" {
		key, err := sqlite.ParseSecretsKey(v)
		if err != nil {
			return nil, fmt.Errorf("TREATYWATCH_SECRETS_KEY: %w", err)
		}
		cfg.SecretsKey = key
	}
	st, err := sqlite.Open(ctx, m.dbPath, cfg, m.logger)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", m.dbPath, err)
	}
	return st, nil
}

// openPostgres opens the PostgreSQL store at m.dbPath, and refuses, naming
// them, when the PostgreSQL backend lacks ports the commands need: a
// command then fails at once rather than half-working.
func (m *Main) openPostgres(ctx context.Context) (ledgerStore, error) {
	cfg := postgres.Config{}
	if v := m.getenv("TREATYWATCH_SECRETS_KEY"); v != "" {
		key, err := postgres.ParseSecretsKey(v)
		if err != nil {
			return nil, fmt.Errorf("TREATYWATCH_SECRETS_KEY: %w", err)
		}
		cfg.SecretsKey = key // the same on every instance: the database never holds it
	}
	st, err := postgres.Open(ctx, m.dbPath, cfg, m.logger)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", m.dbName(), err)
	}
	full, ok := any(st).(ledgerStore)
	if !ok {
		missing := missingPorts(st)
		_ = st.Close()
		return nil, fmt.Errorf("open %s: the PostgreSQL backend keeps the event log but not yet %s; use an SQLite file (--db PATH) for now", m.dbName(), strings.Join(missing, ", "))
	}
	return full, nil
}

// dbName is --db as it may be shown in messages and logs: a URL without
// its password and query (which may carry one).
func (m *Main) dbName() string { return redactDB(m.dbPath) }

func redactDB(db string) string {
	if !strings.Contains(db, "://") {
		return db // a file path
	}
	u, err := url.Parse(db)
	if err != nil {
		return "(a URL that does not parse)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery = ""
	return u.String()
}

// verifyReport walks the hash chain of the open store, whichever its
// backend.
func (m *Main) verifyReport(ctx context.Context, kept *events.KeptHead) (events.VerifyReport, error) {
	return m.store.VerifyReport(ctx, kept)
}
