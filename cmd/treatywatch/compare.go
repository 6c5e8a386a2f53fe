package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/treatywatch/treatywatch/cmd/internal/export"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// comparison is one treaty's line in `compare`.
type comparison struct {
	Treaty string `json:"treaty"`
	Name   string `json:"name"`
	// Opened is projections.OpenedForSignature: the definition's
	// signature.opens, else the first signature recorded, else the
	// adoption.
	Opened      *events.Date `json:"opened_for_signature"`
	Required    int          `json:"required"`
	Counted     int          `json:"counted"`
	Percent     float64      `json:"percent"`
	Signatories int          `json:"signatories"`
	// Parties and InForceFor are the UNTC's parties (consented, less
	// withdrawals in effect) and the participants it is in force for.
	Parties        int          `json:"parties"`
	InForceFor     int          `json:"in_force_for"`
	ThresholdMetOn *events.Date `json:"threshold_met_on"`
	EntryIntoForce *events.Date `json:"entry_into_force"`
	// DaysToThreshold counts the days from Opened to the threshold.
	DaysToThreshold *int `json:"days_to_threshold"`
}

func runCompare(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	asOf, knownAt := timeFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	l, err := m.open(ctx)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		defs, err := l.Treaties(ctx)
		if err != nil {
			return err
		}
		for _, d := range defs {
			pos = append(pos, d.ID)
		}
	}
	d, k, err := m.timeAxes(l, *asOf, *knownAt)
	if err != nil {
		return err
	}
	var rows []comparison
	for _, name := range pos {
		id, err := l.ResolveTreaty(ctx, name)
		if err != nil {
			return err
		}
		st, err := m.statusAt(ctx, l, id, d, k)
		if err != nil {
			return err
		}
		h, err := l.History(ctx, id, k)
		if err != nil {
			return err
		}
		c := comparison{Treaty: id, Name: h.Definition.Name(), Required: st.Required, Counted: st.Counted, Percent: st.Percent,
			Signatories: st.Signatories, Parties: st.Parties, InForceFor: st.InForceFor, ThresholdMetOn: st.ThresholdMetOn, EntryIntoForce: st.EntryIntoForce}
		if start := projections.OpenedForSignature(h.Definition, st); !start.IsZero() {
			c.Opened = &start
			if st.ThresholdMetOn != nil {
				days := start.DaysUntil(*st.ThresholdMetOn)
				c.DaysToThreshold = &days
			}
		}
		rows = append(rows, c)
	}
	if *asJSON {
		return json.NewEncoder(m.stdout).Encode(rows)
	}
	tw := tabwriter.NewWriter(m.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "TREATY\tNAME\tOPENED\tCOUNTED\tSIGNATORIES\tPARTIES\tIN FORCE FOR\tTHRESHOLD MET\tDAYS TO THRESHOLD\tENTRY INTO FORCE\n")
	for _, c := range rows {
		days := "—"
		if c.DaysToThreshold != nil {
			days = fmt.Sprint(*c.DaysToThreshold)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d (%.1f%%)\t%d\t%d\t%d\t%s\t%s\t%s\n", c.Treaty, c.Name, dateOrDash(c.Opened), c.Counted, c.Required, c.Percent,
			c.Signatories, c.Parties, c.InForceFor, dateOrDash(c.ThresholdMetOn), days, dateOrDash(c.EntryIntoForce))
	}
	return tw.Flush()
}

func dateOrDash(d *events.Date) string {
	if d == nil || d.IsZero() {
		return "—"
	}
	return d.String()
}

// writeParticipantsCSV writes a status's participant table as CSV
// (export.ParticipantsCSV, which the dashboard's download uses too).
func writeParticipantsCSV(w io.Writer, st projections.Status) error {
	return export.ParticipantsCSV(w, st)
}
