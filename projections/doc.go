// Package projections is treatywatch's read side: what a ratification
// tracker answers, computed from a treaty's folded history.
//
// It owns the entry-into-force engine (Evaluate), which applies a treaty's
// own clause to the instruments deposited — threshold date, general date of
// entry into force, each participant's date, and the progress of every
// condition — and the read models built on it: a treaty's Status as of a
// date, the Timeline of counted instruments, and the Milestones between
// two statuses that the notifiers announce. It holds data only: how a
// status reads for people (the CLI's text, a Slack message, the dashboard)
// belongs to the delivery that shows it.
//
// Everything here is a pure function of its arguments. The package does no
// I/O of its own, never reads a clock — "as of" dates are arguments — and
// never decides or appends events: corrections and retractions are applied
// by events.History before a projection sees them, and the transaction-time
// axis ("as the ledger knew it at T") is chosen by the caller when it folds
// the stream.
// Runners that persist these models and their checkpoints live beside this
// code and call it; they hold the I/O.
package projections
