package sqlite

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/mattn/go-sqlite3"

	"github.com/treatywatch/treatywatch/events"
)

func TestIsConflict(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"unique", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintUnique}, true},
		{"primary key", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintPrimaryKey}, true},
		{"wrapped", fmt.Errorf("insert: %w", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintUnique}), true},
		{"trigger", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintTrigger}, false},
		{"not null", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintNotNull}, false},
		{"busy", sqlite3.Error{Code: sqlite3.ErrBusy}, false},
		{"text only", errors.New("UNIQUE constraint failed: events.stream, events.version"), false},
	} {
		if got := isConflict(tc.err); got != tc.want {
			t.Errorf("%s: isConflict = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestIsConflict_FromSQLite checks the codes SQLite really returns when a
// (stream, version) or a position is taken.
func TestIsConflict_FromSQLite(t *testing.T) {
	s, err := Open(t.Context(), t.TempDir()+"/events.db", Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(t.Context(), events.StreamAppend{Stream: "treaty-bbnj", Records: []events.Record{{Type: "t", SchemaVersion: 1, Payload: []byte(`{}`)}}}); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`INSERT INTO events (position, stream, version, type, schema_version, recorded_at, payload, hash) VALUES (2, 'treaty-bbnj', 1, 't', 1, 0, '{}', x'00')`,
		`INSERT INTO events (position, stream, version, type, schema_version, recorded_at, payload, hash) VALUES (1, 'treaty-bbnj', 2, 't', 1, 0, '{}', x'00')`,
	} {
		_, err := s.write.ExecContext(t.Context(), stmt)
		if !isConflict(err) {
			t.Errorf("%s: %v is not recognised as a conflict", stmt, err)
		}
	}
}

func TestLoadMigrations(t *testing.T) {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatalf("the embedded migrations: %v", err)
	}
	if ms[0].name != "0001_events.sql" {
		t.Errorf("first migration %s", ms[0].name)
	}
	for _, tc := range []struct {
		name  string
		files []string
		want  string
	}{
		{"gap", []string{"0001_a.sql", "0003_c.sql"}, "want number 0002"},
		{"duplicate", []string{"0001_a.sql", "0001_b.sql"}, "want number 0002"},
		{"bad name", []string{"1_a.sql"}, "want a name like"},
		{"not from one", []string{"0002_b.sql"}, "want number 0001"},
		{"none", []string{"README.md"}, "no migrations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tc.files {
				fsys["migrations/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
			}
			_, err := loadMigrations(fsys)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("loadMigrations: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestDates(t *testing.T) {
	for d := events.MustDate("1899-12-25"); d.Before(events.MustDate("1901-03-05")); d = d.AddDays(1) {
		if got := string(appendDate(nil, d)); got != d.String() {
			t.Fatalf("appendDate(%v) = %s", d, got)
		}
		if got, err := parseDate(d.String()); err != nil || got != d {
			t.Fatalf("parseDate(%s) = %v, %v", d, got, err)
		}
	}
	for _, s := range []string{"2025-02-30", "2025-13-01", "2025-00-10", "0000-01-01", "2025-1-01", "20250101", "2025-01-0x", ""} {
		if _, err := parseDate(s); !errors.Is(err, events.ErrInvalid) {
			t.Errorf("parseDate(%q): %v, want an error wrapping events.ErrInvalid", s, err)
		}
	}
	var c dateCache
	for _, s := range []string{"2024-02-29", "2024-02-29", "2023-09-20", "2024-02-29"} {
		if got, err := c.parse(s); err != nil || got.String() != s {
			t.Errorf("dateCache.parse(%s) = %v, %v", s, got, err)
		}
	}
}

func TestArena(t *testing.T) {
	var a arena
	x := a.copy([]byte("abc"))
	y := a.copy([]byte("def"))
	x = append(x, 'Z') // must not write over y
	if string(y) != "def" || string(x) != "abcZ" {
		t.Fatalf("x = %q, y = %q", x, y)
	}
	if a.copy(nil) != nil {
		t.Error("copy(nil) is not nil")
	}
	big := make([]byte, arenaChunk)
	if got := a.copy(big); len(got) != arenaChunk {
		t.Errorf("copy of a large slice has length %d", len(got))
	}
}
