package notifiers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
)

func (e *env) scheduler(t *testing.T, c *clock) *notifiers.Scheduler {
	t.Helper()
	s, err := notifiers.NewScheduler(notifiers.SchedulerConfig{Log: e.store, Store: e.store, Read: e.runner, Now: c.Now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) deliveries(t *testing.T, kind string) []notifiers.Delivery {
	t.Helper()
	all, err := e.outbox.List(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []notifiers.Delivery
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Notice.Kind == kind {
			out = append(out, all[i])
		}
	}
	return out
}

// mustRunDue runs the due schedules at a time and returns how many
// digests ran (the hourly time-driven schedule is not counted).
func mustRunDue(t *testing.T, s *notifiers.Scheduler, at string) int {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, at)
	if err != nil {
		t.Fatal(err)
	}
	ran, err := s.RunDue(context.Background(), ts)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range ran {
		if strings.HasPrefix(name, "digest:") {
			n++
		}
	}
	return n
}

func TestDigestCatchUpAfterDowntime(t *testing.T) {
	e := mustEnv(t, "2026-11-27")
	e.subscribe(t, events.Subscription{ID: "weekly", Sink: events.SinkConsole, Treaties: []string{"XVIII-16"}, Digest: "0 9 * * *"})
	c := &clock{}
	s := e.scheduler(t, c)
	if n := mustRunDue(t, s, "2026-06-01T08:00:00Z"); n != 0 {
		t.Fatalf("first sight ran %d schedules; a new schedule starts now", n)
	}
	if n := mustRunDue(t, s, "2026-06-01T09:00:05Z"); n != 1 {
		t.Fatalf("at 09:00 ran %d schedules, want the digest", n)
	}
	// Down from 1 June 09:00 to 5 June 10:00: four digests were missed.
	if n := mustRunDue(t, s, "2026-06-05T10:00:00Z"); n != 1 {
		t.Fatalf("after downtime ran %d schedules, want exactly one catch-up", n)
	}
	if n := mustRunDue(t, s, "2026-06-05T10:05:00Z"); n != 0 {
		t.Fatalf("ran again %d times five minutes later", n)
	}
	ds := e.deliveries(t, notifiers.KindDigest)
	if len(ds) != 2 {
		t.Fatalf("%d digests, want 2", len(ds))
	}
	catchUp := ds[1].Notice.Digest
	if want := time.Date(2026, 6, 1, 9, 0, 5, 0, time.UTC); !catchUp.Since.Equal(want) || !catchUp.Until.Equal(time.Date(2026, 6, 5, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("catch-up covers %s – %s, want the whole gap from %s", catchUp.Since, catchUp.Until, want)
	}
	if len(catchUp.Progress) != 1 || catchUp.Progress[0].Required != 40 {
		t.Fatalf("progress = %+v", catchUp.Progress)
	}
}

func TestDigestCoversWhatHappenedSinceTheLastOne(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, "2026-11-27")
	e.subscribe(t, events.Subscription{ID: "daily", Sink: events.SinkConsole, Treaties: []string{"XVIII-16"}, Digest: "@daily"})
	c := &clock{}
	s := e.scheduler(t, c)
	mustRunDue(t, s, time.Now().Add(-48*time.Hour).UTC().Format(time.RFC3339))
	for _, p := range []string{"Viet Nam", "Algeria"} {
		if _, err := e.ledger.Record(ctx, events.RecordInput{Treaty: "XVIII-16", Action: "signature", Participant: p, Date: "2025-10-25"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := mustRunDue(t, s, time.Now().Add(time.Second).UTC().Format(time.RFC3339)); n != 1 {
		t.Fatalf("ran %d", n)
	}
	ds := e.deliveries(t, notifiers.KindDigest)
	if len(ds) != 1 || len(ds[0].Notice.Digest.Items) != 2 || ds[0].Notice.Digest.Items[0].Participant != "Viet Nam" {
		t.Fatalf("digest = %+v", ds)
	}
}

// TestDigestAcrossDaylightSavingTime: a 09:00 digest in New York runs at
// 09:00 local time on both sides of the change to daylight saving time
// (14 March 2027), and a 02:30 digest, a time that does not exist that
// day, is skipped by robfig/cron and covered by the next day's run.
func TestDigestAcrossDaylightSavingTime(t *testing.T) {
	e := mustEnv(t, "2026-11-27")
	e.subscribe(t, events.Subscription{ID: "ny", Sink: events.SinkConsole, Treaties: []string{"XVIII-16"}, Digest: "0 9 * * *", TZ: "America/New_York"})
	e.subscribe(t, events.Subscription{ID: "night", Sink: events.SinkConsole, Treaties: []string{"XVIII-16"}, Digest: "30 2 * * *", TZ: "America/New_York"})
	s := e.scheduler(t, &clock{})
	mustRunDue(t, s, "2027-03-13T13:00:00Z")                   // 08:00 EST: both schedules start
	if n := mustRunDue(t, s, "2027-03-13T14:00:01Z"); n != 1 { // 09:00 EST
		t.Fatalf("09:00 EST: ran %d", n)
	}
	if n := mustRunDue(t, s, "2027-03-14T12:30:00Z"); n != 0 { // 08:30 EDT, i.e. 13:30 in EST terms
		t.Fatalf("08:30 EDT: ran %d (the night digest of 02:30 does not exist on 14 March)", n)
	}
	if n := mustRunDue(t, s, "2027-03-14T13:00:01Z"); n != 1 { // 09:00 EDT
		t.Fatalf("09:00 EDT: ran %d", n)
	}
	if n := mustRunDue(t, s, "2027-03-15T06:30:01Z"); n != 1 { // 02:30 EDT on 15 March
		t.Fatalf("02:30 EDT on 15 March: ran %d", n)
	}
	night := 0
	for _, d := range e.deliveries(t, notifiers.KindDigest) {
		if d.Subscription == "night" {
			night++
			if want := time.Date(2027, 3, 13, 13, 0, 0, 0, time.UTC); !d.Notice.Digest.Since.Equal(want) {
				t.Fatalf("night digest covers from %s, want %s (the skipped day included)", d.Notice.Digest.Since, want)
			}
		}
	}
	if night != 1 {
		t.Fatalf("night digests = %d, want 1", night)
	}
}

func TestInvalidSchedulesAreRefusedNotPanics(t *testing.T) {
	for _, tc := range []struct{ spec, tz, msg string }{
		{"61 * * * *", "", "invalid cron spec"},
		{"0 9 * *", "", "invalid cron spec"},
		{"@every", "", "invalid cron spec"},
		{"@fortnightly", "", "invalid cron spec"},
		{"0 9 * * *", "Mars/Olympus_Mons", "unknown time zone"},
		{"CRON_TZ=Europe/Paris 0 9 * * *", "", "--tz"},
		{"", "", "empty cron spec"},
	} {
		_, err := notifiers.ParseSchedule(tc.spec, tc.tz)
		if err == nil || !errors.Is(err, events.ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ParseSchedule(%q, %q) = %v; want an invalid-input error mentioning %q", tc.spec, tc.tz, err, tc.msg)
		}
	}
	for _, ok := range []string{"0 9 * * 1", "@daily", "@weekly", "*/15 * * * *", "@every 6h"} {
		if _, err := notifiers.ParseSchedule(ok, "Europe/Zurich"); err != nil {
			t.Errorf("ParseSchedule(%q): %v", ok, err)
		}
	}
}

// TestCountdownsAndEntryIntoForceDay: with forty (hypothetical) instruments
// deposited by 3 March 2026, the Hanoi Convention would enter into force
// on 1 June 2026 (art. 65(1): ninetieth day). Countdowns go out 30, 7 and 1
// days before, and on the day itself, once each however often the hourly
// job runs.
func TestCountdownsAndEntryIntoForceDay(t *testing.T) {
	ctx := context.Background()
	e := mustEnv(t, "2026-03-03")
	dir, _ := events.NewDirectory()
	var rows []events.ImportRow
	for i, p := range dir.All()[:40] {
		rows = append(rows, events.ImportRow{Line: 2 * i, Participant: p.Name, Action: "signature", Date: "2025-10-25"},
			events.ImportRow{Line: 2*i + 1, Participant: p.Name, Action: "ratification", Date: "2026-03-03"})
	}
	if _, err := e.ledger.Import(ctx, "XVIII-16", rows, events.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	e.subscribe(t, events.Subscription{ID: "ngo", Sink: events.SinkConsole, Treaties: []string{"XVIII-16"}, On: []string{"countdown"}})
	s := e.scheduler(t, &clock{})
	mustRunDue(t, s, "2026-04-01T00:30:00Z")
	for day := events.MustDate("2026-04-02"); !day.After(events.MustDate("2026-06-03")); day = day.AddDays(1) {
		for _, hour := range []int{0, 7, 13} {
			mustRunDue(t, s, day.Time().Add(time.Duration(hour)*time.Hour+time.Minute).Format(time.RFC3339))
		}
	}
	got := map[string]int{}
	for _, d := range e.deliveries(t, notifiers.KindCountdown) {
		got[fmt.Sprintf("%d days on %s", d.Notice.DaysLeft, d.Notice.Date)]++
	}
	for _, d := range e.deliveries(t, notifiers.KindInForce) {
		got["in force on "+d.Notice.EntryIntoForce.String()]++
	}
	want := map[string]int{"30 days on 2026-05-02": 1, "7 days on 2026-05-25": 1, "1 days on 2026-05-31": 1, "in force on 2026-06-01": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("time-driven notices = %v, want %v", got, want)
	}
}
