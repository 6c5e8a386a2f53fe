package untc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
)

// ParseEvery parses the cron spec of a watcher (five fields, or @hourly,
// @daily, @every 6h) in UTC, with the checks every schedule of
// treatywatch gets (notifiers.ParseSchedule: never a spec that does not
// fire, nor one more often than once a minute). Its errors are
// *events.InvalidError for the field "every".
func ParseEvery(spec string) (cron.Schedule, error) {
	s, err := notifiers.ParseSchedule(spec, "")
	if err != nil {
		var ie *events.InvalidError
		if errors.As(err, &ie) && ie.Field == "digest" {
			return nil, &events.InvalidError{Field: "every", Reason: ie.Reason}
		}
		return nil, err
	}
	return s, nil
}

// Outcomes of a poll.
const (
	// OutcomeRecorded: the file had acts the ledger lacked; they were
	// recorded.
	OutcomeRecorded = "recorded"
	// OutcomeUnchanged: the file was fetched and read; the ledger has
	// everything it shows.
	OutcomeUnchanged = "unchanged"
	// OutcomeNotModified: the server answered 304; nothing was read.
	OutcomeNotModified = "not-modified"
	// OutcomeFailed: the file could not be fetched or read, or the ledger
	// refused its acts; nothing was recorded.
	OutcomeFailed = "failed"
)

// Poll is what one poll did.
type Poll struct {
	// N counts the polls of the watcher, from 1.
	N       int
	Outcome string
	// Result is the comparison and what was recorded (nil unless the
	// file was read and compared).
	Result *Result
	// Err is why a failed poll failed.
	Err error
}

// Stats counts a watcher's polls by outcome.
type Stats struct {
	Polls, Recorded, Unchanged, NotModified, Failed int
	// Acts is the number of acts recorded by all polls.
	Acts int
}

// WatcherConfig configures a Watcher.
type WatcherConfig struct {
	// Ledger records; Treaty is the id of a registered treaty. Required.
	Ledger *events.Ledger
	Treaty string
	// URL is the status file's http(s) URL; required.
	URL string
	// Schedule says when to poll (ParseEvery); required. The watcher also
	// polls once when it starts.
	Schedule cron.Schedule
	// Fetcher fetches; default NewFetcher(FetcherConfig{}).
	Fetcher *Fetcher
	// Source is the recorded acts' source; default the URL (SourceOf:
	// without a user or password).
	Source string
	// Meta is the recorded acts' metadata; default actor "untc-watch".
	Meta events.Metadata
	// AfterPoll, if set, is called after each poll with what it did.
	AfterPoll func(Poll)
}

// Validate reports a configuration that cannot work.
func (c WatcherConfig) Validate() error {
	if c.Ledger == nil || c.Treaty == "" || c.Schedule == nil {
		return errors.New("untc: WatcherConfig needs Ledger, Treaty and Schedule")
	}
	_, err := CheckURL(c.URL)
	return err
}

// Watcher polls a status file on a schedule and imports each version
// the server sends (Import), so an act the depositary publishes is
// recorded — and, through the ledger, notified — without an officer
// typing it. Requests are conditional (ETag, Last-Modified): a 304
// records nothing. A poll that fails (fetch, parse, or the ledger's
// refusal) is logged at level Error with the reason, and the next poll
// runs as scheduled; the validators of a failed poll are not kept, so a
// file the server does not change is read again. Polls never overlap.
type Watcher struct {
	cfg    WatcherConfig
	logger *slog.Logger
	url    string // redacted, for logs

	mu    sync.Mutex
	prev  Validators
	stats Stats
}

// NewWatcher returns a Watcher; a nil logger logs nothing.
func NewWatcher(cfg WatcherConfig, logger *slog.Logger) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, _ := CheckURL(cfg.URL)
	if cfg.Fetcher == nil {
		cfg.Fetcher = NewFetcher(FetcherConfig{})
	}
	if cfg.Source == "" {
		cfg.Source = SourceOf(u)
	}
	if cfg.Meta.Actor == "" {
		cfg.Meta.Actor = "untc-watch"
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Watcher{cfg: cfg, logger: logger.With("treaty", cfg.Treaty, "url", u.Redacted()), url: u.Redacted()}, nil
}

// Stats returns the polls so far, by outcome.
func (w *Watcher) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Run polls once, then on the schedule (robfig/cron, with cron.Recover
// and cron.SkipIfStillRunning), until ctx ends; it returns nil then,
// after the poll in flight, if any, has stopped.
func (w *Watcher) Run(ctx context.Context) error {
	clog := cronLogger{w.logger}
	// SkipIfStillRunning outside Recover: robfig/cron v3.0.1's
	// SkipIfStillRunning takes its token back only when the job returns,
	// so a panic passing through it would skip every later poll.
	job := cron.NewChain(cron.SkipIfStillRunning(clog), cron.Recover(clog)).Then(cron.FuncJob(func() { w.PollOnce(ctx) }))
	c := cron.New(cron.WithLocation(time.UTC), cron.WithLogger(clog))
	c.Schedule(w.cfg.Schedule, job)
	var first sync.WaitGroup
	first.Go(job.Run)
	c.Start()
	w.logger.Info("untc watch: watching the depositary's status file", "next", w.cfg.Schedule.Next(time.Now()).UTC().Format(time.RFC3339))
	<-ctx.Done()
	<-c.Stop().Done()
	first.Wait()
	return nil
}

// PollOnce fetches the file (conditionally), reads it and imports what
// the ledger lacks, and returns what it did. Run calls it; it is safe to
// call, but not concurrently with itself.
func (w *Watcher) PollOnce(ctx context.Context) Poll {
	w.mu.Lock()
	prev := w.prev
	w.stats.Polls++
	p := Poll{N: w.stats.Polls}
	w.mu.Unlock()
	var next Validators
	p.Outcome, p.Result, next, p.Err = w.poll(ctx, prev)
	w.mu.Lock()
	switch p.Outcome {
	case OutcomeFailed:
		w.stats.Failed++
		w.prev = Validators{}
	case OutcomeNotModified:
		w.stats.NotModified++
	case OutcomeUnchanged:
		w.stats.Unchanged++
		w.prev = next
	case OutcomeRecorded:
		w.stats.Recorded++
		w.stats.Acts += p.Result.Recorded
		w.prev = next
	}
	w.mu.Unlock()
	if w.cfg.AfterPoll != nil {
		w.cfg.AfterPoll(p)
	}
	return p
}

func (w *Watcher) poll(ctx context.Context, prev Validators) (string, *Result, Validators, error) {
	got, err := w.cfg.Fetcher.Fetch(ctx, w.cfg.URL, prev)
	if err != nil {
		if ctx.Err() != nil {
			return OutcomeFailed, nil, Validators{}, err
		}
		var nf *NotStatusFileError
		if errors.As(err, &nf) {
			w.logger.Error("untc watch: the status file cannot be parsed; nothing recorded, the next poll tries again", "err", err)
		} else {
			w.logger.Error("untc watch: the status file cannot be fetched; nothing recorded, the next poll tries again", "err", err)
		}
		return OutcomeFailed, nil, Validators{}, err
	}
	if got.NotModified {
		w.logger.Debug("untc watch: not modified since the last poll (304)")
		return OutcomeNotModified, nil, prev, nil
	}
	f, err := Parse(bytes.NewReader(got.Body))
	if err != nil {
		w.logger.Error("untc watch: the status file cannot be parsed; nothing recorded, the next poll tries again", "err", err)
		return OutcomeFailed, nil, Validators{}, err
	}
	res, err := Import(ctx, w.cfg.Ledger, w.cfg.Treaty, f, Options{Source: w.cfg.Source, Meta: w.cfg.Meta})
	if err != nil && ctx.Err() != nil {
		return OutcomeFailed, nil, Validators{}, err // stopping
	}
	if err != nil {
		w.logger.Error("untc watch: the ledger refused the status file's acts; nothing recorded, the next poll tries again", "err", err)
		return OutcomeFailed, nil, Validators{}, err
	}
	for _, warning := range res.Warnings {
		w.logger.Warn("untc watch: " + warning)
	}
	for _, c := range res.Conflicts {
		w.logger.Warn("untc watch: the status file and the ledger disagree; not recorded", "participant", c.Participant, "action", string(c.Action), "date", c.Date.String(), "reason", c.Reason)
	}
	if res.Recorded == 0 {
		w.logger.Debug("untc watch: the ledger has every act of the status file", "unchanged", res.Unchanged)
		return OutcomeUnchanged, res, got.Validators, nil
	}
	positions := make([]int64, 0, len(res.Missing))
	for _, c := range res.Missing {
		positions = append(positions, c.Position)
	}
	w.logger.Info("untc watch: recorded acts from the depositary's status file", "recorded", res.Recorded, "positions", fmt.Sprint(positions))
	return OutcomeRecorded, res, got.Validators, nil
}

type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
