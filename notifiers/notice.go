package notifiers

import (
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// Notice kinds: what a message is about.
const (
	KindDeposit         = "deposit"          // a consent to be bound was deposited
	KindSignature       = "signature"        // a signature
	KindAct             = "act"              // another act: declaration, reservation, objection, denunciation...
	KindMilestone       = "milestone"        // 25/50/75/90 % of the threshold
	KindToGo            = "to-go"            // five or fewer instruments remain
	KindThreshold       = "threshold"        // the threshold is reached; the entry-into-force date is known
	KindInForce         = "in-force"         // entry-into-force day
	KindCountdown       = "countdown"        // 30, 7, 1 days before entry into force
	KindSignatureWindow = "signature-window" // the signature window closes in 30 or 7 days
	KindProtocol        = "protocol"         // a protocol proposed or adopted
	KindCorrection      = "correction"       // an act corrected
	KindRetraction      = "retraction"       // an act retracted
	KindDigest          = "digest"           // a scheduled digest
)

// Notice is one thing to tell subscribers, as data: what happened, to
// which treaty, with the progress after it. CardOf says what it means in
// words (a Card); Render makes the Message a sink receives.
type Notice struct {
	Kind       string `json:"kind"`
	Treaty     string `json:"treaty"`      // id, e.g. XVIII-16
	TreatyName string `json:"treaty_name"` // short title, e.g. Hanoi Convention
	// Position is the ledger event the notice comes from; 0 for
	// time-driven notices (countdowns, windows, digests).
	Position    int64         `json:"position,omitempty"`
	Participant string        `json:"participant,omitempty"`
	Action      events.Action `json:"action,omitempty"`
	Date        events.Date   `json:"date,omitzero"` // date of the act, or of the time-driven event
	Reference   string        `json:"reference,omitempty"`
	Source      string        `json:"source,omitempty"`
	// Progress after the event.
	Counted  int `json:"counted"`
	Required int `json:"required"`
	// EntryIntoForce is the computed general entry-into-force date, when known.
	EntryIntoForce events.Date `json:"entry_into_force,omitzero"`
	Percent        int         `json:"percent,omitempty"`   // milestone percent
	DaysLeft       int         `json:"days_left,omitempty"` // countdown and window notices
	// Text explains what changed, for corrections and retractions.
	Text   string  `json:"text,omitempty"`
	Digest *Digest `json:"digest,omitempty"`
}

// Remaining returns how many instruments are still missing.
func (n Notice) Remaining() int { return max(0, n.Required-n.Counted) }

// Digest is the body of a scheduled digest.
type Digest struct {
	// Since and Until bound the period the digest covers.
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Items are the notices of the period, in log order.
	Items []Notice `json:"items"`
	// Progress is each followed treaty's standing at Until.
	Progress []Progress `json:"progress"`
}

// Progress is one treaty's standing, for digests.
type Progress struct {
	Treaty         string      `json:"treaty"`
	TreatyName     string      `json:"treaty_name"`
	Counted        int         `json:"counted"`
	Required       int         `json:"required"`
	EntryIntoForce events.Date `json:"entry_into_force,omitzero"`
	InForce        bool        `json:"in_force"`
	// Forecast is the estimated entry into force (projections.ForecastProgress)
	// of a treaty not past its threshold, when there is an estimate.
	Forecast *ForecastLine `json:"forecast,omitempty"`
}

// ForecastLine is a digest's estimate of a treaty's entry into force: a
// range and a central date, how many comparable treaties it was scaled
// from, and whether the model beat a straight line in its backtest.
type ForecastLine struct {
	Earliest   events.Date `json:"earliest"`
	Central    events.Date `json:"central"`
	Latest     events.Date `json:"latest"`
	References int         `json:"references"`
	BeatsNaive bool        `json:"beats_naive"`
}
