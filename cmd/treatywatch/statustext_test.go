package main

import (
	"bytes"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/events/treatyfile"
	"github.com/treatywatch/treatywatch/projections"
	"github.com/treatywatch/treatywatch/seed"
)

var updateStatusText = flag.Bool("update-statustext", false, "rewrite testdata/statustext/*.txt")

// statusLedger is a ledger on a real SQLite file holding the shipped
// Hanoi Convention with its 69 real signatures, the shipped Paris
// Agreement, and two hypothetical instruments attached to the Hanoi
// Convention (testdata/statustext/*.yaml). Every deposit below is an
// illustrative scenario on the real treaties' rules (none of the Hanoi
// Convention is verified), except the United States' acts under the
// Paris Agreement: signature 22 April 2016, acceptance 3 September 2016,
// withdrawal notified 4 November 2019 (effective 4 November 2020),
// acceptance again 20 January 2021, withdrawal notified 27 January 2025
// (UNTC XXVII-7-d).
func statusLedger(t *testing.T) (*events.Ledger, *sqlite.Store) {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ledger.db"), sqlite.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	today := time.Date(2027, time.August, 1, 12, 0, 0, 0, time.UTC)
	l, err := events.NewLedger(st, events.LedgerConfig{Now: func() time.Time { return today }})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := l.Directory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []struct {
		dir  string
		name string
	}{
		{"", "treaties/xviii-16-hanoi.yaml"},
		{"", "treaties/xxvii-7-d-paris.yaml"},
		{"testdata/statustext", "hanoi-protocols.yaml"},
		{"testdata/statustext", "hanoi-amendment.yaml"},
	} {
		var def events.Definition
		if src.dir == "" {
			def, err = treatyfile.ParseFS(seed.Files(), src.name, dir)
		} else {
			def, err = treatyfile.ParseFile(filepath.Join(src.dir, src.name), dir)
		}
		if err != nil {
			t.Fatalf("%s: %v", src.name, err)
		}
		if _, err := l.AddTreaty(ctx, def, events.Metadata{Actor: "test"}); err != nil {
			t.Fatalf("add %s: %v", def.ID, err)
		}
	}
	f, err := seed.Files().Open(seed.HanoiCSV)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var signatures, ratifications []events.ImportRow
	for i, r := range records[1:] {
		signatures = append(signatures, events.ImportRow{Line: i + 2, Participant: r[0], Action: r[1], Date: r[2], Source: r[3]})
		if r[0] == "European Union" || len(ratifications) == 40 {
			continue
		}
		// Illustrative: forty signatories ratify in February and
		// March 2027, three a day, the fortieth on 15 March.
		date := events.MustDate("2027-02-01").AddDays(len(ratifications) / 3)
		if len(ratifications) == 39 {
			date = events.MustDate("2027-03-15")
		}
		ratifications = append(ratifications, events.ImportRow{Line: i + 2, Participant: r[0], Action: "ratification", Date: date.String(),
			Reference: fmt.Sprintf("C.N.%d.2027.TREATIES-XVIII.16", len(ratifications)+1)})
	}
	mustImport(t, l, "XVIII-16", signatures)
	mustImport(t, l, "XVIII-16", ratifications)
	last := ratifications[len(ratifications)-1].Participant
	mustImport(t, l, "XVIII-16", []events.ImportRow{
		{Line: 1, Participant: "European Union", Action: "approval", Date: "2026-08-15"}, // not additional: not counted
		{Line: 2, Participant: "France", Action: "declaration", Date: "2027-02-02"},
		{Line: 3, Participant: "Japan", Action: "reservation", Date: "2027-02-03"},
		{Line: 4, Participant: "Austria", Action: "objection", Subject: "Japan", Date: "2027-04-01"},
		{Line: 5, Participant: "Chile", Action: "parliamentary-approval", Date: "2026-05-01"},
		{Line: 6, Participant: "Kenya", Action: "accession", Date: "2027-05-20"}, // after the threshold: in force 30 days later
	})
	first := ratifications[0].Participant
	mustImport(t, l, "XVIII-16-a", []events.ImportRow{
		// Both before the Convention's threshold: the protocol waits for it.
		{Line: 1, Participant: first, Action: "accession", Date: "2027-03-01"},
		{Line: 2, Participant: ratifications[1].Participant, Action: "accession", Date: "2027-03-10"},
		{Line: 3, Participant: last, Action: "accession", Date: "2027-03-20"},
	})
	mustImport(t, l, "XVIII-16-b", []events.ImportRow{{Line: 1, Participant: first, Action: "acceptance", Date: "2027-04-01"}})
	us := "United States of America"
	mustImport(t, l, "XXVII-7-d", []events.ImportRow{
		{Line: 1, Participant: us, Action: "signature", Date: "2016-04-22"},
		{Line: 2, Participant: us, Action: "acceptance", Date: "2016-09-03"},
		{Line: 3, Participant: us, Action: "denunciation", Date: "2019-11-04"},
	})
	mustImport(t, l, "XXVII-7-d", []events.ImportRow{
		{Line: 1, Participant: us, Action: "acceptance", Date: "2021-01-20"},
		{Line: 2, Participant: us, Action: "denunciation", Date: "2025-01-27"},
	})
	return l, st
}

func mustImport(t *testing.T, l *events.Ledger, treaty string, rows []events.ImportRow) {
	t.Helper()
	if _, err := l.Import(t.Context(), treaty, rows, events.ImportOptions{Meta: events.Metadata{Actor: "test"}}); err != nil {
		t.Fatalf("import into %s: %v", treaty, err)
	}
}

// TestStatusText renders statuses that take every branch of the text
// (pending, in force in N days, from today, N days ago, waiting for the
// parent, an unknown threshold, withdrawals and earlier tenures, an
// instrument not counted, unofficial steps, a known-at line) and compares
// them with testdata/statustext/<name>.txt.
func TestStatusText(t *testing.T) {
	l, st := statusLedger(t)
	ctx := t.Context()
	dir, err := l.Directory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, treaty, asOf string
		knownAt            time.Time
	}{
		{"hanoi-pending", "XVIII-16", "2027-03-14", time.Time{}},
		{"hanoi-in-12-days", "XVIII-16", "2027-06-01", time.Time{}},
		{"hanoi-from-today", "XVIII-16", "2027-06-13", time.Time{}},
		{"hanoi-in-force", "XVIII-16", "2027-08-01", time.Time{}},
		{"hanoi-known-at", "XVIII-16", "2027-08-01", time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"protocol-waiting-for-parent", "XVIII-16-a", "2027-03-12", time.Time{}},
		{"protocol-not-before-parent", "XVIII-16-a", "2027-04-01", time.Time{}},
		{"protocol-in-force", "XVIII-16-a", "2027-08-01", time.Time{}},
		{"amendment-threshold-unknown", "XVIII-16-b", "2027-08-01", time.Time{}},
		{"paris-withdrawn-again", "XXVII-7-d", "2027-08-01", time.Time{}},
		{"paris-first-withdrawal", "XXVII-7-d", "2020-12-01", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := projections.StatusFromLog(ctx, st, l.Registry(), dir, tc.treaty, events.MustDate(tc.asOf), tc.knownAt)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := writeStatus(&buf, s); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "statustext", tc.name+".txt")
			if *updateStatusText {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -run TestStatusText -update-statustext writes it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, buf.Bytes(), want)
			}
		})
	}
}

// TestStatusTextAlignsColumns: every column of the participant table
// starts where its header does, whatever the width of the names in it.
func TestStatusTextAlignsColumns(t *testing.T) {
	l, st := statusLedger(t)
	dir, err := l.Directory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s, err := projections.StatusFromLog(t.Context(), st, l.Registry(), dir, "XVIII-16", events.MustDate("2027-08-01"), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeStatus(&buf, s); err != nil {
		t.Fatal(err)
	}
	var header string
	rows := map[string]string{}
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(line, "Participant ") {
			header = line
		}
		for _, who := range []string{"Kenya", "Côte d'Ivoire", "Democratic People's Republic of Korea"} {
			if strings.HasPrefix(line, who+" ") {
				rows[who] = line
			}
		}
	}
	col := len([]rune(header[:strings.Index(header, "Entry into force")]))
	for who, want := range map[string]string{"Kenya": "2027-06-19", "Côte d'Ivoire": "2027-06-13", "Democratic People's Republic of Korea": "2027-06-13"} {
		r := []rune(rows[who])
		if len(r) < col || !strings.HasPrefix(string(r[col:]), want) {
			t.Errorf("%s: column %d of %q is not %q:\n%s", who, col, rows[who], want, header)
		}
	}
}

type failingStatusWriter struct{}

var errStatusDiskFull = errors.New("disk full")

func (failingStatusWriter) Write([]byte) (int, error) { return 0, errStatusDiskFull }

// TestStatusTextWriteError: the first write error comes back, wrapped.
func TestStatusTextWriteError(t *testing.T) {
	l, st := statusLedger(t)
	dir, err := l.Directory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s, err := projections.StatusFromLog(t.Context(), st, l.Registry(), dir, "XVIII-16", events.MustDate("2027-08-01"), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := writeStatus(failingStatusWriter{}, s); !errors.Is(err, errStatusDiskFull) {
		t.Errorf("error = %v, want one wrapping %v", err, errStatusDiskFull)
	}
}

// writeStatus is the function under test.
func writeStatus(w io.Writer, s projections.Status) error { return writeStatusText(w, s) }
