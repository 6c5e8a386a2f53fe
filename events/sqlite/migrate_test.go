package sqlite_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
)

// newestMigration is the number of the last file in migrations/.
func newestMigration(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			n++
		}
	}
	return n
}

func userVersion(t *testing.T, path string) int {
	t.Helper()
	var v int
	if err := MustOpenRaw(t, path).QueryRowContext(t.Context(), "PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMigrations_FreshDatabase(t *testing.T) {
	path := TempPath(t)
	MustOpen(t, path)
	if got, want := userVersion(t, path), newestMigration(t); got != want {
		t.Fatalf("schema version %d, want %d", got, want)
	}
	var mode string
	if err := MustOpenRaw(t, path).QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal mode %q (%v), want wal", mode, err)
	}
}

func TestMigrations_ReopenIsIdempotent(t *testing.T) {
	path := TempPath(t)
	ctx := t.Context()
	s, err := sqlite.Open(ctx, path, sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: Acts(t, 2)})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	schema := func() string {
		var n int
		var names string
		err := MustOpenRaw(t, path).QueryRowContext(ctx, `SELECT count(*), group_concat(name) FROM sqlite_schema`).Scan(&n, &names)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(n, names)
	}
	before := schema()
	for range 2 {
		s := MustOpen(t, path)
		all, err := s.ReadAll(ctx, 0, 10)
		if err != nil || len(all) != 2 {
			t.Fatalf("after reopening: %d events, %v; want 2", len(all), err)
		}
		if err := s.Verify(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if after := schema(); after != before {
		t.Errorf("schema changed on reopen: %s, was %s", after, before)
	}
	if got, want := userVersion(t, path), newestMigration(t); got != want {
		t.Errorf("schema version %d, want %d", got, want)
	}
}

func TestMigrations_ConcurrentOpensOfANewFile(t *testing.T) {
	path := TempPath(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := sqlite.Open(t.Context(), path, sqlite.Config{}, nil)
			if err == nil {
				_, err = s.Append(t.Context(), events.StreamAppend{Stream: fmt.Sprintf("treaty-%d", i), Records: Acts(t, 1)})
				err = errors.Join(err, s.Close())
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("Open: %v", err)
		}
	}
	s := MustOpen(t, path)
	if head, _ := s.Head(t.Context()); head != 4 {
		t.Errorf("head %d, want 4", head)
	}
}

func TestMigrations_RefuseNewerSchema(t *testing.T) {
	path := TempPath(t)
	s, err := sqlite.Open(t.Context(), path, sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	newest := newestMigration(t)
	stored := newest + 5
	if _, err := MustOpenRaw(t, path).ExecContext(t.Context(), fmt.Sprintf("PRAGMA user_version = %d", stored)); err != nil {
		t.Fatal(err)
	}

	s, err = sqlite.Open(t.Context(), path, sqlite.Config{}, nil)
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded on a database from a newer treatywatch")
	}
	if !errors.Is(err, sqlite.ErrSchemaTooNew) {
		t.Errorf("error %v does not wrap ErrSchemaTooNew", err)
	}
	var tn *sqlite.SchemaTooNewError
	if !errors.As(err, &tn) || tn.Version != stored || tn.Max != newest {
		t.Fatalf("error %v, want a *SchemaTooNewError with version %d and max %d", err, stored, newest)
	}
	for _, want := range []string{
		fmt.Sprintf("database schema version %d is newer than this treatywatch understands (max %d)", stored, newest),
		"upgrade treatywatch",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if got := userVersion(t, path); got != stored {
		t.Errorf("the refused database's schema version became %d", got)
	}
}
