package untc_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/events/treatyfile"
)

// today is the tests' "today": after every date of the fixtures.
func today() time.Time { return time.Date(2026, time.November, 27, 9, 0, 0, 0, time.UTC) }

// ledger is a real SQLite ledger in a temporary folder.
type ledger struct {
	*events.Ledger
	Store *sqlite.Store
}

// MustLedger opens a new ledger and registers the treaty definitions
// given as paths (relative to this package).
func MustLedger(tb testing.TB, definitions ...string) *ledger {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "ledger.db"), sqlite.Config{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	l, err := events.NewLedger(st, events.LedgerConfig{Now: today})
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := l.Directory(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	for _, path := range definitions {
		def, err := treatyfile.ParseFile(path, dir)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := l.AddTreaty(ctx, def, events.Metadata{Actor: "test"}); err != nil {
			tb.Fatal(err)
		}
	}
	return &ledger{Ledger: l, Store: st}
}

// Paths of the definitions the tests register: two shipped with the
// seed, one of testdata.
const (
	parisYAML  = "../../../seed/treaties/xxvii-7-d-paris.yaml"
	attYAML    = "../../../seed/treaties/xxvi-8-att.yaml"
	kigaliYAML = "testdata/xxvii-2-f-kigali.yaml"
)

// head is the ledger's last position.
func (l *ledger) head(tb testing.TB) int64 {
	tb.Helper()
	h, err := l.Store.Head(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// stream returns a treaty's acts as "participant action date source".
func (l *ledger) acts(tb testing.TB, treaty string) []string {
	tb.Helper()
	evs, err := l.Store.ReadStream(context.Background(), events.TreatyStream(treaty))
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		p, err := l.Registry().Decode(e)
		if err != nil {
			tb.Fatal(err)
		}
		if a, ok := p.(*events.Act); ok {
			out = append(out, a.Participant+" "+string(a.Action)+" "+a.Date.String()+" "+e.Meta.Source)
		}
	}
	return out
}

// record records one act, failing the test if it is refused.
func (l *ledger) record(tb testing.TB, treaty, action, participant, date string) *events.Envelope {
	tb.Helper()
	e, err := l.Record(context.Background(), events.RecordInput{Treaty: treaty, Action: action, Participant: participant, Date: date, Meta: events.Metadata{Actor: "officer"}})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}
