package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one file of migrations/: its number is the schema version
// the database has once it is applied.
type migration struct {
	number int
	name   string
	sql    string
}

// loadMigrations reads the embedded migrations in order and checks that
// they are numbered 1, 2, 3... without duplicates. Unlike SQLite's, the
// numbers may have gaps: 0001-0009 are the event log's, 0010 and up the
// other ports' (so that both can be written at once).
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries { // fs.ReadDir sorts by name
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		n, err := strconv.Atoi(num)
		if !ok || len(num) != 4 || err != nil || n < 1 {
			return nil, fmt.Errorf("migration %s: want a name like 0001_events.sql", name)
		}
		if len(ms) > 0 && n <= ms[len(ms)-1].number {
			return nil, fmt.Errorf("migration %s: number %04d is not above the previous one's (%s)", name, n, ms[len(ms)-1].name)
		}
		b, err := fs.ReadFile(fsys, path.Join("migrations", name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		ms = append(ms, migration{number: n, name: name, sql: string(b)})
	}
	if len(ms) == 0 {
		return nil, errors.New("no migrations embedded")
	}
	return ms, nil
}

// SchemaVersion returns the highest schema version this package
// understands: the number of its last embedded migration. Open migrates a
// database to it and refuses one with a newer version (ErrSchemaTooNew).
func SchemaVersion() (int, error) {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return 0, err
	}
	return ms[len(ms)-1].number, nil
}

// sqlSchemaTable keeps the schema version: one row, the number of the
// last migration applied (PostgreSQL has no PRAGMA user_version).
const sqlSchemaTable = `CREATE TABLE IF NOT EXISTS treatywatch_schema (
	one     boolean PRIMARY KEY DEFAULT true CHECK (one),
	version integer NOT NULL
)`

// readVersion returns the schema version, 0 for a database without
// treatywatch's tables. It needs no privilege beyond SELECT, so that the
// service role opens a migrated database.
func readVersion(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('treatywatch_schema') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var version int
	err := q.QueryRow(ctx, `SELECT version FROM treatywatch_schema`).Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return version, nil
}

// migrate brings the database to the newest schema and returns its schema
// version, or refuses a database newer than the newest migration. Each
// migration runs in its own transaction, under the migration lock, with
// the version update: PostgreSQL's DDL is transactional, so a migration
// is applied whole or not at all, and two processes opening the database
// at once apply it once.
func migrate(ctx context.Context, pool *pgxpool.Pool, where string, log *slog.Logger) (int, error) {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return 0, err
	}
	newest := ms[len(ms)-1].number
	version, err := readVersion(ctx, pool)
	if err != nil {
		return 0, err
	}
	if version > newest {
		return 0, &SchemaTooNewError{Database: where, Version: version, Max: newest}
	}
	for _, m := range ms {
		if m.number <= version {
			continue
		}
		applied, err := applyMigration(ctx, pool, where, m, newest)
		if err != nil {
			return 0, err
		}
		if applied {
			log.Info("applied migration", slog.String("database", where), slog.String("migration", m.name))
		}
	}
	return newest, nil
}

// applyMigration applies m in its own transaction unless the schema
// version, read under the migration lock, says it is applied.
func applyMigration(ctx context.Context, pool *pgxpool.Pool, where string, m migration, newest int) (applied bool, err error) {
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockMigrate); err != nil {
			return fmt.Errorf("migration %s: take the migration lock: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, sqlSchemaTable); err != nil {
			return fmt.Errorf("migration %s: create the schema version table: %w", m.name, err)
		}
		version, err := readVersion(ctx, tx)
		if err != nil {
			return err
		}
		if version > newest {
			return &SchemaTooNewError{Database: where, Version: version, Max: newest}
		}
		if version >= m.number {
			return nil
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO treatywatch_schema (version) VALUES ($1)
ON CONFLICT (one) DO UPDATE SET version = excluded.version`, m.number); err != nil {
			return fmt.Errorf("migration %s: set schema version: %w", m.name, err)
		}
		applied = true
		return nil
	})
	return applied, err
}
