package sqlite_test

import (
	"testing"

	"github.com/treatywatch/treatywatch/events"
)

// TestImport_VerifyPassesOnTheCopy: a log imported from another store is
// what Append would have written, column by column: Verify, which reads
// every column as stored, finds nothing, and ends at the same head.
func TestImport_VerifyPassesOnTheCopy(t *testing.T) {
	src := MustOpen(t, TempPath(t))
	reg := events.NewRegistry()
	for i, p := range []string{"Palau", "Chile", "Belize"} {
		d := events.MustDate("2024-01-22").AddDays(i)
		r, err := reg.NewRecord(events.Act{Action: events.Ratification, Participant: p, Date: d}, d, events.Metadata{Actor: "test", Source: "https://treaties.un.org"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Append(t.Context(), events.StreamAppend{Stream: bbnj, ExpectedVersion: int64(i), Records: []events.Record{r}}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := src.ReadAll(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	dst := MustOpen(t, TempPath(t))
	if _, err := dst.Import(t.Context(), func(yield func(events.Envelope, error) bool) {
		for _, e := range all {
			if !yield(e, nil) {
				return
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	a, err := src.VerifyReport(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := dst.VerifyReport(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Breaks) != 0 || b.Head != a.Head || string(b.Hash) != string(a.Hash) {
		t.Errorf("verify on the copy: %+v; on the original: head %d %x", b, a.Head, a.Hash)
	}
}
