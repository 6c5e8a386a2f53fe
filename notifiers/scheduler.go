package notifiers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// TimedSchedule is the schedule of the time-driven notices (countdowns,
// entry-into-force day, signature window closing): hourly, so that a
// day's notices go out soon after midnight UTC.
const TimedSchedule = "@hourly"

// ParseSchedule parses a cron spec (five fields, or a descriptor such as
// @daily or @weekly) in a time zone (empty: UTC). It returns a clear
// error, never a panic, for an invalid spec or zone, and refuses what
// robfig/cron would take but no digest can mean: a control or invisible
// character, the zone "Local" (the server's, whatever it is), a spec that
// never fires (30 February), and one that fires more often than once a
// minute (@every 1s, @every -5h).
func ParseSchedule(spec, tz string) (sched cron.Schedule, err error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, &events.InvalidError{Field: "digest", Reason: "empty cron spec"}
	}
	if err := events.CheckText("", spec, events.NameText); err != nil {
		return nil, &events.InvalidError{Field: "digest", Reason: err.Error()}
	}
	if err := events.CheckText("", tz, events.NameText); err != nil {
		return nil, &events.InvalidError{Field: "tz", Reason: err.Error()}
	}
	if tz == "Local" {
		return nil, &events.InvalidError{Field: "tz", Reason: `"Local" is whatever zone the server runs in; name an IANA time zone such as Europe/Vienna`}
	}
	if strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=") {
		return nil, &events.InvalidError{Field: "digest", Reason: "give the time zone with --tz, not inside the spec"}
	}
	if tz == "" {
		tz = "UTC"
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return nil, &events.InvalidError{Field: "tz", Reason: fmt.Sprintf("unknown time zone %q", tz)}
	}
	defer func() { // the parser has panicked on odd input in the past
		if r := recover(); r != nil {
			sched, err = nil, &events.InvalidError{Field: "digest", Reason: fmt.Sprintf("invalid cron spec %q: %v", spec, r)}
		}
	}()
	sched, err = cron.ParseStandard("CRON_TZ=" + tz + " " + spec)
	if err != nil {
		return nil, &events.InvalidError{Field: "digest", Reason: fmt.Sprintf("invalid cron spec %q: %v (want 5 fields \"MIN HOUR DOM MON DOW\" or @daily, @weekly, @every 6h)", spec, err)}
	}
	// Probe a few firings from a fixed time: robfig/cron gives the zero
	// time for a spec that never fires, and rounds @every below a second
	// (even a negative one) up to a second.
	prev := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		next := sched.Next(prev)
		if next.IsZero() {
			return nil, &events.InvalidError{Field: "digest", Reason: fmt.Sprintf("cron spec %q never fires (no such date)", spec)}
		}
		if i > 0 && next.Sub(prev) < time.Minute {
			return nil, &events.InvalidError{Field: "digest", Reason: fmt.Sprintf("cron spec %q fires more often than once a minute", spec)}
		}
		prev = next
	}
	return sched, nil
}

// ValidateSchedule reports whether a digest's cron spec and time zone can
// be scheduled (see ParseSchedule), for events.LedgerConfig's
// ValidateSchedule.
func ValidateSchedule(spec, tz string) error {
	_, err := ParseSchedule(spec, tz)
	return err
}

// SchedulerConfig configures a Scheduler.
type SchedulerConfig struct {
	// Log is the ledger, Store the notifier's state; required.
	Log   Log
	Store Store
	// Read is the process's read side: the treaties' statuses and the
	// transitions a digest reports. Required.
	Read ReadSide
	// Now is the clock; required.
	Now func() time.Time
	// OnEnqueued is called after new deliveries are written; optional.
	OnEnqueued func()
	// Refresh is how often Run re-reads the subscriptions' schedules;
	// default 1 min.
	Refresh time.Duration
	// LeaseTTL, LeaseRenew and LeasePoll are the scheduler lease's
	// timing, as SenderConfig's for the sender lease: of the schedulers
	// of one ledger (several instances on one database, or several
	// processes on one SQLite file), only the one that holds the lease
	// "scheduler" runs schedules; when it dies another takes over within
	// LeaseTTL (at once when it released the lease, or when its process
	// is gone on the same host). Defaults 15 s, 3 s, 1 s.
	LeaseTTL   time.Duration
	LeaseRenew time.Duration
	LeasePoll  time.Duration
}

// Validate reports a configuration that cannot work.
func (c SchedulerConfig) Validate() error {
	if c.Log == nil || c.Store == nil || c.Read == nil || c.Now == nil {
		return errors.New("notifiers: SchedulerConfig needs Log, Store, Read and Now")
	}
	if c.LeaseTTL < 0 || c.LeaseRenew < 0 || c.LeasePoll < 0 {
		return fmt.Errorf("notifiers: SchedulerConfig: LeaseTTL (%s), LeaseRenew (%s) and LeasePoll (%s) must not be negative", c.LeaseTTL, c.LeaseRenew, c.LeasePoll)
	}
	ttl := c.LeaseTTL
	if ttl == 0 {
		ttl = defaultLeaseTTL
	}
	if c.LeaseRenew > ttl/3 {
		return fmt.Errorf("notifiers: SchedulerConfig: LeaseRenew (%s) must be at most a third of LeaseTTL (%s)", c.LeaseRenew, ttl)
	}
	return nil
}

// Scheduler runs the time-driven work: each subscription's digest on its
// cron spec, and the hourly check for countdowns, entry-into-force days
// and signature windows closing. Every schedule persists its last run;
// each run covers "everything due between the last run and now", so
// after downtime exactly one catch-up run covers the gap — never a burst
// of missed runs, never silence. Jobs run under jobWrappers
// (cron.SkipIfStillRunning around cron.Recover). robfig/cron skips a time that does not exist
// in a zone (a spec at 02:30 on the day clocks spring forward); the next
// run's digest then covers that day too.
type Scheduler struct {
	cfg    SchedulerConfig
	logger *slog.Logger
	lease  *lease // the ledger's scheduler lease
	outbox *Outbox
	subs   *subscriptions
	reg    *events.Registry
	mu     sync.Mutex // one run at a time
}

// NewScheduler returns a Scheduler. A nil logger means no logging.
func NewScheduler(cfg SchedulerConfig, logger *slog.Logger) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.OnEnqueued == nil {
		cfg.OnEnqueued = func() {}
	}
	if cfg.Refresh == 0 {
		cfg.Refresh = time.Minute
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = defaultLeaseTTL
	}
	if cfg.LeaseRenew == 0 {
		cfg.LeaseRenew = min(defaultLeaseRenew, cfg.LeaseTTL/3)
	}
	if cfg.LeasePoll == 0 {
		cfg.LeasePoll = min(defaultLeasePoll, cfg.LeaseRenew)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// The lease measures its durations with time.Now, on the monotonic
	// clock, never with Now, the schedules' clock (which tests and
	// TREATYWATCH_NOW set): a step of that clock must not end a hold.
	l := newNamedLease(schedulerLeaseName, "scheduler", cfg.Store, time.Now, logger, cfg.LeaseTTL, cfg.LeaseRenew, cfg.LeasePoll)
	// Each run is recorded only if this scheduler still holds the lease
	// when the run's transaction commits.
	outbox := &Outbox{store: cfg.Store, fence: func(bool) events.Fence { return schedulerFence(l) }}
	return &Scheduler{cfg: cfg, logger: logger, lease: l, outbox: outbox, subs: newSubscriptions(cfg.Log, outbox), reg: events.NewRegistry()}, nil
}

// SubscriptionsChanged makes the scheduler read the subscriptions again.
func (s *Scheduler) SubscriptionsChanged() { s.subs.invalidate() }

type schedule struct {
	name  string
	spec  string
	sched cron.Schedule
	sub   *events.Subscription // nil for the timed schedule
}

func (s *Scheduler) schedules(ctx context.Context) ([]schedule, error) {
	timed, err := ParseSchedule(TimedSchedule, "UTC")
	if err != nil {
		return nil, err
	}
	out := []schedule{{name: timedScheduleName, spec: TimedSchedule, sched: timed}}
	subs, err := s.subs.current(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(subs))
	for id := range subs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		sub := subs[id]
		if sub.Digest == "" {
			continue
		}
		sched, err := ParseSchedule(sub.Digest, sub.TZ)
		if err != nil { // refused at subscribe time; never fatal here
			s.logger.ErrorContext(ctx, "subscription has an invalid digest schedule", "subscription", id, "err", err)
			continue
		}
		out = append(out, schedule{name: digestScheduleName(id), spec: sub.Digest, sched: sched, sub: &sub})
	}
	return out, nil
}

// timedScheduleName is the schedule of the timed notices (countdowns,
// entry-into-force days, signature windows closing).
const timedScheduleName = "timed"

// digestScheduleName is the schedule of a subscription's digest.
func digestScheduleName(subscription string) string { return "digest:" + subscription }

// ScheduleNames returns the names under which the Scheduler keeps the
// last runs of its schedules (ScheduleStore.LastRun) for these
// subscriptions: the timed notices' and each digest's. A copy of a
// ledger's notifier state carries these runs so that its scheduler goes
// on from them: a digest then covers what happened since the last one,
// rather than since the copy was first served.
func ScheduleNames(subs []events.Subscription) []string {
	names := []string{timedScheduleName}
	for _, sub := range subs {
		if sub.Digest != "" {
			names = append(names, digestScheduleName(sub.ID))
		}
	}
	return names
}

// RunDue runs, once each, the schedules that came due between their last
// run and now, and returns the names of those that ran ("timed",
// "digest:<subscription>"). A schedule seen for the first time starts
// now: it runs at its next time. It takes the scheduler lease first
// (waiting while another scheduler holds it) and releases it when done;
// do not call it while Run runs.
func (s *Scheduler) RunDue(ctx context.Context, now time.Time) ([]string, error) {
	if err := s.lease.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.lease.release(context.WithoutCancel(ctx))
	defer s.keepWhile(ctx)() // stops renewing before the release
	return s.runDue(ctx, now)
}

// runDue is RunDue under the lease.
func (s *Scheduler) runDue(ctx context.Context, now time.Time) ([]string, error) {
	scheds, err := s.schedules(ctx)
	if err != nil {
		return nil, err
	}
	var ran []string
	for _, sc := range scheds {
		ok, err := s.runIfDue(ctx, sc, now)
		if err != nil {
			return ran, fmt.Errorf("schedule %s: %w", sc.name, err)
		}
		if ok {
			ran = append(ran, sc.name)
		}
	}
	return ran, nil
}

func (s *Scheduler) runIfDue(ctx context.Context, sc schedule, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lease.canStart() { // the lease was lost, or its renewals fail
		return false, errSchedulerNotHolder
	}
	last, err := s.outbox.LastRun(ctx, sc.name)
	if err != nil {
		return false, err
	}
	if last.IsZero() {
		_, err := s.outbox.RecordRun(ctx, sc.name, now, nil)
		return false, err
	}
	if next := sc.sched.Next(last); next.After(now) {
		return false, nil
	}
	// The read side first follows everything committed so far, so the run
	// covers it.
	head, err := s.cfg.Log.Head(ctx)
	if err != nil {
		return false, err
	}
	if err := s.cfg.Read.WaitFor(ctx, head); err != nil {
		return false, err
	}
	var ds []Delivery
	if sc.sub != nil {
		ds, err = s.digest(ctx, *sc.sub, last, now)
	} else {
		ds, err = s.timed(ctx, last, now)
	}
	if err != nil {
		return false, err
	}
	added, err := s.outbox.RecordRun(ctx, sc.name, now, ds)
	if err != nil {
		return false, err
	}
	s.logger.InfoContext(ctx, "schedule ran", "schedule", sc.name, "since", last, "until", now, "deliveries", added)
	if added > 0 {
		s.cfg.OnEnqueued()
	}
	return true, nil
}

// runHeld starts cron (under jobWrappers) with one entry
// per schedule, first catching up what came due while no scheduler ran,
// and re-reads the schedules every Refresh until ctx ends (ctx ends when
// the lease is lost).
func (s *Scheduler) runHeld(ctx context.Context) error {
	if _, err := s.runDue(ctx, s.cfg.Now()); err != nil {
		s.logger.ErrorContext(ctx, "scheduler catch-up", "err", err)
	}
	clog := cronLogger{s.logger}
	c := cron.New(cron.WithChain(jobWrappers(clog)...), cron.WithLocation(time.UTC))
	entries := map[string]cron.EntryID{}
	specs := map[string]string{}
	refresh := func() {
		scheds, err := s.schedules(ctx)
		if err != nil {
			s.logger.ErrorContext(ctx, "read schedules", "err", err)
			return
		}
		seen := map[string]bool{}
		for _, sc := range scheds {
			seen[sc.name] = true
			if id, ok := entries[sc.name]; ok && specs[sc.name] == sc.spec {
				continue
			} else if ok {
				c.Remove(id)
			}
			sc := sc
			entries[sc.name] = c.Schedule(sc.sched, cron.FuncJob(func() {
				if _, err := s.runIfDue(ctx, sc, s.cfg.Now()); err != nil {
					s.logger.ErrorContext(ctx, "scheduled run", "schedule", sc.name, "err", err)
				}
			}))
			specs[sc.name] = sc.spec
		}
		for name, id := range entries {
			if !seen[name] {
				c.Remove(id)
				delete(entries, name)
			}
		}
	}
	refresh()
	c.Start()
	defer func() { <-c.Stop().Done() }()
	t := time.NewTicker(s.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.subs.invalidate()
			refresh()
		}
	}
}

// jobWrappers are what every cron job runs under: at most one run of a
// job at a time, and a panic recovered and logged. Recover is the inner
// wrapper: robfig/cron's SkipIfStillRunning frees its slot only when the
// job returns, so a panic passing through it would skip every later run.
func jobWrappers(l cron.Logger) []cron.JobWrapper {
	return []cron.JobWrapper{cron.SkipIfStillRunning(l), cron.Recover(l)}
}

type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}

// treatyStatus returns a treaty's status as of a date, from the read side.
func (s *Scheduler) treatyStatus(ctx context.Context, id string, asOf events.Date) (projections.Status, error) {
	return s.cfg.Read.Status(ctx, id, asOf, time.Time{})
}

// timed returns the countdown, entry-into-force and signature-window
// notices whose day falls in (since, until], for every subscription that
// wants them.
func (s *Scheduler) timed(ctx context.Context, since, until time.Time) ([]Delivery, error) {
	from, to := events.DateOf(since.UTC()), events.DateOf(until.UTC())
	if !from.Before(to) {
		return nil, nil
	}
	in := func(d events.Date) bool { return d.After(from) && !d.After(to) }
	var notices []Notice
	for _, id := range s.cfg.Read.Treaties() {
		st, err := s.treatyStatus(ctx, id, projections.EndOfTime())
		var ut *events.UnknownTreatyError
		if errors.As(err, &ut) {
			continue
		}
		if err != nil {
			return nil, err
		}
		def, ok := s.cfg.Read.Definition(id)
		if !ok {
			continue
		}
		base := Notice{Treaty: id, TreatyName: def.Name(), Counted: st.Counted, Required: st.Required}
		if e := st.EntryIntoForce; e != nil {
			base.EntryIntoForce = *e
			for _, days := range []int{30, 7, 1} {
				if d := e.AddDays(-days); in(d) {
					n := base
					n.Kind, n.Date, n.DaysLeft = KindCountdown, d, days
					notices = append(notices, n)
				}
			}
			if in(*e) {
				n := base
				n.Kind, n.Date = KindInForce, *e
				notices = append(notices, n)
			}
		}
		if w := def.Signature; w != nil && !w.Closes.IsZero() {
			for _, days := range []int{30, 7} {
				if d := w.Closes.AddDays(-days); in(d) {
					n := base
					n.Kind, n.Date, n.DaysLeft = KindSignatureWindow, w.Closes, days
					notices = append(notices, n)
				}
			}
		}
	}
	subs, err := s.subs.current(ctx)
	if err != nil {
		return nil, err
	}
	var ds []Delivery
	for _, sub := range sortedSubs(subs) {
		for _, n := range notices {
			if Wants(sub, n) {
				ds = append(ds, Delivery{Subscription: sub.ID, DedupKey: DedupKey(n), ChannelKey: ChannelKey(sub), ThreadKey: n.Treaty, Notice: n, CreatedAt: until})
			}
		}
	}
	return ds, nil
}

// digest builds a subscription's digest of what was recorded in
// (since, until], with each followed treaty's progress at until. The
// transitions come from the read side, parent-aware like the live notices.
func (s *Scheduler) digest(ctx context.Context, sub events.Subscription, since, until time.Time) ([]Delivery, error) {
	ids := sub.Treaties
	if len(ids) == 0 {
		ids = s.cfg.Read.Treaties()
	}
	d := &Digest{Since: since.UTC(), Until: until.UTC(), Items: []Notice{}, Progress: []Progress{}}
	asOf := events.DateOf(until.UTC())
	inSpan := func(e events.Envelope) bool { return e.RecordedAt.After(since) && !e.RecordedAt.After(until) }
	var refs []projections.Progress // every treaty's curve, read once the first forecast needs them
	for _, id := range ids {
		def, ok := s.cfg.Read.Definition(id)
		if !ok {
			continue
		}
		trs, err := s.cfg.Read.TreatyTransitions(ctx, id, inSpan)
		if err != nil {
			return nil, err
		}
		for _, tr := range trs {
			if !tr.Registered {
				continue
			}
			for _, n := range EventNotices(tr.Event, tr.Payload, tr.Definition, tr.Before, tr.After) {
				if sub.Participant == "" || n.Participant == sub.Participant {
					d.Items = append(d.Items, n)
				}
			}
		}
		st, err := s.treatyStatus(ctx, id, asOf)
		if err != nil {
			return nil, err
		}
		pr := Progress{Treaty: id, TreatyName: def.Name(), Counted: st.Counted, Required: st.Required, InForce: st.InForce}
		if st.EntryIntoForce != nil {
			pr.EntryIntoForce = *st.EntryIntoForce
		} else if pr.Forecast, err = s.forecastLine(ctx, &refs, def, st); err != nil {
			return nil, err
		}
		d.Progress = append(d.Progress, pr)
	}
	n := Notice{Kind: KindDigest, Date: asOf, Digest: d}
	return []Delivery{{Subscription: sub.ID, DedupKey: DedupKey(n), ChannelKey: ChannelKey(sub), Notice: n, CreatedAt: until}}, nil
}

// forecastLine is a digest's forecast of a treaty whose entry into force
// is not known (projections.ForecastProgress, against every treaty's curve as
// of the same date, read into *refs on first use); nil when there is no
// estimate.
func (s *Scheduler) forecastLine(ctx context.Context, refs *[]projections.Progress, def events.Definition, st projections.Status) (*ForecastLine, error) {
	if *refs == nil {
		*refs = []projections.Progress{}
		for _, id := range s.cfg.Read.Treaties() {
			d, ok := s.cfg.Read.Definition(id)
			if !ok {
				continue
			}
			rs, err := s.treatyStatus(ctx, id, st.AsOf)
			var ut *events.UnknownTreatyError
			if errors.As(err, &ut) {
				continue
			}
			if err != nil {
				return nil, err
			}
			*refs = append(*refs, projections.NewProgress(d, rs))
		}
	}
	fc := projections.ForecastProgress(projections.NewProgress(def, st), *refs)
	if fc.Outcome != projections.Estimated {
		return nil, nil
	}
	return &ForecastLine{Earliest: *fc.Earliest, Central: *fc.EntryIntoForce, Latest: *fc.Latest, References: len(fc.References),
		BeatsNaive: fc.ModelBeatsNaive != nil && *fc.ModelBeatsNaive}, nil
}

func sortedSubs(m map[string]events.Subscription) []events.Subscription {
	out := make([]events.Subscription, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
