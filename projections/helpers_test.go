package projections_test

import (
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// act is one row of a compact history table: who did what on which date.
type act struct {
	who    string
	action events.Action
	date   string
}

// on returns acts of one kind by several participants on one date.
func on(date string, action events.Action, who ...string) []act {
	out := make([]act, len(who))
	for i, w := range who {
		out[i] = act{who: w, action: action, date: date}
	}
	return out
}

// MustDirectory returns a fresh directory of the reference participants,
// which tests may extend.
func MustDirectory(tb testing.TB) *events.Directory {
	tb.Helper()
	dir, err := events.NewDirectory()
	if err != nil {
		tb.Fatalf("NewDirectory: %v", err)
	}
	return dir
}

// MustFillers registers n fictional participants "<prefix> AA", "<prefix>
// AB"... in dir (letters, not digits: name matching drops trailing digits
// as UNTC footnote markers)
// and returns their names. Tests use them where a real treaty's early
// instruments are many and their identities do not matter: they are
// synthetic, and each test says so.
func MustFillers(tb testing.TB, dir *events.Directory, prefix string, n int) []string {
	tb.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = prefix + " " + code(i)
		if _, ok := dir.Lookup(names[i]); ok {
			continue
		}
		if err := dir.Add(events.Participant{Name: names[i], Kind: events.KindOther}); err != nil {
			tb.Fatalf("add filler: %v", err)
		}
	}
	return names
}

// spread gives names one act each, a day apart from first on.
func spread(action events.Action, first string, names ...string) []act {
	d := events.MustDate(first)
	out := make([]act, len(names))
	for i, n := range names {
		out[i] = act{who: n, action: action, date: d.AddDays(i).String()}
	}
	return out
}

// MustEnvelopes encodes a treaty stream: treaty.registered, then one act
// per row in the given order, with positions and versions from 1 and
// recorded times a second apart.
func MustEnvelopes(tb testing.TB, dir *events.Directory, def events.Definition, acts ...[]act) []events.Envelope {
	tb.Helper()
	reg := events.NewRegistry()
	stream := events.TreatyStream(def.ID)
	var envs []events.Envelope
	add := func(p events.Payload, valid events.Date) {
		rec, err := reg.NewRecord(p, valid, events.Metadata{Actor: "test"})
		if err != nil {
			tb.Fatalf("NewRecord: %v", err)
		}
		n := int64(len(envs) + 1)
		envs = append(envs, events.Envelope{
			Position: n, Stream: stream, Version: n, Type: rec.Type, SchemaVersion: rec.SchemaVersion,
			ValidDate: rec.ValidDate, RecordedAt: recordedAt(n), Meta: rec.Meta, Payload: rec.Payload,
		})
	}
	add(&events.TreatyRegistered{Definition: def}, events.Date{})
	for _, group := range acts {
		for _, a := range group {
			p, err := dir.Resolve(a.who)
			if err != nil {
				tb.Fatalf("resolve %q: %v", a.who, err)
			}
			d := events.MustDate(a.date)
			add(&events.Act{Action: a.action, Participant: p.Name, ISO3: p.ISO3, Date: d}, d)
		}
	}
	return envs
}

// code returns a two-letter code for i: AA, AB, ... ZZ.
func code(i int) string {
	return string(rune('A'+i/26%26)) + string(rune('A'+i%26))
}

func recordedAt(position int64) time.Time {
	return time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(position) * time.Second)
}

// MustFold folds envelopes as known at knownAt (zero: all of them).
func MustFold(tb testing.TB, envs []events.Envelope, knownAt time.Time) *events.History {
	tb.Helper()
	h, err := events.Fold(events.NewRegistry(), envs, knownAt)
	if err != nil {
		tb.Fatalf("Fold: %v", err)
	}
	return h
}

// MustHistory folds a treaty stream built from def and the act tables.
func MustHistory(tb testing.TB, dir *events.Directory, def events.Definition, acts ...[]act) *events.History {
	tb.Helper()
	return MustFold(tb, MustEnvelopes(tb, dir, def, acts...), time.Time{})
}

// ds formats a nullable date for comparisons: "" for null.
func ds(d *events.Date) string {
	if d == nil {
		return ""
	}
	return d.String()
}

// row returns a participant's row, failing the test if it is missing.
func row(tb testing.TB, s projections.Status, name string) projections.Participation {
	tb.Helper()
	for _, p := range s.Participants {
		if p.Participant == name {
			return p
		}
	}
	tb.Fatalf("%s: no participant %q", s.Treaty, name)
	return projections.Participation{}
}

func period(tb testing.TB, s string) events.Period {
	tb.Helper()
	p, err := events.ParsePeriod(s)
	if err != nil {
		tb.Fatalf("ParsePeriod(%q): %v", s, err)
	}
	return p
}

func periodPtr(tb testing.TB, s string) *events.Period {
	p := period(tb, s)
	return &p
}

var rataa = []events.Action{events.Ratification, events.Acceptance, events.Approval, events.Accession}
