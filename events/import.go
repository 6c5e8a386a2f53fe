package events

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// ImportRow is one data row of an import CSV, as text, with its line.
type ImportRow struct {
	Line        int
	Participant string
	Action      string
	Date        string
	Reference   string
	Source      string
	Note        string
	// Subject is what the act concerns: for an objection, the participant
	// objected to.
	Subject string
}

func importColumns() []string {
	return []string{"participant", "action", "date", "reference", "source", "note", "subject"}
}

// ParseImportCSV reads an import file: a header row with the required
// columns participant, action and date, and optionally reference, source,
// note and subject, in any order (a UTF-8 byte order mark before the
// header is ignored). An unknown or repeated column, a missing required
// one, a header that is not valid text, or a row with the wrong number of
// fields is an error naming the line. Cells are trimmed; what they hold is
// checked by Import, which reports every bad row.
func ParseImportCSV(r io.Reader) ([]ImportRow, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &InvalidError{Field: "csv", Reason: "the file is empty: want a header row participant,action,date[,reference,source,note,subject]"}
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, &InvalidError{Field: fmt.Sprintf("csv line %d", pe.Line), Reason: pe.Err.Error()}
		}
		return nil, &InvalidError{Field: "csv", Reason: err.Error()}
	}
	col := map[string]int{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		if err := CheckText(fmt.Sprintf("csv line 1: column %d", i+1), h, NameText); err != nil {
			return nil, err
		}
		name := strings.ToLower(strings.TrimSpace(h))
		if !slices.Contains(importColumns(), name) {
			return nil, &InvalidError{Field: "csv line 1", Reason: fmt.Sprintf("unknown column %q (known: %s)", h, strings.Join(importColumns(), ", "))}
		}
		if _, dup := col[name]; dup {
			return nil, &InvalidError{Field: "csv line 1", Reason: fmt.Sprintf("column %q appears twice", name)}
		}
		col[name] = i
	}
	for _, req := range []string{"participant", "action", "date"} {
		if _, ok := col[req]; !ok {
			return nil, &InvalidError{Field: "csv line 1", Reason: fmt.Sprintf("missing required column %q", req)}
		}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var rows []ImportRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &InvalidError{Field: fmt.Sprintf("csv line %d", pe.Line), Reason: pe.Err.Error()}
			}
			return nil, &InvalidError{Field: "csv", Reason: err.Error()}
		}
		line, _ := cr.FieldPos(0)
		rows = append(rows, ImportRow{Line: line, Participant: get(rec, "participant"), Action: get(rec, "action"), Date: get(rec, "date"),
			Reference: get(rec, "reference"), Source: get(rec, "source"), Note: get(rec, "note"), Subject: get(rec, "subject")})
	}
	return rows, nil
}

// ImportOptions tune Import.
type ImportOptions struct {
	// AddParticipants registers names missing from the directory instead
	// of refusing their rows.
	AddParticipants bool
	// DryRun decides every row and reports the plan without writing.
	DryRun bool
	// Meta is the metadata of every event (actor, correlation id); each
	// row's reference and source are added to it.
	Meta Metadata
}

// RowError is one refused import row.
type RowError struct {
	Line int    `json:"line"`
	Err  error  `json:"-"`
	Msg  string `json:"message"`
}

// ImportError lists every refused row of an import; nothing was written.
// It wraps ErrInvalid.
type ImportError struct {
	Rows []RowError
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of the rows cannot be imported; nothing was written:", len(e.Rows))
	for _, r := range e.Rows {
		fmt.Fprintf(&b, "\n  line %d: %s", r.Line, r.Msg)
	}
	return b.String()
}

// Unwrap returns ErrInvalid.
func (e *ImportError) Unwrap() error { return ErrInvalid }

// PlannedAct is one act an import records (or would record, in a dry run).
type PlannedAct struct {
	Line      int    `json:"line"`
	Act       Act    `json:"act"`
	Reference string `json:"reference,omitempty"`
	Source    string `json:"source,omitempty"`
	// Position is the stored position; 0 in a dry run.
	Position int64 `json:"position,omitempty"`
}

// ImportResult is what an import recorded, or would record.
type ImportResult struct {
	Treaty          string       `json:"treaty"`
	Acts            []PlannedAct `json:"acts"`
	NewParticipants []string     `json:"new_participants,omitempty"`
	DryRun          bool         `json:"dry_run"`
}

// fakeBase numbers planned acts during validation, above any real position.
const fakeBase = int64(1) << 50

// Import validates every row against the treaty's history and the rows
// before it, then writes all of them in one transaction, or nothing. Rows
// are applied in date order; on one date, signatures come before consents
// to be bound, which come before other acts, so a State that signs and
// ratifies at one ceremony imports cleanly. Every refused row is reported
// in an *ImportError.
//
// Each row is checked as Record checks its input (the treaty id, every
// cell's text, the action and the date exactly, an objection's subject);
// with AddParticipants, a name that resolves to nobody is registered if it
// is a plausible name (CheckName) and not one letter away from a known
// one (a misspelling, "Viet Namm"); never a name that is not valid text.
func (l *Ledger) Import(ctx context.Context, treaty string, rows []ImportRow, opts ImportOptions) (*ImportResult, error) {
	if err := CheckTreatyID("treaty", treaty); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, &InvalidError{Field: "csv", Reason: "no data rows to import"}
	}
	var err error
	if opts.Meta, err = checkMeta(opts.Meta); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		res, err := l.importOnce(ctx, treaty, rows, opts)
		if err == nil || !errors.Is(err, ErrConflict) || attempt >= l.cfg.Retries {
			return res, err
		}
	}
}

type parsedRow struct {
	row    ImportRow
	action Action
	date   Date
	p      Participant
}

func actionRank(a Action) int {
	switch {
	case a == Signature:
		return 0
	case a.IsConsent():
		return 1
	case a == Denunciation:
		return 3
	}
	return 2
}

func (l *Ledger) importOnce(ctx context.Context, treaty string, rows []ImportRow, opts ImportOptions) (*ImportResult, error) {
	h, parent, err := l.treaty(ctx, treaty)
	if err != nil {
		return nil, err
	}
	dir, err := l.Directory(ctx)
	if err != nil {
		return nil, err
	}
	partsVersion, err := l.streamVersion(ctx, ParticipantsStream)
	if err != nil {
		return nil, err
	}
	var bad []RowError
	fail := func(line int, err error) { bad = append(bad, RowError{Line: line, Err: err, Msg: err.Error()}) }
	var newParts []Participant
	var parsed []parsedRow
	for _, r := range rows {
		var pr parsedRow
		if pr.row, err = checkRowText(r); err != nil {
			fail(r.Line, err)
			continue
		}
		r = pr.row
		if pr.action, err = parseActionInput(r.Action); err != nil {
			fail(r.Line, err)
			continue
		}
		if pr.date, err = parseDateInput(r.Date); err != nil {
			fail(r.Line, err)
			continue
		}
		if r.Participant == "" {
			fail(r.Line, &InvalidError{Field: "participant", Reason: "is empty"})
			continue
		}
		if pr.p, err = dir.Resolve(r.Participant); err != nil {
			if !opts.AddParticipants || !errors.Is(err, ErrNotFound) {
				fail(r.Line, err)
				continue
			}
			pr.p = Participant{Name: strings.Join(strings.Fields(r.Participant), " "), Kind: KindOther}
			if near, dist := dir.Nearest(pr.p.Name); dist >= 0 && dist <= 1 {
				fail(r.Line, &InvalidError{Field: "participant", Reason: fmt.Sprintf("%q is not a known participant, and is one letter away from %s: correct the spelling (only clearly new names are registered)", pr.p.Name, near)})
				continue
			}
			if err := dir.Add(pr.p); err != nil {
				fail(r.Line, err)
				continue
			}
			newParts = append(newParts, pr.p)
		}
		if pr.row.Subject, err = resolveSubject(dir, pr.action, r.Subject); err != nil {
			fail(r.Line, err)
			continue
		}
		parsed = append(parsed, pr)
	}
	sort.SliceStable(parsed, func(i, j int) bool {
		a, b := parsed[i], parsed[j]
		if c := a.date.Compare(b.date); c != 0 {
			return c < 0
		}
		return actionRank(a.action) < actionRank(b.action)
	})
	today := l.Today()
	res := &ImportResult{Treaty: treaty, DryRun: opts.DryRun}
	version := h.Version
	for _, pr := range parsed {
		cmd := RecordAct{Treaty: treaty, Participant: pr.p, Action: pr.action, Date: pr.date, Subject: pr.row.Subject, Note: pr.row.Note, Meta: Metadata{Reference: pr.row.Reference}}
		act, err := DecideRecord(h, parent, cmd, today)
		if err != nil {
			var dup *DuplicateError
			if errors.As(err, &dup) && dup.Position >= fakeBase {
				err = &InvalidError{Field: "row", Reason: fmt.Sprintf("%s by %s on %s duplicates line %d of this file", dup.Action, dup.Participant, dup.Date, dup.Position-fakeBase)}
			}
			fail(pr.row.Line, err)
			continue
		}
		version++
		env := Envelope{Position: fakeBase + int64(pr.row.Line), Version: version, Meta: Metadata{Reference: pr.row.Reference, Source: pr.row.Source}}
		if err := h.Apply(env, &act); err != nil {
			return nil, err
		}
		res.Acts = append(res.Acts, PlannedAct{Line: pr.row.Line, Act: act, Reference: pr.row.Reference, Source: pr.row.Source})
	}
	for _, p := range newParts {
		res.NewParticipants = append(res.NewParticipants, p.Name)
	}
	if len(bad) > 0 {
		sort.SliceStable(bad, func(i, j int) bool { return bad[i].Line < bad[j].Line })
		return nil, &ImportError{Rows: bad}
	}
	if opts.DryRun {
		return res, nil
	}
	meta := l.meta(opts.Meta)
	var appends []StreamAppend
	if len(newParts) > 0 {
		pa := StreamAppend{Stream: ParticipantsStream, ExpectedVersion: partsVersion}
		for _, p := range newParts {
			rec, err := l.reg.NewRecord(&ParticipantRegistered{Participant: p}, Date{}, meta)
			if err != nil {
				return nil, err
			}
			pa.Records = append(pa.Records, rec)
		}
		appends = append(appends, pa)
	}
	ta := StreamAppend{Stream: TreatyStream(treaty), ExpectedVersion: version - int64(len(res.Acts)), Records: make([]Record, 0, len(res.Acts))}
	for _, a := range res.Acts {
		m := meta
		m.Reference, m.Source = a.Reference, a.Source
		rec, err := l.reg.NewRecord(&a.Act, a.Act.Date, m)
		if err != nil {
			return nil, err
		}
		ta.Records = append(ta.Records, rec)
	}
	appends = append(appends, ta)
	withPositions := func(stored []Envelope) any {
		for i := range res.Acts {
			res.Acts[i].Position = stored[len(newParts)+i].Position
		}
		return res
	}
	stored, err := l.appendResult(ctx, withPositions, appends...)
	if err != nil {
		return nil, err
	}
	l.cfg.OnAppend()
	withPositions(stored)
	l.cfg.Logger.InfoContext(ctx, "import recorded", "treaty", treaty, "acts", len(res.Acts), "new_participants", len(newParts))
	return res, nil
}

// checkRowText trims every cell of an import row and checks its text as
// Record checks a command's: the participant as a name, the action, date,
// reference, source and subject as one line, the note as free text.
func checkRowText(r ImportRow) (ImportRow, error) {
	for _, f := range []struct {
		field string
		text  *string
		kind  TextKind
	}{
		{"participant", &r.Participant, NameText},
		{"action", &r.Action, NameText},
		{"date", &r.Date, NameText},
		{"reference", &r.Reference, LineText},
		{"source", &r.Source, LineText},
		{"subject", &r.Subject, LineText},
		{"note", &r.Note, FreeText},
	} {
		*f.text = strings.TrimSpace(*f.text)
		if err := CheckText(f.field, *f.text, f.kind); err != nil {
			return r, err
		}
	}
	return r, nil
}

func (l *Ledger) streamVersion(ctx context.Context, stream string) (int64, error) {
	evs, err := l.store.ReadStream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", stream, err)
	}
	if len(evs) == 0 {
		return 0, nil
	}
	return evs[len(evs)-1].Version, nil
}
