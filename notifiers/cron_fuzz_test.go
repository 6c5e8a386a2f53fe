package notifiers_test

import (
	"errors"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
)

// FuzzParseSchedule fuzzes the validation of a digest's cron spec and time
// zone, as `subscribe --digest SPEC --tz ZONE` and the Slack command take
// them. A refusal is an *events.InvalidError; an accepted schedule fires
// (each next time is after the last one and within five years of it), and
// never fires twice within a minute — a digest is at most once a minute.
// The seed corpus (testdata/fuzz/FuzzParseSchedule) holds the specs and
// zones of the README and the tests, and the edge cases robfig/cron has
// been known to mishandle.
func FuzzParseSchedule(f *testing.F) {
	starts := []time.Time{
		time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 29, 0, 59, 30, 0, time.UTC),  // clocks spring forward in Europe at 01:00 UTC
		time.Date(2026, 10, 25, 0, 59, 30, 0, time.UTC), // and fall back
	}
	f.Fuzz(func(t *testing.T, spec, tz string) {
		sched, err := notifiers.ParseSchedule(spec, tz)
		if err != nil {
			var ie *events.InvalidError
			if !errors.As(err, &ie) || !errors.Is(err, events.ErrInvalid) {
				t.Fatalf("ParseSchedule(%q, %q) = %T %v; want *events.InvalidError", spec, tz, err, err)
			}
			return
		}
		if sched == nil {
			t.Fatalf("ParseSchedule(%q, %q): nil schedule and no error", spec, tz)
		}
		for _, start := range starts {
			prev := start
			for i := range 3 {
				next := sched.Next(prev)
				if next.IsZero() || !next.After(prev) || next.Sub(prev) > 5*366*24*time.Hour {
					t.Fatalf("ParseSchedule(%q, %q): firing %d after %s is %s", spec, tz, i, prev, next)
				}
				if i > 0 && next.Sub(prev) < time.Minute {
					t.Fatalf("ParseSchedule(%q, %q) fires at %s and again at %s", spec, tz, prev, next)
				}
				prev = next
			}
		}
	})
}

// TestParseScheduleRefusesWhatFuzzingFound: what FuzzParseSchedule found
// robfig/cron accepting, and ParseSchedule now refuses.
func TestParseScheduleRefusesWhatFuzzingFound(t *testing.T) {
	for _, tc := range []struct{ spec, tz, msg string }{
		{"0 0 30 2 *", "UTC", `digest: cron spec "0 0 30 2 *" never fires (no such date)`},
		{"0 9 31 4 *", "Europe/Vienna", `digest: cron spec "0 9 31 4 *" never fires (no such date)`},
		{"@every -5h", "", `digest: cron spec "@every -5h" fires more often than once a minute`},
		{"@every 0s", "", `digest: cron spec "@every 0s" fires more often than once a minute`},
		{"@every 59s", "", `digest: cron spec "@every 59s" fires more often than once a minute`},
		{"0\t9 * * 1", "", "digest: control character U+0009 CHARACTER TABULATION at byte 1 is not allowed in a one-line field"},
		{"0 9 * * 1", "Local", `tz: "Local" is whatever zone the server runs in; name an IANA time zone such as Europe/Vienna`},
		{"0 9 * * 1", "Europe/Vienna\u202e", "tz: bidirectional formatting character U+202E RIGHT-TO-LEFT OVERRIDE at byte 13 is not allowed"},
	} {
		_, err := notifiers.ParseSchedule(tc.spec, tc.tz)
		var ie *events.InvalidError
		if !errors.As(err, &ie) || err.Error() != tc.msg {
			t.Errorf("ParseSchedule(%q, %q) = %v\nwant %s", tc.spec, tc.tz, err, tc.msg)
		}
	}
	for _, ok := range []string{"@every 1m", "* * * * *", "0 9 29 2 *", "30 2 * * *"} {
		if _, err := notifiers.ParseSchedule(ok, "Europe/Vienna"); err != nil {
			t.Errorf("ParseSchedule(%q): %v", ok, err)
		}
	}
}
