package treatyfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/treatyfile"
)

// MustDirectory returns the shipped reference directory of participants.
func MustDirectory(tb testing.TB) *events.Directory {
	tb.Helper()
	dir, err := events.NewDirectory()
	if err != nil {
		tb.Fatalf("NewDirectory: %v", err)
	}
	return dir
}

// wantErr is one expected problem: its line, its field, and words of its
// message.
type wantErr struct {
	line  int
	field string
	msg   string
}

func TestParseErrors(t *testing.T) {
	dir := MustDirectory(t)
	weights := fstest.MapFS{
		"bad.csv":  {Data: []byte("participant,weight\nTürkiye,1.24\nAtlantis,0.5\nCzechia,-1\n")},
		"cols.csv": {Data: []byte("Turkey,1,2\n")},
	}
	tests := []struct {
		name string
		yaml string
		want []wantErr
	}{
		{
			name: "unknown key suggests the near one",
			yaml: `id: XVIII-16
title: United Nations Convention against Cybercrime
entry_into_force:
  instruments: 40
  delai: 90 days
  delay: 90 days
`,
			want: []wantErr{{5, "entry_into_force.delai", `unknown key (known: instruments, counts, regional_organizations_additional, group, share, delay, not_before, later_parties); did you mean "delay"?`}},
		},
		{
			name: "unknown top-level key",
			yaml: `id: XVIII-16
title: Hanoi
ttle: Hanoi
entry_into_force: {instruments: 40, delay: 90 days}
`,
			want: []wantErr{{3, "ttle", `unknown key`}},
		},
		{
			name: "missing title at the top mapping",
			yaml: `id: XVIII-16
entry_into_force: {instruments: 40, delay: 90 days}
`,
			want: []wantErr{{1, "title", "missing required key"}},
		},
		{
			name: "missing delay at the line of entry_into_force",
			yaml: `id: XVIII-16
title: Hanoi
adopted: 2024-12-24
entry_into_force:
  instruments: 40
`,
			want: []wantErr{{4, "entry_into_force.delay", "missing required key"}},
		},
		{
			name: "missing entry_into_force",
			yaml: `id: XVIII-16
title: Hanoi
`,
			want: []wantErr{{1, "entry_into_force", "missing required key"}},
		},
		{
			name: "empty required value",
			yaml: `id:
title: Hanoi
entry_into_force: {instruments: 40, delay: 90 days}
`,
			want: []wantErr{{1, "id", "is required but empty"}},
		},
		{
			name: "impossible date",
			yaml: `id: XVIII-16
title: Hanoi
adopted: 2025-02-30
entry_into_force: {instruments: 40, delay: 90 days}
`,
			want: []wantErr{{3, "adopted", `invalid date "2025-02-30": February 2025 has 28 days`}},
		},
		{
			name: "malformed date in the signature window",
			yaml: `id: XVIII-16
title: Hanoi
signature:
  opens: 25 October 2025
entry_into_force: {instruments: 40, delay: 90 days}
`,
			want: []wantErr{{4, "signature.opens", `want YYYY-MM-DD`}},
		},
		{
			name: "window closes before it opens",
			yaml: `id: XVIII-16
title: Hanoi
signature: {opens: 2025-10-25, closes: 2024-12-31}
entry_into_force: {instruments: 40, delay: 90 days}
`,
			want: []wantErr{{3, "signature.closes", "2024-12-31 is before the window opens (2025-10-25)"}},
		},
		{
			name: "delay it cannot parse",
			yaml: `id: XVIII-16
title: Hanoi
entry_into_force:
  instruments: 40
  delay: ninety days
`,
			want: []wantErr{{5, "entry_into_force.delay", `invalid period "ninety days": "ninety" is not a number`}},
		},
		{
			name: "later_parties with an unknown unit",
			yaml: `id: XVIII-16
title: Hanoi
entry_into_force:
  instruments: 40
  delay: 90 days
  later_parties: 30 weeks
`,
			want: []wantErr{{6, "entry_into_force.later_parties", `unknown unit "weeks"`}},
		},
		{
			name: "withdrawal period that is a number",
			yaml: `id: XVIII-16
title: Hanoi
entry_into_force: {instruments: 40, delay: 90 days}
withdrawal:
  takes_effect: 12
`,
			want: []wantErr{{5, "withdrawal.takes_effect", `want a period`}},
		},
		{
			name: "negative instruments",
			yaml: `id: XVIII-16
title: Hanoi
entry_into_force:
  instruments: -40
  delay: 90 days
`,
			want: []wantErr{{4, "entry_into_force.instruments", "is -40; want a whole number from 1 to 1000"}},
		},
		{
			name: "instruments as a list",
			yaml: `id: XVIII-16
title: Hanoi
entry_into_force:
  instruments: [40]
  delay: 90 days
`,
			want: []wantErr{{4, "entry_into_force.instruments", "got a list"}},
		},
		{
			name: "fraction without a parent",
			yaml: `id: XXVII-2-f
title: Kigali-like amendment
entry_into_force:
  instruments: 3/4 of parent parties
  delay: 90 days
`,
			want: []wantErr{{4, "entry_into_force.instruments", "needs a parent"}},
		},
		{
			name: "fraction above one",
			yaml: `id: XXVII-2-f
title: Kigali-like amendment
parent: XXVII-2-a
entry_into_force:
  instruments: 5/4 of parent parties
  delay: 90 days
`,
			want: []wantErr{{5, "entry_into_force.instruments", "is not a fraction N/M with 1 <= N <= M <= 100"}},
		},
		{
			name: "wrong type for a boolean",
			yaml: `id: XVIII-16
title: Hanoi
requires_signature: sometimes
entry_into_force: {instruments: 40, delay: 90 days, regional_organizations_additional: 0}
`,
			want: []wantErr{
				{3, "requires_signature", `want true or false, got "sometimes"`},
				{4, "entry_into_force.regional_organizations_additional", "want true or false, got the number 0"},
			},
		},
		{
			name: "counts that are not consents",
			yaml: `id: XVIII-16
title: Hanoi
entry_into_force:
  instruments: 40
  counts:
    - ratification
    - signature
    - ratifcation
    - ratification
  delay: 90 days
`,
			want: []wantErr{
				{7, "entry_into_force.counts[1]", `"signature" is not a kind of consent to be bound (want one of: ratification, acceptance, approval, accession, succession, definitive-signature)`},
				{8, "entry_into_force.counts[2]", `"ratifcation" is not a kind of consent`},
				{9, "entry_into_force.counts[3]", `"ratification" is listed twice`},
			},
		},
		{
			name: "counts as text",
			yaml: `id: XVIII-16
title: Hanoi
entry_into_force: {instruments: 40, counts: ratification, delay: 90 days}
`,
			want: []wantErr{{3, "entry_into_force.counts", `want a list, got "ratification"`}},
		},
		{
			name: "unknown participant in a group, with the closest names",
			yaml: `id: TEST
title: Test
entry_into_force:
  instruments: 3
  group:
    name: Balkans
    at_least: 2
    members:
      - Albnia
      - Andorra
      - Serbia
  delay: 90 days
`,
			want: []wantErr{{9, "entry_into_force.group.members[0]", `unknown participant "Albnia"; closest known names: Albania`}},
		},
		{
			name: "group at_least above its members",
			yaml: `id: TEST
title: Test
entry_into_force:
  instruments: 3
  group: {name: Pair, at_least: 3, members: [Albania, Andorra]}
  delay: 90 days
`,
			want: []wantErr{{5, "entry_into_force.group.at_least", "is 3; want between 1 and the 2 members listed"}},
		},
		{
			name: "group member listed twice under two names",
			yaml: `id: TEST
title: Test
entry_into_force:
  instruments: 3
  group:
    name: Pair
    at_least: 1
    members: [Türkiye, Turkey]
  delay: 90 days
`,
			want: []wantErr{{8, "entry_into_force.group.members[1]", `"Turkey" is Türkiye, already listed on line 8`}},
		},
		{
			name: "unknown participant and negative weight in a share",
			yaml: `id: TEST
title: Test
entry_into_force:
  instruments: 3
  share:
    name: emissions
    at_least: 55
    weights:
      Afghanistan: 0.05
      Atlantis: 1.5
      Albania: -0.02
  delay: 90 days
`,
			want: []wantErr{
				{10, "entry_into_force.share.weights.Atlantis", `unknown participant "Atlantis"`},
				{11, "entry_into_force.share.weights.Albania", "weight -0.02 is not a percentage from 0 to 100"},
			},
		},
		{
			name: "share with neither weights nor weights_file",
			yaml: `id: TEST
title: Test
entry_into_force:
  instruments: 3
  share: {name: emissions, at_least: 55}
  delay: 90 days
`,
			want: []wantErr{{5, "entry_into_force.share.weights", "missing required key"}},
		},
		{
			name: "share with both weights and weights_file",
			yaml: `id: TEST
title: Test
entry_into_force:
  instruments: 3
  share:
    name: emissions
    at_least: 55
    weights: {Afghanistan: 1}
    weights_file: bad.csv
  delay: 90 days
`,
			want: []wantErr{{9, "entry_into_force.share.weights_file", "either weights or weights_file, not both"}},
		},
		{
			name: "weights_file rows that do not resolve",
			yaml: `id: TEST
title: Test
entry_into_force:
  instruments: 3
  share: {name: emissions, at_least: 55, weights_file: bad.csv}
  delay: 90 days
`,
			want: []wantErr{
				{5, "entry_into_force.share.weights_file", `bad.csv line 3: unknown participant "Atlantis"`},
				{5, "entry_into_force.share.weights_file", `bad.csv line 4: weight "-1" is not a percentage from 0 to 100`},
			},
		},
		{
			name: "weights_file with three columns",
			yaml: `id: TEST
title: Test
entry_into_force:
  instruments: 3
  share: {name: emissions, at_least: 55, weights_file: cols.csv}
  delay: 90 days
`,
			want: []wantErr{{5, "entry_into_force.share.weights_file", "cols.csv line 1: want 2 columns (participant,weight), got 3"}},
		},
		{
			name: "weights_file that does not exist",
			yaml: `id: TEST
title: Test
entry_into_force:
  instruments: 3
  share: {name: emissions, at_least: 55, weights_file: missing.csv}
  delay: 90 days
`,
			want: []wantErr{{5, "entry_into_force.share.weights_file", `cannot read "missing.csv": no such file`}},
		},
		{
			name: "weights_file outside the definition's folder",
			yaml: `id: TEST
title: Test
entry_into_force:
  instruments: 3
  share: {name: emissions, at_least: 55, weights_file: ../secrets.csv}
  delay: 90 days
`,
			want: []wantErr{{5, "entry_into_force.share.weights_file", "must name a file in the definition's folder or below it"}},
		},
		{
			name: "duplicate key",
			yaml: `id: XVIII-16
title: Hanoi
entry_into_force: {instruments: 40, delay: 90 days}
id: XVIII-17
`,
			want: []wantErr{{4, "id", "duplicate key (first given on line 1)"}},
		},
		{
			name: "own parent",
			yaml: `id: XVIII-16
title: Hanoi
parent: XVIII-16
entry_into_force: {instruments: 40, delay: 90 days}
`,
			want: []wantErr{{3, "parent", "a treaty cannot be its own parent"}},
		},
		{
			name: "sources as text",
			yaml: `id: XVIII-16
title: Hanoi
entry_into_force: {instruments: 40, delay: 90 days}
sources: https://treaties.un.org/
`,
			want: []wantErr{{4, "sources", "want a list"}},
		},
		{
			name: "not a mapping",
			yaml: `- id: XVIII-16
`,
			want: []wantErr{{1, "", "want a mapping of id, title"}},
		},
		{
			name: "not YAML",
			yaml: `id: XVIII-16
title: [Hanoi
entry_into_force: {instruments: 40, delay: 90 days}
`,
			want: []wantErr{{0, "", "not valid YAML"}},
		},
		{
			name: "empty file",
			yaml: "# nothing but a comment\n",
			want: []wantErr{{1, "", "empty file"}},
		},
		{
			name: "every problem at once, in line order",
			yaml: `id: XVIII-16
adopted: 2025-02-30
entry_into_force:
  instruments: -1
  delay: soon
  colour: blue
`,
			want: []wantErr{
				{1, "title", "missing required key"},
				{2, "adopted", "February 2025 has 28 days"},
				{4, "entry_into_force.instruments", "is -1"},
				{5, "entry_into_force.delay", `invalid period "soon"`},
				{6, "entry_into_force.colour", "unknown key"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := treatyfile.Parse([]byte(tt.yaml), weights, dir)
			if err == nil {
				t.Fatal("Parse succeeded; want an error")
			}
			if !errors.Is(err, events.ErrInvalid) {
				t.Errorf("errors.Is(err, events.ErrInvalid) = false for %v", err)
			}
			if errors.Is(err, events.ErrNotFound) {
				t.Errorf("errors.Is(err, events.ErrNotFound) = true for %v; a bad file is invalid input", err)
			}
			var errs treatyfile.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %T is not a treatyfile.Errors: %v", err, err)
			}
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(errs), len(tt.want), err)
			}
			for i, w := range tt.want {
				got := errs[i]
				if w.line != 0 && got.Line != w.line || got.Field != w.field || !strings.Contains(got.Msg, w.msg) {
					t.Errorf("problem %d = line %d, field %q, msg %q;\nwant line %d, field %q, msg containing %q", i, got.Line, got.Field, got.Msg, w.line, w.field, w.msg)
				}
			}
		})
	}
}

func TestErrorMessageFormat(t *testing.T) {
	yaml := "id: XVIII-16\ntitle: Hanoi\nentry_into_force:\n  instruments: 40\n  delay: 90 days\n  delai: 90 days\n"
	_, err := treatyfile.Parse([]byte(yaml), nil, nil)
	want := `line 6: entry_into_force.delai: unknown key (known: instruments, counts, regional_organizations_additional, group, share, delay, not_before, later_parties); did you mean "delay"?`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	var e *treatyfile.Error
	if !errors.As(err, &e) || e.Line != 6 || e.Field != "entry_into_force.delai" {
		t.Errorf("errors.As(*treatyfile.Error) = %+v", e)
	}
}

func TestUnknownParticipantKeepsCause(t *testing.T) {
	yaml := "id: T\ntitle: T\nentry_into_force:\n  instruments: 1\n  group: {name: G, at_least: 1, members: [Albnia]}\n  delay: 1 day\n"
	_, err := treatyfile.Parse([]byte(yaml), nil, MustDirectory(t))
	var e *treatyfile.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	var upe *events.UnknownParticipantError
	if !errors.As(e.Err, &upe) || upe.Name != "Albnia" || len(upe.Closest) == 0 || upe.Closest[0] != "Albania" {
		t.Errorf("Err = %#v; want the *events.UnknownParticipantError with Albania closest", e.Err)
	}
}

func TestParseDefaults(t *testing.T) {
	yaml := `id: XXVI-9
title: Treaty on the Prohibition of Nuclear Weapons
entry_into_force:
  instruments: 50
  delay: 90 days
`
	def, err := treatyfile.Parse([]byte(yaml), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := events.Definition{
		ID:                "XXVI-9",
		Title:             "Treaty on the Prohibition of Nuclear Weapons",
		RequiresSignature: true,
		EntryIntoForce: events.Rule{
			Instruments:                     50,
			RegionalOrganizationsAdditional: true,
			Delay:                           events.Period{N: 90, Unit: events.Days},
		},
	}
	if !reflect.DeepEqual(def, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", def, want)
	}
	for _, k := range events.ConsentKinds() {
		if !def.EntryIntoForce.CountsKind(k) {
			t.Errorf("default counts leave out %s", k)
		}
	}
	if got := def.EntryIntoForce.LaterPeriod(); got != def.EntryIntoForce.Delay {
		t.Errorf("LaterPeriod() = %v; want the delay %v by default", got, def.EntryIntoForce.Delay)
	}
}

func TestParseFraction(t *testing.T) {
	tests := []struct {
		text string
		want events.Fraction
	}{
		{"3/4 of parent parties", events.Fraction{Num: 3, Den: 4}},
		{"2 / 3 of the parent parties", events.Fraction{Num: 2, Den: 3}},
		{"1/1 of Parent Parties", events.Fraction{Num: 1, Den: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			yaml := "id: XXVII-2-f\ntitle: Amendment\nparent: XXVII-2-a\nentry_into_force:\n  instruments: " + tt.text + "\n  delay: 90 days\n"
			def, err := treatyfile.Parse([]byte(yaml), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			r := def.EntryIntoForce
			if r.Fraction == nil || *r.Fraction != tt.want || r.Instruments != 0 {
				t.Errorf("rule = %+v, fraction %v; want fraction %v", r, r.Fraction, tt.want)
			}
		})
	}
}

func TestWeightsFileRelativeToYAML(t *testing.T) {
	dir := MustDirectory(t)
	want := map[string]float64{"Türkiye": 1.24, "Czechia": 0.34, "Bolivia (Plurinational State of)": 0.12, "Niue": 0}

	check := func(t *testing.T, def events.Definition, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		s := def.EntryIntoForce.Share
		if s == nil || s.Name != "test emissions" || s.AtLeast != 1.5 || !reflect.DeepEqual(s.Weights, want) {
			t.Errorf("share = %+v; want weights %v", s, want)
		}
	}
	t.Run("ParseFile from another working directory", func(t *testing.T) {
		def, err := treatyfile.ParseFile(filepath.Join("testdata", "share", "def.yaml"), dir)
		check(t, def, err)
	})
	t.Run("ParseFS in a subfolder", func(t *testing.T) {
		def, err := treatyfile.ParseFS(os.DirFS("testdata"), "share/def.yaml", dir)
		check(t, def, err)
	})
	t.Run("ParseFS from an in-memory FS", func(t *testing.T) {
		src, err := os.ReadFile(filepath.Join("testdata", "share", "def.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		csv, err := os.ReadFile(filepath.Join("testdata", "share", "weights.csv"))
		if err != nil {
			t.Fatal(err)
		}
		fsys := fstest.MapFS{"a/b/def.yaml": {Data: src}, "a/b/weights.csv": {Data: csv}, "weights.csv": {Data: []byte("Afghanistan,1\n")}}
		def, err := treatyfile.ParseFS(fsys, "a/b/def.yaml", dir)
		check(t, def, err)
	})
	t.Run("errors name the file", func(t *testing.T) {
		fsys := fstest.MapFS{
			"x/def.yaml":        {Data: []byte("id: T\ntitle: T\nentry_into_force:\n  instruments: 1\n  share: {name: s, at_least: 1, weights_file: bad-weights.csv}\n  delay: 1 day\n")},
			"x/bad-weights.csv": {Data: []byte("Atlantis,1\n")},
		}
		_, err := treatyfile.ParseFS(fsys, "x/def.yaml", dir)
		if err == nil || !strings.HasPrefix(err.Error(), "x/def.yaml: line 5: entry_into_force.share.weights_file: bad-weights.csv line 1: unknown participant \"Atlantis\"") {
			t.Errorf("err = %v", err)
		}
		if !errors.Is(err, events.ErrInvalid) {
			t.Errorf("errors.Is(err, ErrInvalid) = false")
		}
	})
	t.Run("no folder given", func(t *testing.T) {
		src, err := os.ReadFile(filepath.Join("testdata", "share", "def.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = treatyfile.Parse(src, nil, dir)
		if err == nil || !strings.Contains(err.Error(), "no folder to read it from") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestParseFileMissing(t *testing.T) {
	_, err := treatyfile.ParseFile(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v; want os.ErrNotExist", err)
	}
}
