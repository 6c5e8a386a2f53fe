package postgres_test

import (
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/postgres"
)

// TestScannerDecodesTheBinaryForm checks that ReadAll's rows arrive in
// the binary form the scanner decodes itself (not through rows.Scan), and
// that both ways give the same envelopes.
func TestScannerDecodesTheBinaryForm(t *testing.T) {
	s, _ := MustOpen(t)
	rec := events.Record{Type: "act.ratification", SchemaVersion: 2, ValidDate: events.MustDate("2024-01-22"),
		Meta:    events.Metadata{Actor: "officer", Reference: "C.N.27.2024", Source: "https://treaties.un.org", CorrelationID: "c", CausationID: "d"},
		Payload: []byte(`{"participant":"Côte d'Ivoire"}`)}
	want, err := s.Append(t.Context(), events.StreamAppend{Stream: "treaty-bbnj", Records: []events.Record{rec, {Type: "t", SchemaVersion: 1, Payload: []byte(`1`)}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, slow := range []bool{false, true} {
		got, binary, err := postgres.ScanFirst(t.Context(), s, 10, slow)
		if err != nil {
			t.Fatal(err)
		}
		if !slow && !binary {
			t.Fatalf("the rows are not all in binary form: the scanner fell back to rows.Scan")
		}
		if len(got) != 2 {
			t.Fatalf("read %d events", len(got))
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.Position != w.Position || g.Stream != w.Stream || g.Version != w.Version || g.Type != w.Type || g.SchemaVersion != w.SchemaVersion ||
				g.ValidDate != w.ValidDate || !g.RecordedAt.Equal(w.RecordedAt) || g.Meta != w.Meta || string(g.Payload) != string(w.Payload) || string(g.Hash) != string(w.Hash) {
				t.Errorf("slow %v: event %d read as %+v, want %+v", slow, i, g, w)
			}
		}
	}
}
