package export

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// LogReader is what Copy reads the log from: the ledger's store
// (*sqlite.Store), or any events.Store.
type LogReader interface {
	ReadAll(ctx context.Context, after int64, limit int) ([]events.Envelope, error)
}

// streamReader is what a LogReader may also offer: one stream at a time.
type streamReader interface {
	ReadStream(ctx context.Context, stream string) ([]events.Envelope, error)
}

// subscriptionReader is what FirstLegacySecret reads: the subscription
// streams.
type subscriptionReader interface {
	Streams(ctx context.Context, prefix string) ([]string, error)
	streamReader
}

// LogFilter selects the events of a log export. The zero LogFilter
// selects the whole log.
type LogFilter struct {
	// Stream, if not "", keeps only that stream's events (a treaty's:
	// events.TreatyStream).
	Stream string
	// Until keeps the events up to and including it; the zero Until, all.
	Until Until
}

// Until bounds a log export: a position (the events up to and including
// it, a prefix of the log, which import-log can import), or a moment (the
// events recorded at or before it, what the ledger held then, as
// --known-at folds it).
type Until struct {
	Position int64
	Time     time.Time
}

// IsZero reports whether u bounds nothing.
func (u Until) IsZero() bool { return u.Position == 0 && u.Time.IsZero() }

// ParseUntil parses --until (until=): a position (a whole number ≥ 1), a
// date YYYY-MM-DD (the end of that day, UTC) or an RFC 3339 time. A value
// that is none of them is an *events.InvalidError.
func ParseUntil(s string) (Until, error) {
	if s == "" {
		return Until{}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 1 {
			return Until{}, &events.InvalidError{Field: "until", Reason: fmt.Sprintf("position %d: want 1 or more", n)}
		}
		return Until{Position: n}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return Until{Time: t.UTC()}, nil
	}
	if d, err := events.ParseDate(s); err == nil {
		return Until{Time: d.Time().Add(24*time.Hour - time.Nanosecond)}, nil
	}
	return Until{}, &events.InvalidError{Field: "until", Reason: fmt.Sprintf("%q: want a log position (123), a date (2026-06-30: the events recorded by the end of that day, UTC) or an RFC 3339 time", s)}
}

// keep reports whether e is selected, and whether no later event can be.
func (f LogFilter) keep(e events.Envelope) (keep, done bool) {
	if f.Until.Position > 0 && e.Position > f.Until.Position {
		return false, true
	}
	if !f.Until.Time.IsZero() && e.RecordedAt.After(f.Until.Time) {
		return false, false // recorded times may step back (another process's clock): look on
	}
	return f.Stream == "" || e.Stream == f.Stream, false
}

// copyPage is how many events Copy reads at a time.
const copyPage = 1000

// Copy writes the events of r that f selects to out, in position order,
// reading one page of the log at a time (one stream with one read when r
// reads streams and f names one), so that its memory does not depend on
// the log's length; after each page it calls flush, if not nil, so a
// caller streaming over the network sends what is written. It returns the
// number of events written; it does not Flush out.
func Copy(ctx context.Context, r LogReader, f LogFilter, out *Log, flush func()) (int64, error) {
	var n int64
	write := func(page []events.Envelope) (bool, error) {
		for _, e := range page {
			keep, done := f.keep(e)
			if done {
				return true, nil
			}
			if !keep {
				continue
			}
			if err := out.Write(e); err != nil {
				return true, err
			}
			n++
		}
		if flush != nil {
			flush()
		}
		return false, nil
	}
	if sr, ok := r.(streamReader); ok && f.Stream != "" {
		evs, err := sr.ReadStream(ctx, f.Stream)
		if err != nil {
			return n, err
		}
		_, err = write(evs)
		return n, err
	}
	after := int64(0)
	for {
		page, err := r.ReadAll(ctx, after, copyPage)
		if err != nil {
			return n, err
		}
		if len(page) == 0 {
			return n, nil
		}
		after = page[len(page)-1].Position
		if done, err := write(page); done || err != nil {
			return n, err
		}
		if len(page) < copyPage {
			return n, nil
		}
	}
}

// FirstLegacySecret returns the position of the first event that an
// archive of f's selection would refuse (HoldsLegacySecret), or 0: it
// reads the subscription streams only, so that an export can be refused
// before its first byte. It returns 0 when r cannot list streams (Copy
// then refuses the event when it meets it).
func FirstLegacySecret(ctx context.Context, r LogReader, f LogFilter) (int64, error) {
	sr, ok := r.(subscriptionReader)
	if !ok {
		return 0, nil
	}
	if _, isTreaty := events.TreatyOfStream(f.Stream); isTreaty {
		return 0, nil
	}
	streams, err := sr.Streams(ctx, events.SubscriptionStream(""))
	if err != nil {
		return 0, err
	}
	first := int64(0)
	for _, st := range streams {
		if f.Stream != "" && st != f.Stream {
			continue
		}
		evs, err := sr.ReadStream(ctx, st)
		if err != nil {
			return 0, err
		}
		for _, e := range evs {
			if keep, _ := f.keep(e); keep && HoldsLegacySecret(e) && (first == 0 || e.Position < first) {
				first = e.Position
			}
		}
	}
	return first, nil
}
