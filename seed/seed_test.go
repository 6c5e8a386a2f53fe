package seed_test

import (
	"encoding/csv"
	"io/fs"
	"path"
	"reflect"
	"strings"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/treatyfile"
	"github.com/treatywatch/treatywatch/seed"
)

func MustDirectory(tb testing.TB) *events.Directory {
	tb.Helper()
	dir, err := events.NewDirectory()
	if err != nil {
		tb.Fatalf("NewDirectory: %v", err)
	}
	return dir
}

// MustTreaties parses every shipped definition, keyed by treaty id.
func MustTreaties(tb testing.TB) map[string]events.Definition {
	tb.Helper()
	dir := MustDirectory(tb)
	names, err := seed.Treaties()
	if err != nil {
		tb.Fatal(err)
	}
	if len(names) < 4 {
		tb.Fatalf("Treaties() = %v; want the Hanoi Convention and at least three others", names)
	}
	defs := map[string]events.Definition{}
	for _, name := range names {
		def, err := treatyfile.ParseFS(seed.Files(), name, dir)
		if err != nil {
			tb.Fatalf("%v", err)
		}
		if _, dup := defs[def.ID]; dup {
			tb.Fatalf("%s: treaty id %s is defined twice", name, def.ID)
		}
		defs[def.ID] = def
	}
	return defs
}

func TestEveryDefinitionParses(t *testing.T) {
	for id, def := range MustTreaties(t) {
		t.Run(id, func(t *testing.T) {
			if len(def.Sources) == 0 {
				t.Error("no sources")
			}
			if def.Adopted.IsZero() {
				t.Error("no adoption date")
			}
			if def.Parent != "" {
				t.Errorf("parent %s is not shipped in the seed", def.Parent)
			}
			// What the seed ships, `treaty show` must be able to write back.
			out, err := treatyfile.Marshal(def)
			if err != nil {
				t.Fatal(err)
			}
			back, err := treatyfile.Parse(out, nil, MustDirectory(t))
			if err != nil || !reflect.DeepEqual(back, def) {
				t.Errorf("round trip: %v\n%s", err, out)
			}
		})
	}
}

func TestHanoiDefinition(t *testing.T) {
	def, ok := MustTreaties(t)["XVIII-16"]
	if !ok {
		t.Fatal("XVIII-16 is not shipped")
	}
	r := def.EntryIntoForce
	checks := []struct {
		what      string
		got, want any
	}{
		{"short title", def.ShortTitle, "Hanoi Convention"},
		{"adopted", def.Adopted, events.MustDate("2024-12-24")},
		{"signature opens", def.Signature.Opens, events.MustDate("2025-10-25")},
		{"signature closes", def.Signature.Closes, events.MustDate("2026-12-31")},
		{"requires signature", def.RequiresSignature, true},
		{"instruments", r.Instruments, 40},
		{"counts", r.Counts, []events.Action{events.Ratification, events.Acceptance, events.Approval, events.Accession}},
		{"regional organizations additional", r.RegionalOrganizationsAdditional, false},
		{"delay", r.Delay, events.Period{N: 90, Unit: events.Days}},
		{"later parties", r.LaterPeriod(), events.Period{N: 30, Unit: events.Days}},
		{"withdrawal (unverified, so unset)", def.Withdrawal, events.Withdrawal{}},
		{"no share", r.Share, (*events.Share)(nil)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v; want %v", c.what, c.got, c.want)
		}
	}
	if !strings.HasPrefix(def.Clause, "This Convention shall enter into force on the ninetieth day after the date of deposit of the fortieth instrument") {
		t.Errorf("clause = %q", def.Clause)
	}
	if r.CountsKind(events.Succession) || r.CountsKind(events.DefinitiveSignature) {
		t.Error("Art. 65(1) counts neither succession nor definitive signature")
	}
}

func TestEntryIntoForceDatesFollowFromTheRules(t *testing.T) {
	defs := MustTreaties(t)
	tests := []struct {
		treaty    string
		threshold string // date the last needed instrument was deposited
		inForce   string // date the depositary gave for entry into force
	}{
		{"XXVI-9", "2020-10-24", "2021-01-22"},
		{"XXVI-8", "2014-09-25", "2014-12-24"},
		{"XVIII-14", "2005-09-15", "2005-12-14"},
		{"XXI-10", "2025-09-19", "2026-01-17"},
		{"XXVII-7-d", "2016-10-05", "2016-11-04"},
	}
	for _, tt := range tests {
		t.Run(tt.treaty, func(t *testing.T) {
			def, ok := defs[tt.treaty]
			if !ok {
				t.Fatalf("%s is not shipped", tt.treaty)
			}
			got := def.EntryIntoForce.Delay.After(events.MustDate(tt.threshold))
			if got != events.MustDate(tt.inForce) {
				t.Errorf("%s + %s = %s; the treaty entered into force on %s", tt.threshold, def.EntryIntoForce.Delay, got, tt.inForce)
			}
		})
	}
}

func TestParisShare(t *testing.T) {
	s := MustTreaties(t)["XXVII-7-d"].EntryIntoForce.Share
	if s == nil {
		t.Fatal("Paris Agreement has no share")
	}
	if s.AtLeast != 55 || len(s.Weights) != 190 {
		t.Errorf("share at_least %v with %d weights; want 55 with 190", s.AtLeast, len(s.Weights))
	}
	total := 0.0
	for _, w := range s.Weights {
		total += w
	}
	if total < 99.9 || total > 100.1 {
		t.Errorf("weights add up to %v; want about 100 (per cent)", total)
	}
	for name, want := range map[string]float64{"China": 20.09, "United States of America": 17.89, "Türkiye": 1.24, "Eswatini": 0.05} {
		if s.Weights[name] != want {
			t.Errorf("weight of %s = %v; want %v", name, s.Weights[name], want)
		}
	}
}

func TestHanoiCSV(t *testing.T) {
	dir := MustDirectory(t)
	data, err := fs.ReadFile(seed.Files(), seed.HanoiCSV)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"participant", "action", "date", "source"}; !reflect.DeepEqual(rows[0], want) {
		t.Fatalf("header = %v; want %v", rows[0], want)
	}
	hanoi := MustTreaties(t)["XVIII-16"]
	seen := map[string]int{}
	for i, row := range rows[1:] {
		line := i + 2
		p, err := dir.Resolve(row[0])
		if err != nil {
			t.Errorf("line %d: %v", line, err)
			continue
		}
		if prev, dup := seen[p.Name]; dup {
			t.Errorf("line %d: %s already on line %d", line, p.Name, prev)
		}
		seen[p.Name] = line
		if a, err := events.ParseAction(row[1]); err != nil || a != events.Signature {
			t.Errorf("line %d: action %q; want signature (no deposit is verified)", line, row[1])
		}
		d, err := events.ParseDate(row[2])
		if err != nil {
			t.Errorf("line %d: %v", line, err)
		} else if !hanoi.Signature.Contains(d) {
			t.Errorf("line %d: %s is outside the signature window", line, d)
		}
		if !strings.HasPrefix(row[3], "http") {
			t.Errorf("line %d: source %q is not a URL", line, row[3])
		}
	}
	if len(seen) != 69 {
		t.Errorf("%d signatures; want the 69 of the research notes", len(seen))
	}
	for _, pending := range []string{"United Kingdom of Great Britain and Northern Ireland", "Sweden", "Uganda", "Zimbabwe"} {
		if _, ok := seen[pending]; ok {
			t.Errorf("%s is pending verification and must not be in %s", pending, seed.HanoiCSV)
		}
	}
}

func TestFilesAreEmbedded(t *testing.T) {
	for _, name := range []string{seed.README, seed.HanoiCSV, path.Join(seed.TreatiesDir, "xviii-16-hanoi.yaml")} {
		if _, err := fs.Stat(seed.Files(), name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
