package treatyfile_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/treatyfile"
)

func TestParseFullFile(t *testing.T) {
	def, err := treatyfile.ParseFile(filepath.Join("testdata", "full.yaml"), MustDirectory(t))
	if err != nil {
		t.Fatal(err)
	}
	later := events.Period{N: 30, Unit: events.Days}
	want := events.Definition{
		ID:                "TEST-1-a",
		Title:             "Test Agreement on Every Key of the Schema",
		ShortTitle:        "Test Agreement",
		Depositary:        "Secretary-General of the United Nations",
		Adopted:           events.MustDate("2024-12-24"),
		Signature:         &events.Window{Opens: events.MustDate("2025-10-25"), Closes: events.MustDate("2026-12-31")},
		RequiresSignature: false,
		EntryIntoForce: events.Rule{
			Instruments:                     40,
			Counts:                          []events.Action{events.Ratification, events.Acceptance, events.Approval, events.Accession},
			RegionalOrganizationsAdditional: false,
			Group: &events.Group{
				Name:    "Andean members",
				AtLeast: 2,
				Members: []string{"Bolivia (Plurinational State of)", "Colombia", "Ecuador", "Peru"},
			},
			Share: &events.Share{
				Name:    "test tonnage",
				AtLeast: 12.5,
				Weights: map[string]float64{"Afghanistan": 0.05, "Albania": 0.02, "Côte d'Ivoire": 1, "Viet Nam": 12.25},
			},
			Delay:        events.Period{N: 3, Unit: events.Months, FirstOfMonthAfter: true},
			NotBefore:    events.MustDate("2026-01-01"),
			LaterParties: &later,
		},
		Withdrawal: events.Withdrawal{TakesEffect: events.Period{N: 1, Unit: events.Years}},
		Parent:     "TEST-1",
		Clause:     "This Test Agreement shall enter into force on the first day of the month after three months: a test clause.",
		Sources:    []string{"https://example.org/test-1-a", "https://example.org/test-1-a/notes"},
	}
	if !reflect.DeepEqual(def, want) {
		t.Errorf("ParseFile =\n%+v\nwant\n%+v", def, want)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	dir := MustDirectory(t)
	tests := []struct {
		name string
		file string
	}{
		{"every key", "full.yaml"},
		{"weights_file becomes inline weights", filepath.Join("share", "def.yaml")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def, err := treatyfile.ParseFile(filepath.Join("testdata", tt.file), dir)
			if err != nil {
				t.Fatal(err)
			}
			out, err := treatyfile.Marshal(def)
			if err != nil {
				t.Fatal(err)
			}
			back, err := treatyfile.Parse(out, nil, dir)
			if err != nil {
				t.Fatalf("Parse(Marshal(def)): %v\n%s", err, out)
			}
			if !reflect.DeepEqual(back, def) {
				t.Errorf("round trip changed the definition:\n got %+v\nwant %+v\nYAML:\n%s", back, def, out)
			}
			again, err := treatyfile.Marshal(back)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, out) {
				t.Errorf("Marshal is not stable:\n%s\n---\n%s", out, again)
			}
		})
	}
}

func TestMarshalFraction(t *testing.T) {
	def := events.Definition{
		ID:                "XXVII-2-f",
		Title:             "Amendment",
		Parent:            "XXVII-2-a",
		RequiresSignature: true,
		EntryIntoForce: events.Rule{
			Fraction:                        &events.Fraction{Num: 3, Den: 4},
			RegionalOrganizationsAdditional: true,
			Delay:                           events.Period{N: 90, Unit: events.Days},
		},
	}
	out, err := treatyfile.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	want := `id: XXVII-2-f
title: Amendment
requires_signature: true
entry_into_force:
  instruments: 3/4 of parent parties
  regional_organizations_additional: true
  delay: 90 days
parent: XXVII-2-a
`
	if string(out) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", out, want)
	}
	back, err := treatyfile.Parse(out, nil, nil)
	if err != nil || !reflect.DeepEqual(back, def) {
		t.Errorf("Parse(Marshal) = %+v, %v; want %+v", back, err, def)
	}
}

func TestMarshalRefusesInvalid(t *testing.T) {
	_, err := treatyfile.Marshal(events.Definition{ID: "X"})
	if !errors.Is(err, events.ErrInvalid) {
		t.Errorf("err = %v; want events.ErrInvalid", err)
	}
}
