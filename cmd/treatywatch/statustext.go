package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/treatywatch/treatywatch/projections"
)

// barWidth is the number of cells of the status text's progress bar.
const barWidth = 40

// writeStatusText prints a status for people, as `status` does without
// --json or --csv: the title, a progress bar, the dates, the conditions,
// the milestones and the participant table in aligned columns. It
// returns the first write error, wrapped.
func writeStatusText(w io.Writer, s projections.Status) error {
	p := &printer{w: w}
	title := s.Title
	if s.ShortTitle != "" && s.ShortTitle != s.Title {
		title = s.ShortTitle + " — " + s.Title
	}
	p.printf("%s (%s)\n", title, s.Treaty)
	if s.KnownAt != nil {
		p.printf("As of %s, as known at %s\n", s.AsOf, s.KnownAt.UTC().Format(time.RFC3339))
	} else {
		p.printf("As of %s\n", s.AsOf)
	}
	p.printf("Rule: %s\n\n", s.Rule)

	if s.Required > 0 {
		filled := min(s.Counted*barWidth/s.Required, barWidth)
		p.printf("%s%s %d/%d (%g%%)\n\n", strings.Repeat("█", filled), strings.Repeat("░", barWidth-filled), s.Counted, s.Required, s.Percent)
	} else {
		p.printf("%d counted; required number unknown (its parent treaty is not in the ledger)\n\n", s.Counted)
	}

	tw := tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
	switch {
	case s.ThresholdMetOn != nil:
		fmt.Fprintf(tw, "Threshold met:\t%s\n", s.ThresholdMetOn)
	case s.Required > 0:
		fmt.Fprintf(tw, "Threshold met:\tnot yet (%d to go)\n", s.Remaining)
	default:
		fmt.Fprintf(tw, "Threshold met:\tnot yet\n")
	}
	switch {
	case s.EntryIntoForce == nil && s.ThresholdMetOn != nil:
		fmt.Fprintf(tw, "Entry into force:\t— (waiting for the parent treaty, %s)\n", s.Parent)
	case s.EntryIntoForce == nil:
		fmt.Fprintf(tw, "Entry into force:\t—\n")
	case s.DaysUntilEntryIntoForce != nil:
		fmt.Fprintf(tw, "Entry into force:\t%s (in %s)\n", s.EntryIntoForce, plural(*s.DaysUntilEntryIntoForce, "day"))
	case s.DaysSinceEntryIntoForce != nil && *s.DaysSinceEntryIntoForce == 0:
		fmt.Fprintf(tw, "Entry into force:\t%s (in force from today)\n", s.EntryIntoForce)
	case s.DaysSinceEntryIntoForce != nil:
		fmt.Fprintf(tw, "Entry into force:\t%s (in force; %s ago)\n", s.EntryIntoForce, plural(*s.DaysSinceEntryIntoForce, "day"))
	}
	fmt.Fprintf(tw, "Signatories:\t%d\n", s.Signatories)
	fmt.Fprintf(tw, "Parties:\t%d (consented to be bound, less withdrawals in effect)\n", s.Parties)
	fmt.Fprintf(tw, "In force for:\t%d\n", s.InForceFor)
	if s.WithdrawalRule != "" {
		fmt.Fprintf(tw, "Withdrawal:\t%s\n", s.WithdrawalRule)
	}
	p.flush(tw)

	p.printf("\nConditions\n")
	tw = tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
	for _, c := range s.Conditions {
		state := "not met"
		switch {
		case c.Met:
			state = "met on " + c.MetOn.String()
		case c.MetOn != nil:
			state = "met on " + c.MetOn.String() + ", no longer holds"
		}
		fmt.Fprintf(tw, "  %s\t%g/%g\t%s\n", c.Name, c.Have, c.Need, state)
	}
	p.flush(tw)

	if len(s.Milestones) > 0 {
		p.printf("\nMilestones\n")
		tw = tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
		for _, m := range s.Milestones {
			fmt.Fprintf(tw, "  %d%%\t%d\t%s\n", m.Percent, m.Target, dateOrDash(m.Date))
		}
		p.flush(tw)
	}

	p.printf("\n")
	tw = tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Participant\tSignature\tConsent\tEntry into force\tWithdrawal\tDeclarations and reservations\n")
	var notes []string
	for _, r := range s.Participants {
		consent := "—"
		if r.Consent != nil {
			consent = fmt.Sprintf("%s, %s", r.Consent.Kind.Label(), r.Consent.Date)
			if !r.Consent.Counts {
				consent += " (not counted)"
			}
		}
		withdrawal := "—"
		if r.WithdrawalNotified != nil {
			withdrawal = fmt.Sprintf("notified %s, effective %s", r.WithdrawalNotified, dateOrDash(r.WithdrawalEffective))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Participant, dateOrDash(r.Signature), consent, dateOrDash(r.EntryIntoForce), withdrawal, statementsText(r))
		for _, t := range r.Earlier {
			notes = append(notes, fmt.Sprintf("%s: earlier %s, %s, in force %s, withdrawal notified %s, effective %s",
				r.Participant, t.Consent.Kind.Label(), t.Consent.Date, dateOrDash(t.EntryIntoForce), t.WithdrawalNotified, t.WithdrawalEffective))
		}
	}
	p.flush(tw)
	for _, n := range notes {
		p.printf("%s\n", n)
	}
	return p.err
}

// statementsText summarises a participant's declarations, reservations,
// provisional application and unofficial domestic steps for the text table ("declaration 2026-06-01;
// unofficial: parliamentary approval 2026-02-10").
func statementsText(r projections.Participation) string {
	var parts []string
	for _, list := range [][]projections.Statement{r.Declarations, r.Reservations} {
		for _, st := range list {
			parts = append(parts, strings.ToLower(st.Kind.Label())+" "+st.Date.String())
		}
	}
	if pa := r.ProvisionalApplication; pa != nil {
		parts = append(parts, "provisional application "+pa.Date.String())
	}
	for _, st := range r.Unofficial {
		parts = append(parts, "unofficial: "+strings.ToLower(strings.TrimSuffix(st.Kind.Label(), " (unofficial)"))+" "+st.Date.String())
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, "; ")
}

// printer remembers the first write error so that the text code stays
// linear.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) Write(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.w.Write(b)
	if err != nil {
		p.err = fmt.Errorf("write status: %w", err)
	}
	return n, p.err
}

func (p *printer) printf(format string, args ...any) { _, _ = fmt.Fprintf(p, format, args...) }

func (p *printer) flush(tw *tabwriter.Writer) {
	if err := tw.Flush(); err != nil && p.err == nil {
		p.err = fmt.Errorf("write status: %w", err)
	}
}

// plural writes a count with its unit: "1 day", "2 days".
func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
