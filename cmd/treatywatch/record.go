package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/treatywatch/treatywatch/events"
)

func runRecord(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("record", flag.ContinueOnError)
	treaty := fs.String("treaty", "", "treaty id (e.g. XVIII-16) or name (hanoi)")
	participant := fs.String("participant", "", "participant name, alias or ISO code")
	date := fs.String("date", "", "date of the act, YYYY-MM-DD")
	ref := fs.String("ref", "", "depositary notification reference, e.g. C.N.196.2025.TREATIES-XVIII.16")
	source := fs.String("source", "", "where the fact was read (URL)")
	actor := fs.String("actor", "", "who records (default $TREATYWATCH_ACTOR or $USER)")
	note := fs.String("note", "", "free text")
	subject := fs.String("subject", "", "what the act concerns: the objected-to State, the territory, the protocol")
	asJSON := fs.Bool("json", false, "print the recorded event as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("record: want exactly one ACTION (one of %v)", events.AllActions())
	}
	if err := need(fs, "treaty", "date"); err != nil {
		return err
	}
	l, id, err := m.openTreaty(ctx, *treaty)
	if err != nil {
		return err
	}
	e, err := l.Record(ctx, events.RecordInput{Treaty: id, Action: pos[0], Participant: *participant, Date: *date, Subject: *subject, Note: *note,
		Meta: events.Metadata{Reference: *ref, Source: *source, Actor: m.actor(*actor)}})
	if err != nil {
		return err
	}
	return m.printEvent(e, *asJSON, "recorded")
}

func (m *Main) printEvent(e *events.Envelope, asJSON bool, verb string) error {
	if asJSON {
		return json.NewEncoder(m.stdout).Encode(e)
	}
	fmt.Fprintf(m.stdout, "%s %s at position %d\n", verb, describe(*e), e.Position)
	return nil
}

// describe is a one-line human summary of an event.
func describe(e events.Envelope) string {
	var act events.Act
	switch {
	case events.IsAct(e.Type):
		_ = json.Unmarshal(e.Payload, &act)
		s := fmt.Sprintf("%s by %s on %s", act.Action, orDash(act.Participant), act.Date)
		if e.Meta.Reference != "" {
			s += " (" + e.Meta.Reference + ")"
		}
		if act.Action.IsUnofficial() {
			s += " [unofficial]"
		}
		return s
	case e.Type == events.TypeActCorrected:
		var c events.ActCorrected
		_ = json.Unmarshal(e.Payload, &c)
		return fmt.Sprintf("correction of position %d → %s by %s on %s (%s)", c.Supersedes, c.Act.Action, c.Act.Participant, c.Act.Date, c.Reason)
	case e.Type == events.TypeActRetracted:
		var r events.ActRetracted
		_ = json.Unmarshal(e.Payload, &r)
		return fmt.Sprintf("retraction of position %d (%s)", r.Supersedes, r.Reason)
	case e.Type == events.TypeTreatyRegistered || e.Type == events.TypeTreatyAmended:
		var t events.TreatyAmended
		_ = json.Unmarshal(e.Payload, &t)
		if e.Type == events.TypeTreatyAmended {
			return fmt.Sprintf("definition of %s amended (%v)", t.Definition.ID, t.Changes)
		}
		return fmt.Sprintf("treaty %s registered: %s", t.Definition.ID, t.Definition.Title)
	case e.Type == events.TypeParticipantRegistered:
		var p events.ParticipantRegistered
		_ = json.Unmarshal(e.Payload, &p)
		return "participant registered: " + p.Participant.Name
	}
	return e.Type
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runCorrect(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("correct", flag.ContinueOnError)
	treaty := fs.String("treaty", "", "treaty id or name")
	reason := fs.String("reason", "", "why the act is corrected (required)")
	participant := fs.String("participant", "", "corrected participant")
	action := fs.String("action", "", "corrected action")
	date := fs.String("date", "", "corrected date")
	ref := fs.String("ref", "", "corrected depositary reference")
	source := fs.String("source", "", "source of the correction")
	actor := fs.String("actor", "", "who records")
	asJSON := fs.Bool("json", false, "print the recorded event as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	p, err := positionArg("correct", pos)
	if err != nil {
		return err
	}
	if err := need(fs, "treaty", "reason"); err != nil {
		return err
	}
	l, id, err := m.openTreaty(ctx, *treaty)
	if err != nil {
		return err
	}
	e, err := l.Correct(ctx, events.CorrectInput{Treaty: id, Position: p, Reason: *reason, Action: *action, Participant: *participant, Date: *date,
		Meta: events.Metadata{Reference: *ref, Source: *source, Actor: m.actor(*actor)}})
	if err != nil {
		return err
	}
	return m.printEvent(e, *asJSON, "recorded")
}

func runRetract(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("retract", flag.ContinueOnError)
	treaty := fs.String("treaty", "", "treaty id or name")
	reason := fs.String("reason", "", "why the act is retracted (required)")
	actor := fs.String("actor", "", "who records")
	asJSON := fs.Bool("json", false, "print the recorded event as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	p, err := positionArg("retract", pos)
	if err != nil {
		return err
	}
	if err := need(fs, "treaty", "reason"); err != nil {
		return err
	}
	l, id, err := m.openTreaty(ctx, *treaty)
	if err != nil {
		return err
	}
	e, err := l.Retract(ctx, id, p, *reason, events.Metadata{Actor: m.actor(*actor)})
	if err != nil {
		return err
	}
	return m.printEvent(e, *asJSON, "recorded")
}
