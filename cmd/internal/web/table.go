package web

import (
	"net/url"
	"sort"
	"strings"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// statementColumn is one of the participant table's statement columns,
// after the Council of Europe's treaty charts: a letter, what it holds,
// and the actions shown in it.
type statementColumn struct {
	Letter, Title, Legend string
	actions               []events.Action
	notes                 bool // also the notes of the participant's other acts
}

// statementColumns are the participant table's statement columns. The
// CoE's A (authorities designated) has no action of its own here: a
// designation of an authority is recorded as a declaration (D).
func statementColumns() []statementColumn {
	return []statementColumn{
		{Letter: "R", Title: "Reservations", Legend: "reservations and their withdrawals", actions: []events.Action{events.Reservation, events.ReservationWithdrawn}},
		{Letter: "D", Title: "Declarations", Legend: "declarations, designations of authorities among them (the Council of Europe's A)", actions: []events.Action{events.Declaration}},
		{Letter: "T", Title: "Territorial application", Legend: "territorial applications", actions: []events.Action{events.TerritorialApplication}},
		{Letter: "C", Title: "Communications and notes", Legend: "unofficial domestic steps (intent announced, parliamentary approval; never counted) and the notes of the participant's other acts", actions: []events.Action{events.IntentAnnounced, events.ParliamentaryApproval}, notes: true},
		{Letter: "O", Title: "Objections", Legend: "objections made by the participant, to another's reservation or declaration", actions: []events.Action{events.Objection}},
		{Letter: "P", Title: "Provisional application", Legend: "provisional application (the UNTC's n; never counted toward entry into force)", actions: []events.Action{events.ProvisionalApplication}},
	}
}

// statement is one act shown in a statement column.
type statement struct {
	Label, Subject, Note, Reference, Source string
	Date                                    events.Date
	Position                                int64
}

// statementCell is a participant's acts of one statement column.
type statementCell struct {
	Letter, Title string
	Items         []statement
}

// participantRow is one row of the dashboard's participant table.
type participantRow struct {
	projections.Participation
	Region string
	// Status holds the row's status words for the filter, space
	// separated: signatory, signed-only, party, in-force, withdrawn,
	// provisional.
	Status string
	// StatusText says the same for people.
	StatusText string
	// Key is the normalized name and ISO code the name filter matches.
	Key string
	// Provisional is the date of the participant's provisional
	// application, if any (shown in the consent column with "n").
	Provisional *events.Date
	Cells       []statementCell
	// Hidden rows do not match the filter of the query string (the page
	// renders every row; the script can show them again).
	Hidden bool
}

// rowStatus classifies a participation as of asOf.
func rowStatus(p projections.Participation, asOf events.Date, provisional bool) (words []string, text string) {
	withdrawn := p.WithdrawalEffective != nil && !p.WithdrawalEffective.After(asOf)
	party := p.Consent != nil && !withdrawn
	inForce := party && p.EntryIntoForce != nil && !p.EntryIntoForce.After(asOf)
	if p.Signature != nil {
		words = append(words, "signatory")
		if !party && !withdrawn {
			words = append(words, "signed-only")
		}
	}
	if party {
		words = append(words, "party")
	}
	if inForce {
		words = append(words, "in-force")
	}
	if withdrawn {
		words = append(words, "withdrawn")
	}
	if provisional {
		words = append(words, "provisional")
	}
	switch {
	case withdrawn:
		text = "withdrawn"
	case inForce:
		text = "in force"
	case party:
		text = "party, not yet in force"
	case provisional:
		text = "applies provisionally"
	case p.Signature != nil:
		text = "signatory"
	default:
		text = "statements only"
	}
	return words, text
}

// participantRows builds the participant table of a status from the facts
// of its history dated on or before the status's date.
func participantRows(st projections.Status, facts []events.Fact, dir *events.Directory) []participantRow {
	byName := map[string][]events.Fact{}
	for _, f := range facts {
		if !f.Date.After(st.AsOf) {
			byName[f.Participant] = append(byName[f.Participant], f)
		}
	}
	cols := statementColumns()
	rows := make([]participantRow, 0, len(st.Participants))
	for _, p := range st.Participants {
		row := participantRow{Participation: p, Key: events.Normalize(p.Participant) + " " + strings.ToLower(p.ISO3)}
		if dir != nil {
			if ref, ok := dir.Lookup(p.Participant); ok {
				row.Region = ref.Region
			}
		}
		acts := byName[p.Participant]
		sort.SliceStable(acts, func(i, j int) bool {
			if acts[i].Date != acts[j].Date {
				return acts[i].Date.Before(acts[j].Date)
			}
			return acts[i].Position < acts[j].Position
		})
		shown := map[events.Action]bool{}
		for _, c := range cols {
			for _, a := range c.actions {
				shown[a] = true
			}
		}
		for _, c := range cols {
			cell := statementCell{Letter: c.Letter, Title: c.Title}
			for _, f := range acts {
				in := false
				for _, a := range c.actions {
					in = in || f.Action == a
				}
				if !in && !(c.notes && !shown[f.Action] && f.Note != "") {
					continue
				}
				cell.Items = append(cell.Items, statement{Label: f.Action.Label(), Subject: f.Subject, Note: f.Note, Reference: f.Reference, Source: f.Source, Date: f.Date, Position: f.Position})
				if f.Action == events.ProvisionalApplication && row.Provisional == nil {
					d := f.Date
					row.Provisional = &d
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		words, text := rowStatus(p, st.AsOf, row.Provisional != nil || (p.Consent != nil && p.Consent.Kind == events.ProvisionalApplication))
		row.Status, row.StatusText = strings.Join(words, " "), text
		rows = append(rows, row)
	}
	return rows
}

// tableFilter is the participant table's filter, from the query string:
// q (a name, alias or ISO code, or part of one), region and status (one
// of statusChoices' values).
type tableFilter struct {
	Q, Region, Status string
}

func filterOf(q url.Values) tableFilter {
	return tableFilter{Q: strings.TrimSpace(q.Get("q")), Region: strings.TrimSpace(q.Get("region")), Status: strings.TrimSpace(q.Get("status"))}
}

// match reports whether a row passes the filter; the script applies the
// same test in the browser.
func (f tableFilter) match(r participantRow) bool {
	if f.Q != "" && !strings.Contains(r.Key, events.Normalize(f.Q)) {
		return false
	}
	if f.Region != "" && r.Region != f.Region {
		return false
	}
	if f.Status != "" && !strings.Contains(" "+r.Status+" ", " "+f.Status+" ") {
		return false
	}
	return true
}

// statusChoices are the status filter's choices: value, label.
func statusChoices() [][2]string {
	return [][2]string{
		{"", "Any status"},
		{"signatory", "Signatories"},
		{"signed-only", "Signed, not yet a party"},
		{"party", "Parties (consented to be bound)"},
		{"in-force", "In force for"},
		{"withdrawn", "Withdrawn"},
		{"provisional", "Applying provisionally"},
	}
}

// regionsOf are the distinct regions of rows, sorted.
func regionsOf(rows []participantRow) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rows {
		if r.Region != "" && !seen[r.Region] {
			seen[r.Region] = true
			out = append(out, r.Region)
		}
	}
	sort.Strings(out)
	return out
}
