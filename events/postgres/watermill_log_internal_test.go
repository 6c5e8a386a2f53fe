package postgres

import (
	"errors"
	"log/slog"
	"slices"
	"testing"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
)

// TestLogTopicRefusesInserts: a watermill-sql Publisher on the log
// topic's schema gets ErrLogTopicReadOnly (an ErrRefused) and no query.
func TestLogTopicRefusesInserts(t *testing.T) {
	q, err := logSchema{topic: "treatywatch.log", batch: 1}.InsertQuery(wsql.InsertQueryParams{Topic: "treatywatch.log", Msgs: message.Messages{message.NewMessage("x", []byte(`{}`))}})
	if !errors.Is(err, ErrLogTopicReadOnly) || !errors.Is(err, events.ErrRefused) || q.Query != "" {
		t.Errorf("InsertQuery = %q, %v; want no query and ErrLogTopicReadOnly", q.Query, err)
	}
}

// TestMigration16KeepsTheNotifiersOffset upgrades a database whose
// notifier read the log through notifiers/pubsub (its offset in
// watermill_offsets, migration 0012): migration 0016 starts the log
// topic's groups where they were, and copies no other topic's.
func TestMigration16KeepsTheNotifiersOffset(t *testing.T) {
	ctx := t.Context()
	pool, err := pgxpool.New(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.number >= 16 {
			break
		}
		if _, err := applyMigration(ctx, pool, "test", m, 15); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO watermill_offsets (topic, consumer_group, position) VALUES
		('treatywatch.log', 'notifier', 42), ('treatywatch.log', 'auditor', 7), ('treatywatch.notices', 'notifier', 3)`); err != nil {
		t.Fatal(err)
	}
	if _, err := migrate(ctx, pool, "test", slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT consumer_group || '=' || position FROM log_offsets ORDER BY consumer_group`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"auditor=7", "notifier=42"}; !slices.Equal(got, want) {
		t.Errorf("log_offsets after migration 0016: %v, want %v", got, want)
	}
}
