package postgres_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
)

// tamper runs stmt on the events table with its triggers off, as someone
// with the owner's rights could.
func tamper(t *testing.T, url, stmt string) {
	t.Helper()
	conn := MustConnect(t, url)
	for _, s := range []string{`ALTER TABLE events DISABLE TRIGGER USER`, stmt, `ALTER TABLE events ENABLE TRIGGER USER`} {
		if _, err := conn.Exec(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestVerify(t *testing.T) {
	cases := []struct {
		name   string
		stmt   string
		at     int64
		reason string
		breaks int
	}{
		{"payload changed", `UPDATE events SET payload = '{"action":"accession"}' WHERE position = 3`, 3, "stored hash does not match", 1},
		{"hash changed", `UPDATE events SET hash = sha256('x') WHERE position = 2`, 2, "stored hash does not match", 1},
		{"row deleted", `DELETE FROM events WHERE position = 4`, 4, "is missing", 2}, // and the stream's version 5 does not follow 3
		{"actor emptied", `UPDATE events SET actor = '' WHERE position = 1`, 1, "empty text", 1},
		{"payload spaced", `UPDATE events SET payload = replace(payload, ':', ': ') WHERE position = 5`, 5, "compact form", 1},
		{"date reformatted", `UPDATE events SET valid_date = '2024-1-22' WHERE position = 2`, 2, "valid_date", 1},
		{"version changed", `UPDATE events SET version = 9 WHERE position = 5`, 5, "does not follow", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, url := MustOpen(t)
			MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: Acts(t, 6)})
			if err := s.Verify(t.Context()); err != nil {
				t.Fatalf("Verify of an intact log: %v", err)
			}
			tamper(t, url, tc.stmt)
			rep, err := s.VerifyReport(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Breaks) == 0 {
				t.Fatalf("no break found after %s", tc.stmt)
			}
			b := rep.Breaks[0]
			if b.Position != tc.at || !strings.Contains(b.Reason, tc.reason) {
				t.Errorf("first break %+v, want position %d and %q", b, tc.at, tc.reason)
			}
			if len(rep.Breaks) != tc.breaks {
				t.Errorf("breaks %+v, want %d", rep.Breaks, tc.breaks)
			}
			var te *events.TamperError
			if err := s.Verify(t.Context()); !errors.As(err, &te) || !errors.Is(err, events.ErrTampered) {
				t.Errorf("Verify = %v, want a *events.TamperError", err)
			}
		})
	}
}

// TestVerifyKeptHead checks that a tail removed after a verification is
// reported against the head kept from it.
func TestVerifyKeptHead(t *testing.T) {
	s, url := MustOpen(t)
	MustAppend(t, s, events.StreamAppend{Stream: bbnj, Records: Acts(t, 5)})
	rep, err := s.VerifyReport(t.Context(), nil)
	if err != nil || len(rep.Breaks) != 0 || rep.Head != 5 || len(rep.Hash) != 32 {
		t.Fatalf("VerifyReport = %+v, %v", rep, err)
	}
	tamper(t, url, `DELETE FROM events WHERE position >= 4`)
	rep2, err := s.VerifyReport(t.Context(), &postgres.KeptHead{Position: rep.Head, Hash: rep.Hash})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep2.Breaks) != 1 || rep2.Breaks[0].Position != 4 || !strings.Contains(rep2.Breaks[0].Reason, "tail was removed") {
		t.Fatalf("breaks %+v, want the removed tail at 4", rep2.Breaks)
	}
}
