package pgtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestNewDatabaseIsFreshAndSeparate checks that each call gives an empty
// database of its own, in UTF8 with the C collation.
func TestNewDatabaseIsFreshAndSeparate(t *testing.T) {
	a, b := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	if a == b {
		t.Fatalf("two calls gave the same database %s", a)
	}
	ctx := t.Context()
	ca := connect(t, ctx, a)
	if _, err := ca.Exec(ctx, `CREATE TABLE t (x int)`); err != nil {
		t.Fatal(err)
	}
	cb := connect(t, ctx, b)
	var n int
	if err := cb.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 't'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the second database sees %d tables named t (%v), want none", n, err)
	}
	var enc, coll string
	if err := cb.QueryRow(ctx, `SELECT pg_encoding_to_char(encoding), datcollate FROM pg_database WHERE datname = current_database()`).Scan(&enc, &coll); err != nil {
		t.Fatal(err)
	}
	if enc != "UTF8" || coll != "C" {
		t.Errorf("database has encoding %s collation %s, want UTF8 and C", enc, coll)
	}
}

func connect(t *testing.T, ctx context.Context, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// schemaOf describes a database's schema: its tables' columns, indexes,
// constraints, triggers, functions and sequences' positions, and the
// treatywatch schema version, one line each, sorted.
func schemaOf(t *testing.T, url string) []string {
	t.Helper()
	ctx := t.Context()
	c := connect(t, ctx, url)
	rows, err := c.Query(ctx, `
SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') || ' ' || is_identity
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL SELECT 'trigger ' || tgrelid::regclass || ' ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
UNION ALL SELECT 'function ' || p.proname || ' ' || md5(p.prosrc) FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
UNION ALL SELECT 'sequence ' || sequencename || ' ' || coalesce(last_value, 0) FROM pg_sequences WHERE schemaname = 'public'
UNION ALL SELECT 'version ' || version FROM treatywatch_schema
ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigratedDatabaseIsWhatOpenMakes checks that a database copied from
// the migrated template is what events/postgres.Open makes of an empty
// one, and that each call gives a database of its own.
func TestMigratedDatabaseIsWhatOpenMakes(t *testing.T) {
	fresh := pgtest.NewDatabase(t)
	s, err := postgres.Open(t.Context(), fresh, postgres.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	a, b := pgtest.NewMigratedDatabase(t), pgtest.NewMigratedDatabase(t)
	if a == b {
		t.Fatalf("two calls gave the same database %s", a)
	}
	want, got := schemaOf(t, fresh), schemaOf(t, a)
	if len(want) < 20 {
		t.Fatalf("the migrated schema has %d lines: %v", len(want), want)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the template's copy differs from a database Open migrated:\ncopy:\n%s\nmigrated:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	ctx := t.Context()
	if _, err := connect(t, ctx, a).Exec(ctx, `INSERT INTO notify_state (key, value) VALUES ('k', 'v')`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := connect(t, ctx, b).QueryRow(ctx, `SELECT count(*) FROM notify_state`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the second copy sees %d rows written in the first (%v), want none", n, err)
	}
	// Opening a copy applies nothing and fails nothing.
	s, err = postgres.Open(ctx, b, postgres.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
}
