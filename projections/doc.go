// Package projections is treatywatch's read side: what a ratification
// tracker answers, computed from a treaty's folded history.
//
// It owns the entry-into-force engine (Evaluate), which applies a treaty's
// own clause to the instruments deposited — threshold date, general date of
// entry into force, each participant's date, and the progress of every
// condition — and the read models built on it: a treaty's Status as of a
// date, the Timeline of counted instruments, the Milestones between two
// statuses that the notifiers announce, the cross-treaty view of each
// participant (ParticipantViews) and the date a treaty opened for
// signature (OpenedForSignature). It holds data only: how a status reads
// for people (the CLI's text, a Slack message, the dashboard) belongs to
// the delivery that shows it.
//
// These are pure functions of their arguments: they do no I/O, never read
// a clock — "as of" dates are arguments — and never decide or append
// events: corrections and retractions are applied by events.History before
// a projection sees them, and the transaction-time axis ("as the ledger
// knew it at T") is chosen by the caller when it folds the stream.
//
// For analysts: DiffStatuses lists what changed between two statuses of a
// treaty (two as-of dates, two known-at moments, or both), and
// ForecastProgress estimates an entry into force from the pace so far
// against other treaties' progress curves (NewProgress), with the
// leave-one-out backtest (RunBacktest) that says whether it beats a
// straight line — pure functions too.
//
// Runner is the one exception, and the process's one reader of the log: it
// follows the log through the Log interface it declares (reads only), keeps
// bounded caches of folded histories and statuses (valid per date until
// an event that may change that date: StampAt), and publishes each event's
// Transition — headline statuses before and after it (ComputeHeadline;
// a statement, which counts for nothing, keeps the headline as it was) —
// to the notifier, the scheduler and the HTTP layer. A kept status whose
// treaty has since received only statements is brought up to date by
// adding them to their rows rather than computed again.
// StatusFromLog and Rebuild fold from the log for callers without a
// Runner (the command line). Nothing here writes.
package projections
