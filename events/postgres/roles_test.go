package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
)

// MustServiceRole creates a login role with the service's rights on the
// database at url (migrated by a store opened as its owner) and returns
// the URL to connect as it. The role is dropped when the test ends.
func MustServiceRole(tb testing.TB, owner *postgres.Store, url string) string {
	tb.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	role := "tw_service_" + hex.EncodeToString(b[:])
	admin := MustConnect(tb, pgtest.AdminURL(tb))
	if _, err := admin.Exec(tb.Context(), `CREATE ROLE `+pgx.Identifier{role}.Sanitize()+` LOGIN`); err != nil {
		tb.Fatalf("create role: %v", err)
	}
	tb.Cleanup(func() {
		ctx := context.WithoutCancel(tb.Context())
		if c, err := pgx.Connect(ctx, url); err == nil {
			_, _ = c.Exec(ctx, `DROP OWNED BY `+pgx.Identifier{role}.Sanitize())
			_ = c.Close(ctx)
		}
		if c, err := pgx.Connect(ctx, pgtest.AdminURL(tb)); err == nil {
			_, _ = c.Exec(ctx, `DROP ROLE IF EXISTS `+pgx.Identifier{role}.Sanitize())
			_ = c.Close(ctx)
		}
	})
	if err := owner.GrantService(tb.Context(), role); err != nil {
		tb.Fatalf("GrantService: %v", err)
	}
	return pgtest.WithUser(tb, url, role, "")
}

// sqlState returns the SQLSTATE of err, "" if it is not PostgreSQL's.
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// TestServiceRoleMayAppendButNotChange opens the store as the service
// role and checks that it appends and reads, and that UPDATE, DELETE,
// TRUNCATE and disabling the triggers are refused to it, leaving the log
// as it was.
func TestServiceRoleMayAppendButNotChange(t *testing.T) {
	owner, url := MustOpen(t)
	MustAppend(t, owner, events.StreamAppend{Stream: bbnj, Records: Acts(t, 2)})
	serviceURL := MustServiceRole(t, owner, url)

	svc := MustOpenURL(t, serviceURL, postgres.Config{})
	MustAppend(t, svc, events.StreamAppend{Stream: bbnj, ExpectedVersion: 2, Records: Acts(t, 1)})
	MustAppend(t, svc, events.StreamAppend{Stream: paris, Records: Acts(t, 80)}) // COPY
	if err := svc.Verify(t.Context()); err != nil {
		t.Fatalf("Verify as the service role: %v", err)
	}

	conn := MustConnect(t, serviceURL)
	for _, stmt := range []string{
		`UPDATE events SET payload = '{}' WHERE position = 1`,
		`DELETE FROM events WHERE position = 1`,
		`TRUNCATE events`,
		`ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete`,
		`DROP TRIGGER events_no_truncate ON events`,
		`UPDATE treatywatch_schema SET version = 999`,
	} {
		_, err := conn.Exec(t.Context(), stmt)
		if code := sqlState(err); code != "42501" {
			t.Errorf("%s as the service role: %v (SQLSTATE %q), want permission denied (42501)", stmt, err, code)
		}
	}
	if h, err := svc.Head(t.Context()); err != nil || h != 83 {
		t.Fatalf("Head = %d, %v; want 83", h, err)
	}
	if err := svc.Verify(t.Context()); err != nil {
		t.Fatalf("Verify after the refused changes: %v", err)
	}
}

// TestTriggersRefuseChangesToEveryone checks that the events table's
// triggers refuse UPDATE, DELETE and TRUNCATE to a superuser too.
func TestTriggersRefuseChangesToEveryone(t *testing.T) {
	s, url := MustOpen(t)
	MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: Acts(t, 3)})
	conn := MustConnect(t, url) // a superuser
	for _, stmt := range []string{
		`UPDATE events SET payload = '{}' WHERE position = 2`,
		`DELETE FROM events WHERE position = 3`,
		`TRUNCATE events`,
	} {
		_, err := conn.Exec(t.Context(), stmt)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" || pe.Message == "" || pe.Where == "" {
			t.Errorf("%s as a superuser: %v, want the trigger's refusal", stmt, err)
		}
	}
	if h, err := s.Head(t.Context()); err != nil || h != 3 {
		t.Fatalf("Head = %d, %v; want 3", h, err)
	}
	if err := s.Verify(t.Context()); err != nil {
		t.Fatal(err)
	}
}
