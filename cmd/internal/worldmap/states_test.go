package worldmap_test

import (
	"context"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/worldmap"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/treatyfile"
	"github.com/treatywatch/treatywatch/projections"
)

// smallTreaty enters into force 30 days after the second ratification;
// a denunciation takes effect a year after its notification.
const smallTreaty = `id: TEST-2
title: Treaty of Two
adopted: 2020-01-01
signature: {opens: 2020-01-01}
requires_signature: true
entry_into_force:
  instruments: 2
  counts: [ratification, accession]
  delay: 30 days
  later_parties: 30 days
withdrawal: {takes_effect: 1 year}
clause: It enters into force on the thirtieth day after the second instrument.
`

// TestEveryStateFromARealLedger records each kind of standing in a real
// ledger and checks each participant's colour on the map: Austria
// ratified and withdrew, France ratified (the treaty is in force for it),
// Germany acceded days before the map's date (in force for it later),
// Japan only signed.
func TestEveryStateFromARealLedger(t *testing.T) {
	l := MustLedger(t)
	ctx := context.Background()
	dir, err := l.Directory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	def, err := treatyfile.Parse([]byte(smallTreaty), nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.AddTreaty(ctx, def, events.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct{ action, who, date string }{
		{"signature", "Austria", "2020-02-01"}, {"ratification", "Austria", "2020-03-01"},
		{"signature", "France", "2020-02-01"}, {"ratification", "France", "2020-04-01"},
		{"denunciation", "Austria", "2021-01-01"},
		{"signature", "Japan", "2020-06-01"},
		{"accession", "Germany", "2025-01-01"},
	} {
		if _, err := l.Record(ctx, events.RecordInput{Treaty: "TEST-2", Action: a.action, Participant: a.who, Date: a.date, Meta: events.Metadata{Actor: "test"}}); err != nil {
			t.Fatalf("%s by %s: %v", a.action, a.who, err)
		}
	}
	h, err := l.History(ctx, "TEST-2", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	st := projections.Compute(h, dir, events.MustDate("2025-01-10"), nil)
	m := worldmap.FromStatus("Treaty of Two", st, dir)
	got := map[string]worldmap.Participant{}
	for _, p := range m.Participants {
		got[p.Name] = p
	}
	for name, want := range map[string]struct {
		state  worldmap.State
		detail string
	}{
		"Austria": {worldmap.Withdrawn, "withdrawn: its withdrawal took effect 1 Jan 2022"},
		"France":  {worldmap.InForce, "in force since 1 May 2020"},
		"Germany": {worldmap.Party, "party, not yet in force (accession 1 Jan 2025; in force for it from 31 Jan 2025)"},
		"Japan":   {worldmap.Signed, "signed 1 Jun 2020"},
		"India":   {worldmap.NoAct, ""},
	} {
		if p := got[name]; p.State != want.state || p.Detail != want.detail {
			t.Errorf("%s = %q %q; want %q %q", name, p.State, p.Detail, want.state, want.detail)
		}
	}
	svg, err := MustRenderer(t).SVG(m)
	if err != nil {
		t.Fatal(err)
	}
	paths := shapes(t, mustParseXML(t, svg), "path")
	fills := map[string]bool{}
	for _, m49 := range []string{"040", "250", "276", "392", "356"} { // Austria, France, Germany, Japan, India
		fills[paths[m49].Attr["fill"]] = true
	}
	if len(fills) != 5 {
		t.Errorf("five states drawn with %d fills: %v", len(fills), fills)
	}
	if paths["040"].Attr["fill"] != "url(#map-hatch)" {
		t.Errorf("Austria (withdrawn) is filled %q; want the hatch", paths["040"].Attr["fill"])
	}
}
