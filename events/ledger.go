package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LedgerConfig configures a Ledger.
type LedgerConfig struct {
	// Now is the clock that says what "today" is. Required: domain code
	// never reads the system clock itself.
	Now func() time.Time
	// Location is the time zone in which "today" is taken; default UTC.
	Location *time.Location
	// NewID returns a fresh correlation id; default 16 random hex bytes.
	NewID func() string
	// Retries is how many times a command is decided again after a
	// concurrent write conflict; default 3.
	Retries int
	// Logger logs commands; nil means no logging.
	Logger *slog.Logger
	// Secrets keeps the sink secrets of subscriptions (webhook URLs, HMAC
	// secrets) out of the log. Required to subscribe a webhook sink.
	Secrets SecretStore
	// ValidateSchedule checks a digest's cron spec and time zone (the
	// notifier's scheduler knows the grammar). Required to subscribe with
	// a digest.
	ValidateSchedule func(spec, tz string) error
	// OnAppend, if set, is called after every successful append (to wake
	// readers of the log in this process: the projection runner, the
	// notifier's subscriber).
	OnAppend func()
}

func (c *LedgerConfig) setDefaults() {
	if c.Location == nil {
		c.Location = time.UTC
	}
	if c.NewID == nil {
		c.NewID = randomID
	}
	if c.Retries == 0 {
		c.Retries = 3
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.OnAppend == nil {
		c.OnAppend = func() {}
	}
}

// Validate reports a configuration that cannot work.
func (c LedgerConfig) Validate() error {
	if c.Now == nil {
		return errors.New("events: LedgerConfig.Now is required")
	}
	return nil
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Ledger is the write side's application service: it parses and resolves
// command input, loads the streams a decision needs, decides, and appends.
// The command line and the HTTP API both call it, so both give the same
// answers. A Ledger is safe for concurrent use.
type Ledger struct {
	store Store
	reg   *Registry
	base  *Directory
	cfg   LedgerConfig
	cache historyCache
	subMu sync.Mutex // one Subscribe at a time: the duplicate check and the append
}

// NewLedger returns a Ledger writing to store.
func NewLedger(store Store, cfg LedgerConfig) (*Ledger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	dir, err := NewDirectory()
	if err != nil {
		return nil, err
	}
	return &Ledger{store: store, reg: NewRegistry(), base: dir, cfg: cfg}, nil
}

// Registry returns the payload registry the ledger decodes with.
func (l *Ledger) Registry() *Registry { return l.reg }

// Today returns today's date by the injected clock.
func (l *Ledger) Today() Date { return DateOf(l.cfg.Now().In(l.cfg.Location)) }

// Directory returns the participants known now: the reference list plus
// those registered in the ledger. The caller may extend its copy.
func (l *Ledger) Directory(ctx context.Context) (*Directory, error) {
	var out *Directory
	err := l.locked(func() error {
		dir, err := l.directoryLocked(ctx)
		if err == nil {
			out = dir.Clone()
		}
		return err
	})
	return out, err
}

// loadDirectory folds the participants stream onto the reference list.
func (l *Ledger) loadDirectory(ctx context.Context) (*Directory, error) {
	evs, err := l.store.ReadStream(ctx, ParticipantsStream)
	if err != nil {
		return nil, fmt.Errorf("read participants: %w", err)
	}
	dir := l.base.Clone()
	for _, e := range evs {
		if err := l.addRegistered(dir, e); err != nil {
			return nil, err
		}
	}
	return dir, nil
}

// addRegistered adds the participant a participant.registered event names.
func (l *Ledger) addRegistered(dir *Directory, e Envelope) error {
	p, err := l.reg.Decode(e)
	if err != nil {
		return err
	}
	if pr, ok := p.(*ParticipantRegistered); ok {
		if err := dir.Add(pr.Participant); err != nil {
			return fmt.Errorf("position %d: %w", e.Position, err)
		}
	}
	return nil
}

// History folds one treaty's stream as known at knownAt (zero: now).
func (l *Ledger) History(ctx context.Context, treaty string, knownAt time.Time) (*History, error) {
	evs, err := l.store.ReadStream(ctx, TreatyStream(treaty))
	if err != nil {
		return nil, fmt.Errorf("read treaty %s: %w", treaty, err)
	}
	return Fold(l.reg, evs, knownAt)
}

// Treaties returns the latest definition of every registered treaty,
// sorted by id.
func (l *Ledger) Treaties(ctx context.Context) ([]Definition, error) {
	var out []Definition
	err := l.locked(func() error {
		var err error
		out, err = l.treatiesLocked(ctx)
		return err
	})
	return out, err
}

func (l *Ledger) treatiesLocked(ctx context.Context) ([]Definition, error) {
	streams, err := l.store.Streams(ctx, TreatyStream(""))
	if err != nil {
		return nil, fmt.Errorf("list treaties: %w", err)
	}
	var out []Definition
	for _, s := range streams {
		id, _ := TreatyOfStream(s)
		h, err := l.historyLocked(ctx, id)
		if err != nil {
			return nil, err
		}
		if h.Registered {
			out = append(out, h.Definition)
		}
	}
	return out, nil
}

// treaty loads a registered treaty and its parent, or an *UnknownTreatyError.
func (l *Ledger) treaty(ctx context.Context, id string) (*History, *History, error) {
	h, err := l.History(ctx, id, time.Time{})
	if err != nil {
		return nil, nil, err
	}
	if !h.Registered {
		return nil, nil, l.unknownTreaty(ctx, id)
	}
	var parent *History
	if p := h.Definition.Parent; p != "" {
		if parent, err = l.History(ctx, p, time.Time{}); err != nil {
			return nil, nil, err
		}
	}
	return h, parent, nil
}

func (l *Ledger) unknownTreaty(ctx context.Context, id string) error {
	var err error
	_ = l.locked(func() error { err = l.unknownTreatyLocked(ctx, id); return nil })
	return err
}

func (l *Ledger) unknownTreatyLocked(ctx context.Context, id string) error {
	e := &UnknownTreatyError{Treaty: id}
	if defs, err := l.treatiesLocked(ctx); err == nil {
		for _, d := range defs {
			e.Known = append(e.Known, d.ID)
		}
	}
	return e
}

// ResolveTreaty accepts a treaty id, or a short title, title or a
// case-insensitive prefix of either ("hanoi"), and returns the id.
func (l *Ledger) ResolveTreaty(ctx context.Context, name string) (string, error) {
	defs, err := l.Treaties(ctx)
	if err != nil {
		return "", err
	}
	norm := func(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }
	q := norm(name)
	for _, d := range defs {
		if norm(d.ID) == q || norm(d.ShortTitle) == q || norm(d.Title) == q {
			return d.ID, nil
		}
	}
	var match []string
	for _, d := range defs {
		short, title := norm(d.ShortTitle), norm(d.Title)
		if q != "" && (strings.HasPrefix(short, q) || strings.HasPrefix(title, q) || strings.Contains(short, q) && len(q) >= 4) {
			match = append(match, d.ID)
		}
	}
	if len(match) == 1 {
		return match[0], nil
	}
	e := &UnknownTreatyError{Treaty: name}
	for _, d := range defs {
		e.Known = append(e.Known, d.ID)
	}
	return "", e
}

// AddTreaty registers a treaty definition, or records an amendment when
// the id is registered and the definition changed. It returns the stored
// event, or nil when the definition is unchanged.
func (l *Ledger) AddTreaty(ctx context.Context, def Definition, meta Metadata) (*Envelope, error) {
	return l.retry(ctx, func() (*Envelope, error) {
		l.cache.mu.Lock()
		defer l.cache.mu.Unlock()
		h, err := l.historyLocked(ctx, def.ID)
		if err != nil {
			return nil, err
		}
		p, err := DecideDefinition(h, def)
		if err != nil || p == nil {
			return nil, err
		}
		return l.appendOne(ctx, TreatyStream(def.ID), h.Version, p, Date{}, meta)
	})
}

// RecordInput is a record command as typed by a person: names and dates
// as text. The CLI's record command and the HTTP API's actions endpoint
// take it unchanged.
type RecordInput struct {
	Treaty      string
	Action      string
	Participant string
	Date        string
	Subject     string
	Note        string
	Meta        Metadata
}

// Record parses, resolves, decides and appends one act. It returns the
// stored event, or a typed refusal with nothing written.
func (l *Ledger) Record(ctx context.Context, in RecordInput) (*Envelope, error) {
	action, err := ParseAction(strings.TrimSpace(in.Action))
	if err != nil {
		return nil, err
	}
	date, err := ParseDate(in.Date)
	if err != nil {
		return nil, err
	}
	return l.retry(ctx, func() (*Envelope, error) {
		l.cache.mu.Lock()
		defer l.cache.mu.Unlock()
		dir, err := l.directoryLocked(ctx)
		if err != nil {
			return nil, err
		}
		var p Participant
		if strings.TrimSpace(in.Participant) != "" || action != ProtocolAdopted {
			if p, err = dir.Resolve(in.Participant); err != nil {
				return nil, err
			}
		}
		cmd := RecordAct{Treaty: in.Treaty, Participant: p, Action: action, Date: date, Subject: in.Subject, Note: in.Note, Meta: in.Meta}
		h, parent, err := l.treatyLocked(ctx, in.Treaty)
		if err != nil {
			return nil, err
		}
		act, err := DecideRecord(h, parent, cmd, l.Today())
		if err != nil {
			return nil, err
		}
		e, err := l.appendOne(ctx, TreatyStream(in.Treaty), h.Version, &act, act.Date, l.meta(in.Meta))
		if err == nil {
			l.cfg.Logger.InfoContext(ctx, "act recorded", "treaty", in.Treaty, "action", act.Action, "participant", act.Participant, "date", act.Date.String(), "position", e.Position)
		}
		return e, err
	})
}

// CorrectInput is a correction as typed by a person. Empty fields keep the
// superseded act's value.
type CorrectInput struct {
	Treaty      string
	Position    int64
	Reason      string
	Action      string
	Participant string
	Date        string
	Subject     string
	Note        string
	Meta        Metadata
}

// Correct supersedes the act at a position with a corrected one.
func (l *Ledger) Correct(ctx context.Context, in CorrectInput) (*Envelope, error) {
	cmd := CorrectAct{Treaty: in.Treaty, Position: in.Position, Reason: in.Reason, Subject: in.Subject, Note: in.Note, Meta: in.Meta}
	var err error
	if in.Action != "" {
		if cmd.Action, err = ParseAction(in.Action); err != nil {
			return nil, err
		}
	}
	if in.Date != "" {
		if cmd.Date, err = ParseDate(in.Date); err != nil {
			return nil, err
		}
	}
	if in.Participant != "" {
		dir, err := l.Directory(ctx)
		if err != nil {
			return nil, err
		}
		if cmd.Participant, err = dir.Resolve(in.Participant); err != nil {
			return nil, err
		}
	}
	return l.retry(ctx, func() (*Envelope, error) {
		l.cache.mu.Lock()
		defer l.cache.mu.Unlock()
		h, parent, err := l.treatyLocked(ctx, in.Treaty)
		if err != nil {
			return nil, err
		}
		p, err := DecideCorrect(h, parent, cmd, l.Today())
		if err != nil {
			return nil, err
		}
		meta := l.meta(in.Meta)
		meta.CausationID = strconv.FormatInt(p.Supersedes, 10)
		return l.appendOne(ctx, TreatyStream(in.Treaty), h.Version, &p, p.Act.Date, meta)
	})
}

// Retract withdraws the act at a position, recorded in error.
func (l *Ledger) Retract(ctx context.Context, treaty string, position int64, reason string, meta Metadata) (*Envelope, error) {
	return l.retry(ctx, func() (*Envelope, error) {
		l.cache.mu.Lock()
		defer l.cache.mu.Unlock()
		h, _, err := l.treatyLocked(ctx, treaty)
		if err != nil {
			return nil, err
		}
		p, err := DecideRetract(h, RetractAct{Treaty: treaty, Position: position, Reason: reason, Meta: meta})
		if err != nil {
			return nil, err
		}
		old, _ := h.Fact(position)
		m := l.meta(meta)
		m.CausationID = strconv.FormatInt(position, 10)
		return l.appendOne(ctx, TreatyStream(treaty), h.Version, &p, old.Date, m)
	})
}

func (l *Ledger) meta(m Metadata) Metadata {
	m.Reference = strings.TrimSpace(m.Reference)
	m.Source = strings.TrimSpace(m.Source)
	if m.CorrelationID == "" {
		m.CorrelationID = l.cfg.NewID()
	}
	return m
}

func (l *Ledger) appendOne(ctx context.Context, stream string, expected int64, p Payload, valid Date, meta Metadata) (*Envelope, error) {
	rec, err := l.reg.NewRecord(p, valid, meta)
	if err != nil {
		return nil, err
	}
	evs, err := l.appendResult(ctx, func(stored []Envelope) any { return &stored[0] },
		StreamAppend{Stream: stream, ExpectedVersion: expected, Records: []Record{rec}})
	if err != nil {
		return nil, err
	}
	l.cfg.OnAppend()
	return &evs[0], nil
}

// retry runs a load-decide-append step again when another writer appended
// to the stream in between, so the decision always sees the latest history.
func (l *Ledger) retry(ctx context.Context, step func() (*Envelope, error)) (*Envelope, error) {
	for i := 0; ; i++ {
		e, err := step()
		if err == nil || !errors.Is(err, ErrConflict) || i >= l.cfg.Retries {
			return e, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}
