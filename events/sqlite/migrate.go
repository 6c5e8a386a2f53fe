package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
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
// they are numbered 1, 2, 3... without gaps or duplicates.
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
		if want := len(ms) + 1; n != want {
			return nil, fmt.Errorf("migration %s: want number %04d (migrations are numbered from 0001 without gaps or duplicates)", name, want)
		}
		b, err := fs.ReadFile(fsys, path.Join("migrations", name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		ms = append(ms, migration{number: n, name: name, sql: string(b)})
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations embedded")
	}
	return ms, nil
}

// migrateRetrying is migrate, tried again while it fails with SQLITE_BUSY
// for up to busyTimeout. Turning a new file to WAL mode (the first
// connection of each process does it) needs an exclusive lock, and SQLite
// refuses it at once, without waiting, when waiting could deadlock: two
// processes creating the same file at the same time meet that.
func migrateRetrying(ctx context.Context, db *sql.DB, file string, log *slog.Logger, busyTimeout time.Duration) (int, error) {
	giveUp := time.NewTimer(busyTimeout)
	defer giveUp.Stop()
	wait := time.Millisecond
	for {
		version, err := migrate(ctx, db, file, log)
		if err == nil || !isBusy(err) {
			return version, err
		}
		select {
		case <-giveUp.C:
			return version, err
		default:
		}
		log.Debug("database busy while migrating; retrying", slog.String("path", file), slog.Duration("wait", wait))
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY or SQLITE_LOCKED.
func isBusy(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked)
}

// migrate brings the database on db (the write pool) to the newest schema
// and returns its schema version, or refuses a database newer than the
// newest migration. Migrations are numbered from 1 without gaps, so the
// ones to apply are ms[version:].
func migrate(ctx context.Context, db *sql.DB, file string, log *slog.Logger) (int, error) {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return 0, err
	}
	newest := ms[len(ms)-1].number
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if version > newest {
		return 0, &SchemaTooNewError{Path: file, Version: version, Max: newest}
	}
	for _, m := range ms[version:] {
		applied, err := applyMigration(ctx, db, file, m, newest)
		if err != nil {
			return 0, err
		}
		if applied {
			log.Info("applied migration", slog.String("path", file), slog.String("migration", m.name))
		}
	}
	return newest, nil
}

// applyMigration applies m in its own immediate transaction unless the
// schema version, read inside that transaction, says it is applied.
func applyMigration(ctx context.Context, db *sql.DB, file string, m migration, newest int) (applied bool, err error) {
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: _txlock=immediate
	if err != nil {
		return false, fmt.Errorf("migration %s: begin: %w", m.name, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return false, fmt.Errorf("read schema version: %w", err)
	}
	if version > newest {
		return false, &SchemaTooNewError{Path: file, Version: version, Max: newest}
	}
	if version >= m.number {
		return false, tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	// PRAGMA takes no parameters; m.number is an int we parsed.
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(m.number)); err != nil {
		return false, fmt.Errorf("migration %s: set schema version: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %s: commit: %w", m.name, err)
	}
	return true, nil
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
