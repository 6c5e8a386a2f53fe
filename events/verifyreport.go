package events

// VerifyReport is what a store's walk of its hash chain found (the
// VerifyReport method of events/sqlite and events/postgres).
type VerifyReport struct {
	// Events is the number of rows read.
	Events int64
	// Head is the position of the last event, 0 for an empty log.
	Head int64
	// Hash is the last event's stored hash, nil for an empty log. Keep
	// it (with Head) elsewhere and pass it back as a KeptHead to detect a
	// later truncation of the log, which the chain alone cannot reveal.
	Hash []byte
	// Breaks are the positions where the log is not what Append wrote,
	// in position order, at most MaxBreaks of them. Empty when the log
	// is intact.
	Breaks []TamperError
	// More reports that breaks beyond MaxBreaks were found.
	More bool
}

// MaxBreaks is the number of breaks a VerifyReport lists.
const MaxBreaks = 100

// AddBreak records a break: in Breaks while there are fewer than
// MaxBreaks, else by setting More.
func (r *VerifyReport) AddBreak(b TamperError) {
	if len(r.Breaks) < MaxBreaks {
		r.Breaks = append(r.Breaks, b)
		return
	}
	r.More = true
}

// KeptHead is a head of the log recorded by an earlier verification: the
// log must still hold an event at Position whose hash is Hash.
type KeptHead struct {
	Position int64
	Hash     []byte
}
