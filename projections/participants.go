package projections

import (
	"sort"

	"github.com/treatywatch/treatywatch/events"
)

// ParticipantView is one participant across treaties: its row in each
// treaty where it has an act, as the statuses it was built from show it.
type ParticipantView struct {
	// Participant is the canonical name.
	Participant string `json:"participant"`
	// Treaties holds the participant's row in each treaty, in the order
	// of the statuses given to ParticipantViews.
	Treaties []ParticipantTreaty `json:"treaties"`
}

// ParticipantTreaty is a participant's standing in one treaty, the
// columns of a cross-treaty view: signature, consent to be bound, entry
// into force for it, and the date a withdrawal took (or takes) effect.
type ParticipantTreaty struct {
	// Treaty is the treaty's id; Title its short title, else its title.
	Treaty string `json:"treaty"`
	Title  string `json:"title"`
	// Signature, Consent, EntryIntoForce and WithdrawalEffective are the
	// participant's Participation fields in the treaty's Status.
	Signature           *events.Date `json:"signature"`
	Consent             *Consent     `json:"consent"`
	EntryIntoForce      *events.Date `json:"entry_into_force"`
	WithdrawalEffective *events.Date `json:"withdrawal_effective"`
	// ProvisionalApplication is the date of the participant's declaration
	// of provisional application, if any (never a consent).
	ProvisionalApplication *events.Date `json:"provisional_application"`
}

// ParticipantViews returns the cross-treaty view of every participant
// with an act in any of statuses (normally the statuses of every tracked
// treaty as of one date and one known-at time), sorted by name the way
// the UN Treaty Collection sorts them (events.Normalize), each with its
// rows in the order of statuses. A participant with no act in any of them
// is not listed. It is a pure function of statuses.
func ParticipantViews(statuses []Status) []ParticipantView {
	index := map[string]int{}
	var out []ParticipantView
	for _, st := range statuses {
		for _, p := range st.Participants {
			i, ok := index[p.Participant]
			if !ok {
				i = len(out)
				index[p.Participant] = i
				out = append(out, ParticipantView{Participant: p.Participant})
			}
			out[i].Treaties = append(out[i].Treaties, rowOf(st, p))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := events.Normalize(out[i].Participant), events.Normalize(out[j].Participant)
		if a != b {
			return a < b
		}
		return out[i].Participant < out[j].Participant
	})
	return out
}

// ParticipantViewOf returns the cross-treaty view of one participant,
// named canonically (resolve names and aliases with events.Directory
// first): its rows in statuses, none (an empty, non-nil list) if it has
// no act in any of them.
func ParticipantViewOf(statuses []Status, participant string) ParticipantView {
	v := ParticipantView{Participant: participant, Treaties: []ParticipantTreaty{}}
	for _, st := range statuses {
		for _, p := range st.Participants {
			if p.Participant == participant {
				v.Treaties = append(v.Treaties, rowOf(st, p))
			}
		}
	}
	return v
}

// rowOf is participant p's row of treaty st.
func rowOf(st Status, p Participation) ParticipantTreaty {
	title := st.ShortTitle
	if title == "" {
		title = st.Title
	}
	v := ParticipantTreaty{Treaty: st.Treaty, Title: title, Signature: p.Signature, Consent: p.Consent,
		EntryIntoForce: p.EntryIntoForce, WithdrawalEffective: p.WithdrawalEffective}
	if pa := p.ProvisionalApplication; pa != nil {
		v.ProvisionalApplication = &pa.Date
	}
	return v
}
