package notifiers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/seed"
)

// A digest's forecast line: the Hanoi Convention with four HYPOTHETICAL
// ratifications (of the 40 it needs) gets an estimated range, labelled as
// an estimate, scaled from the seeded treaties in force (the real
// histories of UNCAC, the BBNJ Agreement, the ATT, the TPNW and the Paris
// Agreement); a treaty in force gets none.
func TestDigestHasAForecastLine(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, "2026-11-27")
	if _, err := seed.Load(ctx, e.ledger); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"Viet Nam", "France", "Chile", "Ghana"} { // hypothetical acts
		for _, a := range []struct{ action, date string }{{"signature", "2025-10-25"}, {"ratification", "2026-04-01"}} {
			if _, err := e.ledger.Record(ctx, events.RecordInput{Treaty: seed.HanoiID, Action: a.action, Participant: p, Date: a.date}); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.subscribe(t, events.Subscription{ID: "weekly", Sink: events.SinkConsole, Treaties: []string{seed.HanoiID, "XXVI-9"}, Digest: "@daily"})
	s := e.scheduler(t, &clock{})
	mustRunDue(t, s, time.Now().Add(-48*time.Hour).UTC().Format(time.RFC3339))
	if n := mustRunDue(t, s, time.Now().Add(time.Second).UTC().Format(time.RFC3339)); n != 1 {
		t.Fatalf("ran %d digests", n)
	}
	ds := e.deliveries(t, notifiers.KindDigest)
	if len(ds) != 1 {
		t.Fatalf("%d digests", len(ds))
	}
	d := ds[0].Notice.Digest
	if len(d.Progress) != 2 || d.Progress[0].Treaty != seed.HanoiID || d.Progress[1].Treaty != "XXVI-9" {
		t.Fatalf("progress %+v", d.Progress)
	}
	f := d.Progress[0].Forecast
	if f == nil || f.References != 5 || f.Earliest.After(f.Central) || f.Latest.Before(f.Central) || !f.Earliest.After(events.MustDate("2026-04-01")) {
		t.Fatalf("Hanoi forecast %+v, want a range scaled from the 5 treaties in force", f)
	}
	if d.Progress[1].Forecast != nil {
		t.Errorf("the TPNW is in force; forecast %+v", d.Progress[1].Forecast)
	}
	text := notifiers.RenderText(ds[0].Notice)
	if !strings.Contains(text, "Forecast (an estimate, not a known date): entry into force between ") || !strings.Contains(text, "scaled from 5 comparable treaties") {
		t.Errorf("digest text has no forecast line:\n%s", text)
	}
	if strings.Count(text, "Forecast (an estimate") != 1 {
		t.Errorf("want one forecast line:\n%s", text)
	}
	if want := "did not beat a straight-line extrapolation"; strings.Contains(text, want) == f.BeatsNaive {
		t.Errorf("beats naive %v, but the text says %q: %v\n%s", f.BeatsNaive, want, !f.BeatsNaive, text)
	}
}
