package events_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/treatyfile"
	"github.com/treatywatch/treatywatch/seed"
)

// refusal is one command the ledger must refuse: after the setup acts
// (which must be accepted), run must fail with an error of the type
// want points to, wrapping the sentinel is, with exactly the message msg
// (or starting with it, when prefix is set), and leave the log unchanged.
type refusal struct {
	name  string
	setup []events.RecordInput
	// define adds these YAML definitions before the setup acts.
	define []string
	run    func(ctx context.Context, l *events.Ledger, pos []int64) error
	want   any
	is     error
	msg    string
	prefix bool
}

// hanoiAct is a record command for the Hanoi Convention (UNTC XVIII-16).
func hanoiAct(action, participant, date string) events.RecordInput {
	return events.RecordInput{Treaty: "XVIII-16", Action: action, Participant: participant, Date: date, Meta: events.Metadata{Actor: "J. Officer"}}
}

func record(in events.RecordInput) func(context.Context, *events.Ledger, []int64) error {
	return func(ctx context.Context, l *events.Ledger, _ []int64) error {
		_, err := l.Record(ctx, in)
		return err
	}
}

func with(in events.RecordInput, f func(*events.RecordInput)) events.RecordInput {
	f(&in)
	return in
}

func runRefusals(t *testing.T, cases []refusal) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			l, st := MustLedger(t)
			var pos []int64
			for _, y := range tc.define {
				if err := addDefinition(y)(ctx, l, nil); err != nil {
					t.Fatalf("setup definition: %v", err)
				}
			}
			for _, in := range tc.setup {
				e, err := l.Record(ctx, in)
				if err != nil {
					t.Fatalf("setup %s by %s: %v", in.Action, in.Participant, err)
				}
				pos = append(pos, e.Position)
			}
			before := MustLogState(t, st)
			err := tc.run(ctx, l, pos)
			if err == nil {
				t.Fatalf("accepted; want %T: %s", tc.want, tc.msg)
			}
			if !errors.As(err, tc.want) {
				t.Errorf("error %T (%v); want %T", err, err, tc.want)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
			if got := err.Error(); got != tc.msg && !(tc.prefix && strings.HasPrefix(got, tc.msg)) {
				t.Errorf("message\n  %s\nwant\n  %s", got, tc.msg)
			}
			if after := MustLogState(t, st); after != before {
				t.Errorf("the log changed: %+v, then %+v", before, after)
			}
		})
	}
}

func TestRefusedDates(t *testing.T) {
	ratify := func(date string) func(context.Context, *events.Ledger, []int64) error {
		return record(hanoiAct("declaration", "Viet Nam", date))
	}
	var de *events.InvalidDateError
	runRefusals(t, []refusal{
		{name: "sign inside the month", run: ratify("2026-+6-01"), want: &de, is: events.ErrInvalid,
			msg: `invalid date "2026-+6-01": want YYYY-MM-DD with the digits 0-9 only`},
		{name: "sign before the year", run: ratify("+2026-06-01"), want: &de, is: events.ErrInvalid,
			msg: `invalid date "+2026-06-01": want YYYY-MM-DD`},
		{name: "negative day", run: ratify("2026-06--1"), want: &de, is: events.ErrInvalid,
			msg: `invalid date "2026-06--1": want YYYY-MM-DD with the digits 0-9 only`},
		{name: "space inside", run: ratify("2026- 6-01"), want: &de, is: events.ErrInvalid,
			msg: `invalid date "2026- 6-01": want YYYY-MM-DD with the digits 0-9 only`},
		{name: "underscores", run: ratify("2026_06_01"), want: &de, is: events.ErrInvalid,
			msg: `invalid date "2026_06_01": want YYYY-MM-DD`},
		{name: "five-digit year", run: ratify("02026-06-01"), want: &de, is: events.ErrInvalid,
			msg: `invalid date "02026-06-01": want YYYY-MM-DD`},
		{name: "Arabic-Indic digits", run: ratify("٢٠٢٦-٠٦-٠١"), want: &de, is: events.ErrInvalid,
			msg: `invalid date "٢٠٢٦-٠٦-٠١": want YYYY-MM-DD`},
		{name: "year zero", run: ratify("0000-06-01"), want: &de, is: events.ErrInvalid,
			msg: `invalid date "0000-06-01": there is no year 0000`},
		{name: "time of day", run: ratify("2026-06-01T00:00"), want: &de, is: events.ErrInvalid,
			msg: `invalid date "2026-06-01T00:00": want YYYY-MM-DD`},
		{name: "correction with a signed month", setup: []events.RecordInput{hanoiAct("declaration", "Viet Nam", "2026-06-01")},
			run: func(ctx context.Context, l *events.Ledger, pos []int64) error {
				_, err := l.Correct(ctx, events.CorrectInput{Treaty: "XVIII-16", Position: pos[0], Reason: "C.N. gives another date", Date: "2026--6-02"})
				return err
			}, want: &de, is: events.ErrInvalid, msg: `invalid date "2026--6-02": want YYYY-MM-DD with the digits 0-9 only`},
	})
}

func TestRefusedText(t *testing.T) {
	var te *events.InvalidTextError
	var tl *events.TextTooLongError
	var ie *events.InvalidError
	long := strings.Repeat("Republic of ", 17) // 204 bytes
	runRefusals(t, []refusal{
		{name: "right-to-left override in a participant", run: record(hanoiAct("declaration", "Viet\u202eNam", "2026-06-01")), want: &te, is: events.ErrInvalid,
			msg: "participant: bidirectional formatting character U+202E RIGHT-TO-LEFT OVERRIDE at byte 4 is not allowed"},
		{name: "left-to-right mark in a participant", run: record(hanoiAct("declaration", "\u200eAustria", "2026-06-01")), want: &te, is: events.ErrInvalid,
			msg: "participant: bidirectional formatting character U+200E LEFT-TO-RIGHT MARK at byte 0 is not allowed"},
		{name: "NUL in a participant", run: record(hanoiAct("declaration", "Viet Nam\x00", "2026-06-01")), want: &te, is: events.ErrInvalid,
			msg: "participant: control character U+0000 NULL at byte 8 is not allowed"},
		{name: "invalid UTF-8 in a participant", run: record(hanoiAct("declaration", "C\xf4te d'Ivoire", "2026-06-01")), want: &te, is: events.ErrInvalid,
			msg: "participant: invalid UTF-8 (byte 0xF4) at byte 1"},
		{name: "zero width space in a subject", run: record(with(hanoiAct("territorial-application", "Austria", "2026-06-01"), func(in *events.RecordInput) { in.Subject = "Tyrol\u200b" })), want: &te, is: events.ErrInvalid,
			msg: "subject: invisible format character U+200B ZERO WIDTH SPACE at byte 5 is not allowed"},
		{name: "line feed in a reference", run: record(with(hanoiAct("declaration", "Austria", "2026-06-01"), func(in *events.RecordInput) { in.Meta.Reference = "C.N.1.2026\nTREATIES-XVIII.16" })), want: &te, is: events.ErrInvalid,
			msg: "reference: control character U+000A LINE FEED at byte 10 is not allowed in a one-line field"},
		{name: "isolate in a source", run: record(with(hanoiAct("declaration", "Austria", "2026-06-01"), func(in *events.RecordInput) {
			in.Meta.Source = "https://treaties.un.org/\u2067evil\u2069"
		})), want: &te, is: events.ErrInvalid,
			msg: "source: bidirectional formatting character U+2067 RIGHT-TO-LEFT ISOLATE at byte 24 is not allowed"},
		{name: "escape in an actor", run: record(with(hanoiAct("declaration", "Austria", "2026-06-01"), func(in *events.RecordInput) { in.Meta.Actor = "J. Officer\x1b[31m" })), want: &te, is: events.ErrInvalid,
			msg: "actor: control character U+001B ESCAPE at byte 10 is not allowed"},
		{name: "NUL in a note", run: record(with(hanoiAct("declaration", "Austria", "2026-06-01"), func(in *events.RecordInput) { in.Note = "declaration under\x00 article 2" })), want: &te, is: events.ErrInvalid,
			msg: "note: control character U+0000 NULL at byte 17 is not allowed"},
		{name: "lone carriage return in a note", run: record(with(hanoiAct("declaration", "Austria", "2026-06-01"), func(in *events.RecordInput) { in.Note = "first\rsecond" })), want: &te, is: events.ErrInvalid,
			msg: "note: control character U+000D CARRIAGE RETURN at byte 5 is not allowed"},
		{name: "pop directional formatting in a note", run: record(with(hanoiAct("declaration", "Austria", "2026-06-01"), func(in *events.RecordInput) { in.Note = "art. 2\u202c" })), want: &te, is: events.ErrInvalid,
			msg: "note: bidirectional formatting character U+202C POP DIRECTIONAL FORMATTING at byte 6 is not allowed"},
		{name: "byte order mark in an action", run: record(hanoiAct("\ufeffdeclaration", "Austria", "2026-06-01")), want: &te, is: events.ErrInvalid,
			msg: "action: invisible format character U+FEFF ZERO WIDTH NO-BREAK SPACE at byte 0 is not allowed"},
		{name: "participant name too long", run: record(hanoiAct("declaration", long, "2026-06-01")), want: &tl, is: events.ErrInvalid,
			msg: "participant: is 204 bytes long; at most 200 are allowed"},
		{name: "participant only whitespace", run: record(hanoiAct("declaration", " \t ", "2026-06-01")), want: &ie, is: events.ErrInvalid,
			msg: "participant: is required"},
		{name: "note too long", run: record(with(hanoiAct("declaration", "Austria", "2026-06-01"), func(in *events.RecordInput) { in.Note = strings.Repeat("x", 20001) })), want: &tl, is: events.ErrInvalid,
			msg: "note: is 20001 bytes long; at most 20000 are allowed"},
		{name: "bidi in a correction's reason", setup: []events.RecordInput{hanoiAct("declaration", "Austria", "2026-06-01")},
			run: func(ctx context.Context, l *events.Ledger, pos []int64) error {
				_, err := l.Correct(ctx, events.CorrectInput{Treaty: "XVIII-16", Position: pos[0], Reason: "C.N. gives \u202e2 June", Date: "2026-06-02"})
				return err
			}, want: &te, is: events.ErrInvalid, msg: "reason: bidirectional formatting character U+202E RIGHT-TO-LEFT OVERRIDE at byte 11 is not allowed"},
		{name: "bidi in a correction's participant", setup: []events.RecordInput{hanoiAct("declaration", "Austria", "2026-06-01")},
			run: func(ctx context.Context, l *events.Ledger, pos []int64) error {
				_, err := l.Correct(ctx, events.CorrectInput{Treaty: "XVIII-16", Position: pos[0], Reason: "wrong State", Participant: "Viet\u2066 Nam"})
				return err
			}, want: &te, is: events.ErrInvalid, msg: "participant: bidirectional formatting character U+2066 LEFT-TO-RIGHT ISOLATE at byte 4 is not allowed"},
		{name: "NUL in a retraction's reason", setup: []events.RecordInput{hanoiAct("declaration", "Austria", "2026-06-01")},
			run: func(ctx context.Context, l *events.Ledger, pos []int64) error {
				_, err := l.Retract(ctx, "XVIII-16", pos[0], "recorded\x00in error", events.Metadata{})
				return err
			}, want: &te, is: events.ErrInvalid, msg: "reason: control character U+0000 NULL at byte 8 is not allowed"},
		{name: "action with odd casing", run: record(hanoiAct("Ratification", "Viet Nam", "2026-06-01")), want: new(*events.UnknownActionError), is: events.ErrInvalid,
			msg: `unknown action "Ratification"; did you mean "ratification"?; known actions: `, prefix: true},
		{name: "action with inner space", run: record(hanoiAct("reservation withdrawn", "Viet Nam", "2026-06-01")), want: new(*events.UnknownActionError), is: events.ErrInvalid,
			msg: `unknown action "reservation withdrawn"; did you mean "reservation-withdrawn"?; known actions: `, prefix: true},
		{name: "action missing", run: record(hanoiAct("  ", "Viet Nam", "2026-06-01")), want: &ie, is: events.ErrInvalid,
			msg: "action: is required (one of acceptance, accession, approval, declaration, definitive-signature, denunciation, intent-announced, objection, parliamentary-approval, protocol-adopted, protocol-proposed, provisional-application, ratification, reservation, reservation-withdrawn, signature, succession, territorial-application)"},
	})
}

func TestRefusedObjectionsAndWithdrawals(t *testing.T) {
	var ie *events.InvalidError
	var re *events.RefusedError
	var de *events.DependentActError
	object := func(by, subject, date string) events.RecordInput {
		return with(hanoiAct("objection", by, date), func(in *events.RecordInput) { in.Subject = subject })
	}
	vnReservation := hanoiAct("reservation", "Viet Nam", "2026-06-01")
	vnWithdrawal := hanoiAct("reservation-withdrawn", "Viet Nam", "2026-09-01")
	runRefusals(t, []refusal{
		{name: "objection without a subject", setup: []events.RecordInput{vnReservation}, run: record(object("Austria", " ", "2026-08-01")), want: &ie, is: events.ErrInvalid,
			msg: "subject: an objection needs a subject: the participant whose reservation, declaration or other act it objects to"},
		{name: "objection to an unknown participant", run: record(object("Austria", "Atlantis", "2026-08-01")), want: new(*events.UnknownParticipantError), is: events.ErrNotFound,
			msg: `subject: unknown participant "Atlantis"; closest known names: `, prefix: true},
		{name: "objection to itself, through an alias", setup: []events.RecordInput{hanoiAct("reservation", "Austria", "2026-06-01")}, run: record(object("Austria", "AUT", "2026-08-01")), want: &ie, is: events.ErrInvalid,
			msg: "subject: Austria cannot object to itself"},
		{name: "objection to a participant with no act", run: record(object("Austria", "Japan", "2026-08-01")), want: &re, is: events.ErrRefused,
			msg: "Austria cannot object to Japan: Japan has no act recorded in XVIII-16 on or before 2026-08-01 (a reservation, a declaration, an accession, ...) to object to"},
		{name: "objection dated before the act objected to", setup: []events.RecordInput{hanoiAct("accession", "Japan", "2026-06-01")}, run: record(object("Austria", "Japan", "2026-05-31")), want: &re, is: events.ErrRefused,
			msg: "Austria cannot object to Japan: Japan has no act recorded in XVIII-16 on or before 2026-05-31 (a reservation, a declaration, an accession, ...) to object to"},
		{name: "objection in an import without a subject column", run: func(ctx context.Context, l *events.Ledger, _ []int64) error {
			_, err := l.Import(ctx, "XVIII-16", []events.ImportRow{{Line: 2, Participant: "Austria", Action: "objection", Date: "2026-08-01"}}, events.ImportOptions{})
			return err
		}, want: new(*events.ImportError), is: events.ErrInvalid,
			msg: "1 of the rows cannot be imported; nothing was written:\n  line 2: subject: an objection needs a subject: the participant whose reservation, declaration or other act it objects to"},
		{name: "withdrawal of a reservation never made", run: record(vnWithdrawal), want: &re, is: events.ErrRefused,
			msg: "Viet Nam has no reservation to XVIII-16 recorded on or before 2026-09-01, so there is none to withdraw"},
		{name: "withdrawal dated before the reservation", setup: []events.RecordInput{vnReservation}, run: record(hanoiAct("reservation-withdrawn", "Viet Nam", "2026-05-01")), want: &re, is: events.ErrRefused,
			msg: "Viet Nam has no reservation to XVIII-16 recorded on or before 2026-05-01, so there is none to withdraw"},
		{name: "withdrawal of another participant's reservation", setup: []events.RecordInput{vnReservation}, run: record(hanoiAct("reservation-withdrawn", "Austria", "2026-09-01")), want: &re, is: events.ErrRefused,
			msg: "Austria has no reservation to XVIII-16 recorded on or before 2026-09-01, so there is none to withdraw"},
		{name: "retracting a reservation that was withdrawn", setup: []events.RecordInput{vnReservation, vnWithdrawal},
			run: func(ctx context.Context, l *events.Ledger, pos []int64) error {
				_, err := l.Retract(ctx, "XVIII-16", pos[0], "recorded in error", events.Metadata{})
				return err
			}, want: &de, is: events.ErrRefused,
			msg: "the reservation by Viet Nam at position 76 cannot be retracted: the withdrawal of reservation by Viet Nam of 2026-09-01 at position 77 rests on it; retract or correct that act first"},
		{name: "correcting a reservation to after its withdrawal", setup: []events.RecordInput{vnReservation, vnWithdrawal},
			run: func(ctx context.Context, l *events.Ledger, pos []int64) error {
				_, err := l.Correct(ctx, events.CorrectInput{Treaty: "XVIII-16", Position: pos[0], Reason: "C.N. gives October", Date: "2026-10-01"})
				return err
			}, want: &de, is: events.ErrRefused,
			msg: "the reservation by Viet Nam at position 76 cannot be corrected so: the withdrawal of reservation by Viet Nam of 2026-09-01 at position 77 rests on it; retract or correct that act first"},
		{name: "correcting a withdrawn reservation into a declaration", setup: []events.RecordInput{vnReservation, vnWithdrawal},
			run: func(ctx context.Context, l *events.Ledger, pos []int64) error {
				_, err := l.Correct(ctx, events.CorrectInput{Treaty: "XVIII-16", Position: pos[0], Reason: "it was an interpretative declaration", Action: "declaration"})
				return err
			}, want: &de, is: events.ErrRefused,
			msg: "the reservation by Viet Nam at position 76 cannot be corrected so: the withdrawal of reservation by Viet Nam of 2026-09-01 at position 77 rests on it; retract or correct that act first"},
		{name: "correcting a withdrawal to before its reservation", setup: []events.RecordInput{vnReservation, vnWithdrawal},
			run: func(ctx context.Context, l *events.Ledger, pos []int64) error {
				_, err := l.Correct(ctx, events.CorrectInput{Treaty: "XVIII-16", Position: pos[1], Reason: "C.N. gives May", Date: "2026-05-01"})
				return err
			}, want: &re, is: events.ErrRefused,
			msg: "Viet Nam has no reservation to XVIII-16 recorded on or before 2026-05-01, so there is none to withdraw"},
		{name: "retracting the only act objected to", setup: []events.RecordInput{hanoiAct("accession", "Japan", "2026-06-01"), object("Austria", "Japan", "2026-08-01")},
			run: func(ctx context.Context, l *events.Ledger, pos []int64) error {
				_, err := l.Retract(ctx, "XVIII-16", pos[0], "recorded in error", events.Metadata{})
				return err
			}, want: &de, is: events.ErrRefused,
			msg: "the accession by Japan at position 76 cannot be retracted: the objection by Austria of 2026-08-01 at position 77 rests on it; retract or correct that act first"},
		{name: "correcting an objection into one against itself", setup: []events.RecordInput{hanoiAct("reservation", "Viet Nam", "2026-06-01"), object("Austria", "Viet Nam", "2026-08-01")},
			run: func(ctx context.Context, l *events.Ledger, pos []int64) error {
				_, err := l.Correct(ctx, events.CorrectInput{Treaty: "XVIII-16", Position: pos[1], Reason: "wrong subject", Subject: "Austria"})
				return err
			}, want: &ie, is: events.ErrInvalid, msg: "subject: Austria cannot object to itself"},
		{name: "correcting an objection's subject to an unknown participant", setup: []events.RecordInput{hanoiAct("reservation", "Viet Nam", "2026-06-01"), object("Austria", "Viet Nam", "2026-08-01")},
			run: func(ctx context.Context, l *events.Ledger, pos []int64) error {
				_, err := l.Correct(ctx, events.CorrectInput{Treaty: "XVIII-16", Position: pos[1], Reason: "wrong subject", Subject: "Vietnamm"})
				return err
			}, want: new(*events.UnknownParticipantError), is: events.ErrNotFound, msg: `subject: unknown participant "Vietnamm"; closest known names: Viet Nam`, prefix: true},
	})
}

func TestAcceptedObjectionsAndWithdrawals(t *testing.T) {
	ctx := t.Context()
	l, _ := MustLedger(t)
	mustRecord := func(in events.RecordInput) *events.Envelope {
		t.Helper()
		e, err := l.Record(ctx, in)
		if err != nil {
			t.Fatalf("%s by %s: %v", in.Action, in.Participant, err)
		}
		return e
	}
	res := mustRecord(hanoiAct("reservation", "Viet Nam", "2026-06-01"))
	// The subject is stored as the canonical participant, whatever alias was typed.
	obj := mustRecord(with(hanoiAct("objection", "Austria", "2026-08-01"), func(in *events.RecordInput) { in.Subject = "vietnam" }))
	var act events.Act
	if p, err := l.Registry().Decode(*obj); err != nil {
		t.Fatal(err)
	} else {
		act = *p.(*events.Act)
	}
	if act.Subject != "Viet Nam" {
		t.Fatalf("objection subject %q, want the canonical Viet Nam", act.Subject)
	}
	wd := mustRecord(hanoiAct("reservation-withdrawn", "Viet Nam", "2026-09-01"))
	// A note may span lines and hold tabs.
	mustRecord(with(hanoiAct("declaration", "Austria", "2026-06-02"), func(in *events.RecordInput) { in.Note = "Article 2:\r\n\tnot applied\nto Tyrol" }))
	if _, err := l.Retract(ctx, "XVIII-16", res.Position, "recorded in error", events.Metadata{}); !errors.As(err, new(*events.DependentActError)) {
		t.Fatalf("reservation retracted while its withdrawal stands: %v", err)
	}
	// Once the withdrawal is retracted, the reservation can be: Austria's
	// objection still rests on Viet Nam's signature of 25 Oct 2025.
	if _, err := l.Retract(ctx, "XVIII-16", wd.Position, "recorded in error", events.Metadata{}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Retract(ctx, "XVIII-16", res.Position, "recorded in error", events.Metadata{}); err != nil {
		t.Fatal(err)
	}
}

func TestRefusedTreatyIDs(t *testing.T) {
	var ide *events.InvalidTreatyIDError
	const grammar = "; a treaty id has letters, digits, '-' and '.', starts with a letter or digit, and is at most 40 characters long (e.g. XVIII-16, XXVII-7-d)"
	in := func(id string) events.RecordInput {
		return events.RecordInput{Treaty: id, Action: "signature", Participant: "Japan", Date: "2026-06-01"}
	}
	runRefusals(t, []refusal{
		{name: "path traversal", run: record(in("../../etc/passwd")), want: &ide, is: events.ErrInvalid,
			msg: `treaty: invalid treaty id "../../etc/passwd": '.' (U+002E) at byte 0 is not allowed` + grammar},
		{name: "slash", run: record(in("a/b")), want: &ide, is: events.ErrInvalid,
			msg: `treaty: invalid treaty id "a/b": '/' (U+002F) at byte 1 is not allowed` + grammar},
		{name: "NUL", run: record(in("XVIII-16\x00")), want: &ide, is: events.ErrInvalid,
			msg: `treaty: invalid treaty id "XVIII-16\x00": '\x00' (U+0000) at byte 8 is not allowed` + grammar},
		{name: "quote", run: record(in(`XVIII-16"`)), want: &ide, is: events.ErrInvalid,
			msg: `treaty: invalid treaty id "XVIII-16\"": '"' (U+0022) at byte 8 is not allowed` + grammar},
		{name: "space", run: record(in("XVIII 16")), want: &ide, is: events.ErrInvalid,
			msg: `treaty: invalid treaty id "XVIII 16": ' ' (U+0020) at byte 5 is not allowed` + grammar},
		{name: "empty", run: record(in("")), want: &ide, is: events.ErrInvalid,
			msg: `treaty: invalid treaty id "": it is empty` + grammar},
		{name: "too long", run: record(in(strings.Repeat("XVIII-", 7))), want: &ide, is: events.ErrInvalid,
			msg: `treaty: invalid treaty id "XVIII-XVIII-XVIII-XVIII-XVIII-XVIII-XVIII-": it is 42 bytes long` + grammar},
		{name: "non-ASCII letter", run: record(in("XVIII-16-ä")), want: &ide, is: events.ErrInvalid,
			msg: `treaty: invalid treaty id "XVIII-16-ä": 'ä' (U+00E4) at byte 9 is not allowed` + grammar},
		{name: "correct in a treaty with a bad id", run: func(ctx context.Context, l *events.Ledger, _ []int64) error {
			_, err := l.Correct(ctx, events.CorrectInput{Treaty: "XVIII-16;drop", Position: 3, Reason: "x", Date: "2025-10-26"})
			return err
		}, want: &ide, is: events.ErrInvalid, msg: `treaty: invalid treaty id "XVIII-16;drop": ';' (U+003B) at byte 8 is not allowed` + grammar},
		{name: "retract in a treaty with a bad id", run: func(ctx context.Context, l *events.Ledger, _ []int64) error {
			_, err := l.Retract(ctx, "-XVIII-16", 3, "x", events.Metadata{})
			return err
		}, want: &ide, is: events.ErrInvalid, msg: `treaty: invalid treaty id "-XVIII-16": '-' (U+002D) at byte 0 is not allowed` + grammar},
		{name: "import into a treaty with a bad id", run: func(ctx context.Context, l *events.Ledger, _ []int64) error {
			_, err := l.Import(ctx, "../XVIII-16", []events.ImportRow{{Line: 2, Participant: "Japan", Action: "accession", Date: "2026-06-01"}}, events.ImportOptions{})
			return err
		}, want: &ide, is: events.ErrInvalid, msg: `treaty: invalid treaty id "../XVIII-16": '.' (U+002E) at byte 0 is not allowed` + grammar},
		{name: "resolving a path is invalid, not unknown", run: func(ctx context.Context, l *events.Ledger, _ []int64) error {
			_, err := l.ResolveTreaty(ctx, "../../etc/passwd")
			return err
		}, want: &ide, is: events.ErrInvalid, msg: `treaty: invalid treaty id "../../etc/passwd": '/' at byte 2 is in no treaty id or title` + grammar},
		{name: "resolving a name with a bidi override", run: func(ctx context.Context, l *events.Ledger, _ []int64) error {
			_, err := l.ResolveTreaty(ctx, "han\u202eoi")
			return err
		}, want: new(*events.InvalidTextError), is: events.ErrInvalid, msg: "treaty: bidirectional formatting character U+202E RIGHT-TO-LEFT OVERRIDE at byte 3 is not allowed"},
		{name: "a well-formed id nobody registered is unknown", run: record(in("XXVII-99")), want: new(*events.UnknownTreatyError), is: events.ErrNotFound,
			msg: "unknown treaty \"XXVII-99\"; known treaties: XVIII-14, XVIII-16, XXI-10, XXVI-8, XXVI-9, XXVII-7-d"},
	})
}

func TestRefusedImports(t *testing.T) {
	var ie *events.ImportError
	imp := func(add bool, rows ...events.ImportRow) func(context.Context, *events.Ledger, []int64) error {
		return func(ctx context.Context, l *events.Ledger, _ []int64) error {
			_, err := l.Import(ctx, "XVIII-16", rows, events.ImportOptions{AddParticipants: add})
			return err
		}
	}
	row := func(line int, participant, action, date string) events.ImportRow {
		return events.ImportRow{Line: line, Participant: participant, Action: action, Date: date}
	}
	runRefusals(t, []refusal{
		{name: "every bad row is reported, the good one is not written", run: imp(false,
			row(2, "Japan", "accession", "2026-06-01"),
			row(3, "Viet\u202eNam", "declaration", "2026-06-01"),
			row(4, "Austria", "declaration", "2026-+6-01"),
			events.ImportRow{Line: 5, Participant: "Austria", Action: "declaration", Date: "2026-06-01", Note: "NUL\x00"},
			events.ImportRow{Line: 6, Participant: "Austria", Action: "declaration", Date: "2026-06-02", Source: "https://treaties.un.org/\xff"},
		), want: &ie, is: events.ErrInvalid,
			msg: "4 of the rows cannot be imported; nothing was written:" +
				"\n  line 3: participant: bidirectional formatting character U+202E RIGHT-TO-LEFT OVERRIDE at byte 4 is not allowed" +
				"\n  line 4: invalid date \"2026-+6-01\": want YYYY-MM-DD with the digits 0-9 only" +
				"\n  line 5: note: control character U+0000 NULL at byte 3 is not allowed" +
				"\n  line 6: source: invalid UTF-8 (byte 0xFF) at byte 24"},
		{name: "a new participant's name too long", run: imp(true, row(2, strings.Repeat("Federated States of ", 11), "accession", "2026-06-01")), want: &ie, is: events.ErrInvalid,
			msg: "1 of the rows cannot be imported; nothing was written:\n  line 2: participant: is 219 bytes long; at most 200 are allowed"},
		{name: "a new participant's name without a letter", run: imp(true, row(2, "12345", "accession", "2026-06-01")), want: &ie, is: events.ErrInvalid,
			msg: "1 of the rows cannot be imported; nothing was written:\n  line 2: participant: name \"12345\" has no letter"},
		{name: "a new participant's name with a bidi override", run: imp(true, row(2, "Testland\u202e", "accession", "2026-06-01")), want: &ie, is: events.ErrInvalid,
			msg: "1 of the rows cannot be imported; nothing was written:\n  line 2: participant: bidirectional formatting character U+202E RIGHT-TO-LEFT OVERRIDE at byte 8 is not allowed"},
		{name: "a misspelt participant is not registered as a new one", run: imp(true, row(2, "Viet Namm", "accession", "2026-06-01")), want: &ie, is: events.ErrInvalid,
			msg: "1 of the rows cannot be imported; nothing was written:\n  line 2: participant: \"Viet Namm\" is not a known participant, and is one letter away from Viet Nam: correct the spelling (only clearly new names are registered)"},
		{name: "an action in capitals", run: imp(false, row(2, "Japan", "ACCESSION", "2026-06-01")), want: &ie, is: events.ErrInvalid,
			msg: "1 of the rows cannot be imported; nothing was written:\n  line 2: unknown action \"ACCESSION\"; did you mean \"accession\"?; known actions: ", prefix: true},
		{name: "an actor with a control character", run: func(ctx context.Context, l *events.Ledger, _ []int64) error {
			_, err := l.Import(ctx, "XVIII-16", []events.ImportRow{row(2, "Japan", "accession", "2026-06-01")}, events.ImportOptions{Meta: events.Metadata{Actor: "seed\x07"}})
			return err
		}, want: new(*events.InvalidTextError), is: events.ErrInvalid, msg: "actor: control character U+0007 at byte 4 is not allowed"},
	})
}

func TestImportCSVRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, csv, msg string
	}{
		{"invalid UTF-8 in the header", "participant,action,d\xe4te\n", "csv line 1: column 3: invalid UTF-8 (byte 0xE4) at byte 1"},
		{"bidi in the header", "participant,\u202eaction,date\n", "csv line 1: column 2: bidirectional formatting character U+202E RIGHT-TO-LEFT OVERRIDE at byte 0 is not allowed"},
		{"unknown column", "participant,action,date,treaty\n", `csv line 1: unknown column "treaty" (known: participant, action, date, reference, source, note, subject)`},
		{"row with too many fields", "participant,action,date\nJapan,accession,2026-06-01,extra\n", "csv line 2: wrong number of fields"},
		{"bare quote", "participant,action,date\nJa\"pan,accession,2026-06-01\n", `csv line 2: bare " in non-quoted-field`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := events.ParseImportCSV(strings.NewReader(tc.csv))
			if err == nil || !errors.Is(err, events.ErrInvalid) || err.Error() != tc.msg {
				t.Fatalf("ParseImportCSV = %v; want %q", err, tc.msg)
			}
		})
	}
	rows, err := events.ParseImportCSV(strings.NewReader("\ufeffParticipant, Action ,date,subject\nAustria,objection,2026-08-01,Viet Nam\n"))
	if err != nil || len(rows) != 1 || rows[0].Subject != "Viet Nam" || rows[0].Action != "objection" {
		t.Fatalf("rows = %+v, %v", rows, err)
	}
}

// addDefinition parses a YAML definition as `treaty add` does and adds it.
func addDefinition(yaml string) func(context.Context, *events.Ledger, []int64) error {
	return func(ctx context.Context, l *events.Ledger, _ []int64) error {
		dir, err := l.Directory(ctx)
		if err != nil {
			return err
		}
		def, err := treatyfile.Parse([]byte(yaml), nil, dir)
		if err != nil {
			return err
		}
		_, err = l.AddTreaty(ctx, def, events.Metadata{Actor: "J. Officer"})
		return err
	}
}

// hanoiYAML is the shipped Hanoi Convention definition file.
func hanoiYAML(tb testing.TB) string {
	tb.Helper()
	b, err := fs.ReadFile(seed.Files(), "treaties/xviii-16-hanoi.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestRefusedDefinitions(t *testing.T) {
	var ie *events.InvalidError
	protocol := func(id, parent, adopted string) string {
		return "id: " + id + "\ntitle: Optional Protocol to the United Nations Convention against Cybercrime (hypothetical)\nadopted: " + adopted +
			"\nparent: " + parent + "\nrequires_signature: false\nentry_into_force: {instruments: 10, delay: 30 days}\n"
	}
	runRefusals(t, []refusal{
		{name: "unknown parent", run: addDefinition(protocol("XVIII-16-a", "XVIII-99", "2026-01-15")), want: new(*events.UnknownParentError), is: events.ErrInvalid,
			msg: `parent: XVIII-16-a names the parent "XVIII-99", which is not a registered treaty; add the parent's definition first; known treaties: XVIII-14, XVIII-16, XXI-10, XXVI-8, XXVI-9, XXVII-7-d`},
		{name: "adoption after today", run: addDefinition(protocol("XVIII-16-a", "XVIII-16", "2026-11-28")), want: &ie, is: events.ErrInvalid,
			msg: "adopted: 2026-11-28 is after today (2026-11-27)"},
		{name: "id differing only in case", run: addDefinition("id: xviii-16\ntitle: United Nations Convention against Cybercrime\nentry_into_force: {instruments: 40, delay: 90 days}\n"), want: &ie, is: events.ErrInvalid,
			msg: `id: "xviii-16" differs only in case from the registered treaty XVIII-16; use its id to amend it`},
		{name: "parents in a cycle", define: []string{protocol("XVIII-16-a", "XVIII-16", "2026-01-15"), protocol("XVIII-16-b", "XVIII-16-a", "2026-01-15")},
			run: addDefinition(protocol("XVIII-16-a", "XVIII-16-b", "2026-01-15")), want: &ie, is: events.ErrInvalid, msg: "parent: the parents form a cycle: XVIII-16-a → XVIII-16-b → XVIII-16-a"},
		{name: "an amendment adopting the treaty after a recorded signature", run: addDefinition(strings.NewReplacer("adopted: 2024-12-24", "adopted: 2025-10-26", "opens: 2025-10-25", "opens: 2025-10-26").Replace(hanoiYAML(t))),
			want: new(*events.RefusedError), is: events.ErrRefused,
			msg: "XVIII-16 cannot be amended to adopted 2025-10-26: the signature by Algeria of 2025-10-25 (position 7) is earlier; correct or retract that act first"},
		{name: "an amendment closing the signature window before a recorded signature", run: addDefinition(strings.Replace(hanoiYAML(t), "closes: 2026-12-31", "closes: 2025-11-01", 1)),
			want: new(*events.RefusedError), is: events.ErrRefused,
			msg: "XVIII-16 cannot be amended to a signature window from 2025-10-25 to 2025-11-01: it leaves out the signature by Mauritius of 2025-11-19 (position 75); correct or retract that act first"},
		{name: "a definition built in code with a path for an id", run: func(ctx context.Context, l *events.Ledger, _ []int64) error {
			_, err := l.AddTreaty(ctx, events.Definition{ID: "../treaty", Title: "x", EntryIntoForce: events.Rule{Instruments: 1, Delay: events.Period{N: 1, Unit: events.Days}}}, events.Metadata{})
			return err
		}, want: new(*events.InvalidTreatyIDError), is: events.ErrInvalid,
			msg: `id: invalid treaty id "../treaty": '.' (U+002E) at byte 0 is not allowed; a treaty id has letters, digits, '-' and '.', starts with a letter or digit, and is at most 40 characters long (e.g. XVIII-16, XXVII-7-d)`},
		{name: "a definition built in code with an absurd delay", run: func(ctx context.Context, l *events.Ledger, _ []int64) error {
			_, err := l.AddTreaty(ctx, events.Definition{ID: "XVIII-16-a", Title: "x", EntryIntoForce: events.Rule{Instruments: 1, Delay: events.Period{N: 2147483647, Unit: events.Days}}}, events.Metadata{})
			return err
		}, want: &ie, is: events.ErrInvalid,
			msg: "entry_into_force.delay: 2147483647 days is too long: at most 3660 days (a period is at most 3660 days, 120 months or 10 years)"},
	})
	// Once the parent is registered, the protocol is accepted.
	ctx := t.Context()
	l, _ := MustLedger(t)
	if err := addDefinition(protocol("XVIII-16-a", "XVIII-16", "2026-01-15"))(ctx, l, nil); err != nil {
		t.Fatalf("protocol to a registered parent: %v", err)
	}
}
