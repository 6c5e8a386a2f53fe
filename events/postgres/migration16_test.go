package postgres_test

import (
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
)

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
	if err := postgres.MigrateBefore(ctx, pool, 16); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO watermill_offsets (topic, consumer_group, position) VALUES
		('treatywatch.log', 'notifier', 42), ('treatywatch.log', 'auditor', 7), ('treatywatch.notices', 'notifier', 3)`); err != nil {
		t.Fatal(err)
	}
	if err := postgres.MigrateAll(ctx, pool); err != nil {
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
