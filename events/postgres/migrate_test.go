package postgres_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
)

func TestOpenSetsTheSchemaVersion(t *testing.T) {
	url := MustURL(t)
	MustOpenURL(t, url, postgres.Config{}) // migrates the empty database
	want, err := postgres.SchemaVersion()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	if err := MustConnect(t, url).QueryRow(t.Context(), `SELECT version FROM treatywatch_schema`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("schema version %d, want %d", got, want)
	}
	MustOpenURL(t, url, postgres.Config{}) // reopening applies nothing and fails nothing
}

// TestOpenConcurrentlyMigratesOnce opens a new database from several
// goroutines at once: the migration lock lets one apply each migration.
func TestOpenConcurrentlyMigratesOnce(t *testing.T) {
	url := MustURL(t)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), url, postgres.Config{}, nil)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
	s := MustOpenURL(t, url, postgres.Config{})
	MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: numbered(1)})
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	_, url := MustOpen(t)
	if _, err := MustConnect(t, url).Exec(t.Context(), `UPDATE treatywatch_schema SET version = 9999`); err != nil {
		t.Fatal(err)
	}
	_, err := postgres.Open(t.Context(), url, postgres.Config{}, nil)
	var tooNew *postgres.SchemaTooNewError
	if !errors.As(err, &tooNew) || !errors.Is(err, postgres.ErrSchemaTooNew) || tooNew.Version != 9999 {
		t.Fatalf("Open = %v, want a *SchemaTooNewError for version 9999", err)
	}
}

// TestOpenErrorsHideThePassword checks that a password in the URL does
// not appear in Open's errors, which get logged.
func TestOpenErrorsHideThePassword(t *testing.T) {
	for _, url := range []string{
		"postgres://treatywatch:s3cr3t-pw@127.0.0.1:1/treatywatch?connect_timeout=1", // nothing listens on port 1
		"postgres://treatywatch:s3cr3t-pw@127.0.0.1:notaport/treatywatch",
	} {
		_, err := postgres.Open(t.Context(), url, postgres.Config{}, nil)
		if err == nil {
			t.Fatalf("Open(%q) succeeded", url)
		}
		if strings.Contains(err.Error(), "s3cr3t-pw") {
			t.Errorf("Open's error shows the password: %v", err)
		}
	}
	_, err := postgres.Open(t.Context(), "/var/lib/treatywatch.db", postgres.Config{}, nil)
	if !errors.Is(err, events.ErrInvalid) {
		t.Errorf("Open of a path = %v, want ErrInvalid", err)
	}
}

// TestAppendRefusesTextPostgreSQLCannotStore checks that a NUL byte (which
// PostgreSQL's text refuses) is an *events.InvalidError and writes
// nothing, on both of Append's paths.
func TestAppendRefusesTextPostgreSQLCannotStore(t *testing.T) {
	s, _ := MustOpen(t)
	MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: numbered(1)})
	bad := numbered(1)
	bad[0].Meta.Actor = "nul\x00byte"
	for _, appends := range [][]events.StreamAppend{
		{{Stream: bbnj, ExpectedVersion: 1, Records: bad}},
		{{Stream: paris, Records: append(numbered(2), bad...)}},
		{{Stream: "treaty-nul\x00", Records: numbered(1)}},
	} {
		_, err := s.Append(t.Context(), appends...)
		if !errors.Is(err, events.ErrInvalid) {
			t.Errorf("Append with a NUL byte = %v, want ErrInvalid", err)
		}
	}
	if h, err := s.Head(t.Context()); err != nil || h != 1 {
		t.Fatalf("Head = %d, %v; want 1: nothing may be written", h, err)
	}
	MustAppend(t, s, events.StreamAppend{Stream: bbnj, ExpectedVersion: 1, Records: numbered(1)})
}
