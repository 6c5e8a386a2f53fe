package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
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
	// ValidateSink, if set, checks that a subscription's sink can be
	// delivered to at all — a Slack bot token configured for the slack
	// sink, a webhook URL that is not a placeholder — once everything else
	// about the subscription is valid, and before it is recorded. A refusal
	// is an *InvalidError, and never holds the URL or a secret.
	ValidateSink func(s Subscription, secret SinkSecret) error
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

// treatiesLocked reads the definitions from the store's definition
// events alone (Store.ReadDefinitions): listing or resolving treaties
// costs what the definitions cost, never a fold of every treaty's stream.
func (l *Ledger) treatiesLocked(ctx context.Context) ([]Definition, error) {
	evs, err := l.store.ReadDefinitions(ctx)
	if err != nil {
		return nil, fmt.Errorf("list treaties: %w", err)
	}
	return LatestDefinitions(l.reg, evs)
}

// LatestDefinitions returns, sorted by id, the latest definition of each
// treaty that definition events (treaty.registered and
// treaty.definition-amended, in position order) register.
func LatestDefinitions(reg *Registry, defs []Envelope) ([]Definition, error) {
	latest := map[string]Definition{}
	for _, e := range defs {
		id, ok := TreatyOfStream(e.Stream)
		if !ok {
			continue
		}
		p, err := reg.Decode(e)
		if err != nil {
			return nil, err
		}
		switch v := p.(type) {
		case *TreatyRegistered:
			latest[id] = v.Definition
		case *TreatyAmended:
			if _, registered := latest[id]; registered {
				latest[id] = v.Definition
			}
		}
	}
	out := make([]Definition, 0, len(latest))
	for _, d := range latest {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
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
// case-insensitive prefix of either ("hanoi"), and returns the id. A name
// that is empty, or not text a one-line field may hold (CheckText), is
// refused as invalid before any lookup. A name nothing matches is an
// *UnknownTreatyError, unless it has a character that can be neither in
// a treaty id nor in a title ('/', '\\', '"', '<', '>', ...): then an
// *InvalidTreatyIDError, since "../../etc/passwd" is not the name of any
// treaty that could be registered.
func (l *Ledger) ResolveTreaty(ctx context.Context, name string) (string, error) {
	if strings.TrimSpace(name) == "" {
		return "", &InvalidError{Field: "treaty", Reason: "is required: a treaty id (XVIII-16) or name (hanoi)"}
	}
	if err := CheckText("treaty", name, LineText); err != nil {
		return "", err
	}
	if id := strings.TrimSpace(name); CheckTreatyID("treaty", id) == nil {
		// An exact id: one indexed range read of the stream names, not
		// every definition of the log.
		streams, err := l.store.Streams(ctx, TreatyStream(id))
		if err != nil {
			return "", fmt.Errorf("resolve treaty %s: %w", clip(id), err)
		}
		if slices.Contains(streams, TreatyStream(id)) {
			return id, nil
		}
	}
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
	if i := strings.IndexAny(name, "/\\\"<>|*?`$"); i >= 0 {
		return "", &InvalidTreatyIDError{Field: "treaty", ID: clip(name), Reason: fmt.Sprintf("%q at byte %d is in no treaty id or title", name[i], i)}
	}
	e := &UnknownTreatyError{Treaty: clip(name)}
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
		if err := CheckTreatyID("id", def.ID); err != nil {
			return nil, err
		}
		m, err := checkMeta(meta)
		if err != nil {
			return nil, err
		}
		h, err := l.historyLocked(ctx, def.ID)
		if err != nil {
			return nil, err
		}
		known, err := l.treatiesLocked(ctx)
		if err != nil {
			return nil, err
		}
		p, err := DecideDefinition(h, def, known, l.Today())
		if err != nil || p == nil {
			return nil, err
		}
		return l.appendOne(ctx, TreatyStream(def.ID), h.Version, p, Date{}, m)
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
//
// Input is checked before anything is read: the treaty id against the
// grammar of ids (CheckTreatyID), every text field with CheckText (the
// participant, subject and actor as names, the reference and source as
// one line, the note as free text), the action and the date exactly
// (ParseAction, ParseDate, after trimming surrounding spaces). An
// objection's subject is resolved to the canonical participant it names.
func (l *Ledger) Record(ctx context.Context, in RecordInput) (*Envelope, error) {
	if err := CheckTreatyID("treaty", in.Treaty); err != nil {
		return nil, err
	}
	action, err := parseActionInput(in.Action)
	if err != nil {
		return nil, err
	}
	date, err := parseDateInput(in.Date)
	if err != nil {
		return nil, err
	}
	subject, note, err := checkActText(in.Subject, in.Note)
	if err != nil {
		return nil, err
	}
	meta, err := l.checkedMeta(in.Meta)
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
		subj, err := resolveSubject(dir, action, subject)
		if err != nil {
			return nil, err
		}
		cmd := RecordAct{Treaty: in.Treaty, Participant: p, Action: action, Date: date, Subject: subj, Note: note, Meta: meta}
		h, parent, err := l.treatyLocked(ctx, in.Treaty)
		if err != nil {
			return nil, err
		}
		act, err := DecideRecord(h, parent, cmd, l.Today())
		if err != nil {
			return nil, err
		}
		e, err := l.appendOne(ctx, TreatyStream(in.Treaty), h.Version, &act, act.Date, meta)
		if err == nil {
			l.cfg.Logger.InfoContext(ctx, "act recorded", "treaty", in.Treaty, "action", act.Action, "participant", act.Participant, "date", act.Date.String(), "position", e.Position)
		}
		return e, err
	})
}

// parseActionInput reads an action as typed: surrounding spaces aside,
// exactly as the vocabulary writes it.
func parseActionInput(s string) (Action, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", &InvalidError{Field: "action", Reason: "is required (one of " + actionNames() + ")"}
	}
	if err := CheckText("action", s, NameText); err != nil {
		return "", err
	}
	return ParseAction(s)
}

func actionNames() string {
	names := make([]string, 0, len(actionInfo))
	for _, a := range AllActions() {
		names = append(names, string(a))
	}
	return strings.Join(names, ", ")
}

// parseDateInput reads a date as typed: surrounding spaces aside, exactly
// YYYY-MM-DD.
func parseDateInput(s string) (Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Date{}, &InvalidError{Field: "date", Reason: "is required (YYYY-MM-DD)"}
	}
	return ParseDate(s)
}

// checkActText trims and checks an act's subject (one line) and note
// (free text).
func checkActText(subject, note string) (string, string, error) {
	subject, note = strings.TrimSpace(subject), strings.TrimSpace(note)
	if err := CheckText("subject", subject, LineText); err != nil {
		return "", "", err
	}
	if err := CheckText("note", note, FreeText); err != nil {
		return "", "", err
	}
	return subject, note, nil
}

// resolveSubject returns the subject an act of this action stores: for an
// objection, the canonical name of the participant objected to (an
// unknown one is refused, naming the subject); for any other action, the
// text as given.
func resolveSubject(dir *Directory, action Action, subject string) (string, error) {
	if action != Objection || subject == "" {
		return subject, nil
	}
	p, err := dir.Resolve(subject)
	if err != nil {
		return "", fmt.Errorf("subject: %w", err)
	}
	return p.Name, nil
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

// Correct supersedes the act at a position with a corrected one. Its input
// is checked as Record's is; the reason is free text.
func (l *Ledger) Correct(ctx context.Context, in CorrectInput) (*Envelope, error) {
	if err := CheckTreatyID("treaty", in.Treaty); err != nil {
		return nil, err
	}
	cmd := CorrectAct{Treaty: in.Treaty, Position: in.Position}
	var err error
	if cmd.Reason, err = checkReason(in.Reason); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Action) != "" {
		if cmd.Action, err = parseActionInput(in.Action); err != nil {
			return nil, err
		}
	}
	if strings.TrimSpace(in.Date) != "" {
		if cmd.Date, err = parseDateInput(in.Date); err != nil {
			return nil, err
		}
	}
	if cmd.Subject, cmd.Note, err = checkActText(in.Subject, in.Note); err != nil {
		return nil, err
	}
	if cmd.Meta, err = checkMeta(in.Meta); err != nil {
		return nil, err
	}
	return l.retry(ctx, func() (*Envelope, error) {
		l.cache.mu.Lock()
		defer l.cache.mu.Unlock()
		dir, err := l.directoryLocked(ctx)
		if err != nil {
			return nil, err
		}
		c := cmd
		if strings.TrimSpace(in.Participant) != "" {
			if c.Participant, err = dir.Resolve(in.Participant); err != nil {
				return nil, err
			}
		}
		h, parent, err := l.treatyLocked(ctx, in.Treaty)
		if err != nil {
			return nil, err
		}
		if old, ok := h.Fact(c.Position); ok {
			action, subject := old.Action, old.Subject
			if c.Action != "" {
				action = c.Action
			}
			if c.Subject != "" {
				subject = c.Subject
			}
			if action == Objection && subject != "" {
				if subject, err = resolveSubject(dir, action, subject); err != nil {
					return nil, err
				}
				if c.Subject != "" || subject != old.Subject {
					c.Subject = subject
				}
			}
		}
		p, err := DecideCorrect(h, parent, c, l.Today())
		if err != nil {
			return nil, err
		}
		meta := l.meta(c.Meta)
		meta.CausationID = strconv.FormatInt(p.Supersedes, 10)
		return l.appendOne(ctx, TreatyStream(in.Treaty), h.Version, &p, p.Act.Date, meta)
	})
}

// checkReason trims and checks the reason of a correction or retraction.
func checkReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if err := CheckText("reason", reason, FreeText); err != nil {
		return "", err
	}
	return reason, nil
}

// Retract withdraws the act at a position, recorded in error. The treaty
// id, the reason (free text) and the metadata are checked as Record's.
func (l *Ledger) Retract(ctx context.Context, treaty string, position int64, reason string, meta Metadata) (*Envelope, error) {
	if err := CheckTreatyID("treaty", treaty); err != nil {
		return nil, err
	}
	reason, err := checkReason(reason)
	if err != nil {
		return nil, err
	}
	if meta, err = checkMeta(meta); err != nil {
		return nil, err
	}
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

// checkMeta trims and checks the text of an event's metadata: the actor
// and the ids as names, the reference and the source as one line each.
func checkMeta(m Metadata) (Metadata, error) {
	m.Actor = strings.TrimSpace(m.Actor)
	m.Reference = strings.TrimSpace(m.Reference)
	m.Source = strings.TrimSpace(m.Source)
	for _, f := range []struct {
		field, text string
		kind        TextKind
	}{
		{"actor", m.Actor, NameText},
		{"reference", m.Reference, LineText},
		{"source", m.Source, LineText},
		{"correlation_id", m.CorrelationID, NameText},
		{"causation_id", m.CausationID, NameText},
	} {
		if err := CheckText(f.field, f.text, f.kind); err != nil {
			return Metadata{}, err
		}
	}
	return m, nil
}

// checkedMeta checks m (checkMeta) and gives it a fresh correlation id
// when it has none.
func (l *Ledger) checkedMeta(m Metadata) (Metadata, error) {
	m, err := checkMeta(m)
	if err != nil {
		return Metadata{}, err
	}
	return l.meta(m), nil
}

// meta trims m's reference and source and gives it a fresh correlation id
// when it has none. Commands whose metadata comes from a person check it
// first (checkedMeta).
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
