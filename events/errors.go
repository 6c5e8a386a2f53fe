package events

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors. Typed errors below wrap them, so callers can test with
// errors.Is and still read the values with errors.As.
var (
	// ErrConflict is returned by Store.Append (and so by every Ledger
	// command) when a stream's version is not the expected one: another
	// writer appended first. Nothing was written; reload and decide again.
	ErrConflict = errors.New("concurrent write conflict")
	// ErrNotFound is returned when a treaty, participant or event does not
	// exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalid is wrapped by every refusal of bad input: a bad date, a
	// bad name, a malformed file.
	ErrInvalid = errors.New("invalid input")
	// ErrRefused is wrapped by every refusal of a well-formed command that
	// the treaty's history does not allow (not signed, already bound, ...).
	ErrRefused = errors.New("refused")
	// ErrDuplicate is wrapped by DuplicateError: the act is already in the
	// ledger.
	ErrDuplicate = errors.New("already recorded")
	// ErrTampered is returned by chain verification when an event's stored
	// hash does not match its contents.
	ErrTampered = errors.New("hash chain broken")
	// ErrUnauthorized is returned by Ledger.VerifyToken for an unknown,
	// malformed or revoked token.
	ErrUnauthorized = errors.New("invalid or revoked token")
)

// ConflictError says which stream moved under a writer. It wraps ErrConflict.
type ConflictError struct {
	Stream   string
	Expected int64
	Actual   int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("stream %s is at version %d, expected %d: another writer appended first; nothing was written", e.Stream, e.Actual, e.Expected)
}

// Unwrap returns ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// UnknownTreatyError: no treaty with this id is registered. It wraps ErrNotFound.
type UnknownTreatyError struct {
	Treaty string
	Known  []string
}

func (e *UnknownTreatyError) Error() string {
	msg := fmt.Sprintf("unknown treaty %q", e.Treaty)
	if len(e.Known) > 0 {
		msg += "; known treaties: " + strings.Join(e.Known, ", ")
	} else {
		msg += "; no treaty is registered yet (treatywatch treaty add FILE.yaml)"
	}
	return msg
}

// Unwrap returns ErrNotFound.
func (e *UnknownTreatyError) Unwrap() error { return ErrNotFound }

// NotYetRegisteredError: a treaty the ledger holds now was not yet
// registered at the moment asked about (a --known-at or known_at before
// its treaty.registered event was recorded): the ledger knew nothing of it
// then. It unwraps to an *UnknownTreatyError, and so to ErrNotFound, for
// callers that only ask whether the treaty was known.
type NotYetRegisteredError struct {
	Treaty string
	// KnownAt is the moment asked about; RegisteredAt the recorded time
	// of the treaty's registration.
	KnownAt      time.Time
	RegisteredAt time.Time
}

func (e *NotYetRegisteredError) Error() string {
	return fmt.Sprintf("%s was not yet registered in this ledger at %s: the ledger knew nothing of it then (it was registered at %s; ask as known at that moment or later)",
		e.Treaty, e.KnownAt.UTC().Format(time.RFC3339), e.RegisteredAt.UTC().Format(time.RFC3339))
}

// Unwrap returns an *UnknownTreatyError for the treaty.
func (e *NotYetRegisteredError) Unwrap() error { return &UnknownTreatyError{Treaty: e.Treaty} }

// UnknownParticipantError: a name resolves to no participant. It wraps
// ErrNotFound and lists the closest known names.
type UnknownParticipantError struct {
	Name    string
	Closest []string
}

func (e *UnknownParticipantError) Error() string {
	msg := fmt.Sprintf("unknown participant %q", e.Name)
	if len(e.Closest) > 0 {
		msg += "; closest known names: " + strings.Join(e.Closest, ", ")
	}
	return msg
}

// Unwrap returns ErrNotFound.
func (e *UnknownParticipantError) Unwrap() error { return ErrNotFound }

// InvalidDateError: text that is not a real calendar date. It wraps ErrInvalid.
type InvalidDateError struct {
	Value  string
	Reason string
}

func (e *InvalidDateError) Error() string {
	return fmt.Sprintf("invalid date %q: %s", e.Value, e.Reason)
}

// Unwrap returns ErrInvalid.
func (e *InvalidDateError) Unwrap() error { return ErrInvalid }

// DateError: a real date that the command cannot take (after today, before
// the treaty's adoption). It wraps ErrInvalid.
type DateError struct {
	Date   Date
	Limit  Date
	Reason string // "after today", "before the treaty's adoption"
}

func (e *DateError) Error() string {
	return fmt.Sprintf("date %s is %s (%s)", e.Date, e.Reason, e.Limit)
}

// Unwrap returns ErrInvalid.
func (e *DateError) Unwrap() error { return ErrInvalid }

// UnknownActionError: an action name that is not in the vocabulary. It wraps ErrInvalid.
type UnknownActionError struct {
	Action string
}

func (e *UnknownActionError) Error() string {
	names := make([]string, 0, len(actionInfo))
	for _, a := range AllActions() {
		names = append(names, string(a))
	}
	msg := fmt.Sprintf("unknown action %q", e.Action)
	if s := suggestAction(e.Action); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return msg + "; known actions: " + strings.Join(names, ", ")
}

// Unwrap returns ErrInvalid.
func (e *UnknownActionError) Unwrap() error { return ErrInvalid }

// SignatureWindowError: a signature dated outside the treaty's signature
// window. It wraps ErrRefused.
type SignatureWindowError struct {
	Participant string
	Date        Date
	Opens       Date
	Closes      Date
}

func (e *SignatureWindowError) Error() string {
	if !e.Opens.IsZero() && e.Date.Before(e.Opens) {
		return fmt.Sprintf("%s cannot sign on %s: the treaty opens for signature on %s", e.Participant, e.Date, e.Opens)
	}
	return fmt.Sprintf("%s cannot sign on %s: the treaty closed for signature on %s; a State that has not signed becomes bound by accession (record accession)", e.Participant, e.Date, e.Closes)
}

// Unwrap returns ErrRefused.
func (e *SignatureWindowError) Unwrap() error { return ErrRefused }

// NotSignedError: ratification, acceptance or approval by a participant
// that has not signed. It wraps ErrRefused.
type NotSignedError struct {
	Participant string
	Action      Action
	Treaty      string
}

func (e *NotSignedError) Error() string {
	return fmt.Sprintf("%s has not signed %s, so it cannot deposit an instrument of %s; record its signature first, or record accession", e.Participant, e.Treaty, e.Action)
}

// Unwrap returns ErrRefused.
func (e *NotSignedError) Unwrap() error { return ErrRefused }

// AlreadyBoundError: a second consent to be bound by a participant that is
// already bound. It wraps ErrRefused.
type AlreadyBoundError struct {
	Participant string
	Action      Action // the consent already given
	Date        Date
	Position    int64
}

func (e *AlreadyBoundError) Error() string {
	return fmt.Sprintf("%s is already bound by %s of %s (position %d); a second consent to be bound is refused unless its denunciation has taken effect", e.Participant, e.Action, e.Date, e.Position)
}

// Unwrap returns ErrRefused.
func (e *AlreadyBoundError) Unwrap() error { return ErrRefused }

// NotPartyToParentError: a protocol or amendment instrument from a
// participant not bound by the parent treaty. It wraps ErrRefused.
type NotPartyToParentError struct {
	Participant string
	Treaty      string
	Parent      string
}

func (e *NotPartyToParentError) Error() string {
	return fmt.Sprintf("%s has not consented to be bound by %s, the parent of %s; record its instrument for %s first", e.Participant, e.Parent, e.Treaty, e.Parent)
}

// Unwrap returns ErrRefused.
func (e *NotPartyToParentError) Unwrap() error { return ErrRefused }

// NotBoundError: an act that needs a bound participant (denunciation) from
// one that is not. It wraps ErrRefused.
type NotBoundError struct {
	Participant string
	Action      Action
}

func (e *NotBoundError) Error() string {
	return fmt.Sprintf("%s is not bound by the treaty, so it cannot make a %s", e.Participant, e.Action)
}

// Unwrap returns ErrRefused.
func (e *NotBoundError) Unwrap() error { return ErrRefused }

// DuplicateError: the act is already in the ledger. It wraps ErrDuplicate.
type DuplicateError struct {
	Position    int64
	Participant string
	Action      Action
	Date        Date
	Reference   string
}

func (e *DuplicateError) Error() string {
	what := fmt.Sprintf("%s by %s on %s", e.Action, e.Participant, e.Date)
	if e.Reference != "" {
		what += " (" + e.Reference + ")"
	}
	return fmt.Sprintf("%s already recorded at position %d", what, e.Position)
}

// Unwrap returns ErrDuplicate.
func (e *DuplicateError) Unwrap() error { return ErrDuplicate }

// EventNotFoundError: a correction or retraction names a position that is
// not an act of this treaty. It wraps ErrNotFound.
type EventNotFoundError struct {
	Position int64
	Treaty   string
	Reason   string
}

func (e *EventNotFoundError) Error() string {
	msg := fmt.Sprintf("position %d is not an act of treaty %s", e.Position, e.Treaty)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// Unwrap returns ErrNotFound.
func (e *EventNotFoundError) Unwrap() error { return ErrNotFound }

// InvalidError is a refusal of malformed input that needs no type of its
// own: a missing field, a bad CSV column. It wraps ErrInvalid.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Unwrap returns ErrInvalid.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// TamperError names the first position where the hash chain breaks. It
// wraps ErrTampered.
type TamperError struct {
	Position int64
	Reason   string
}

func (e *TamperError) Error() string {
	return fmt.Sprintf("hash chain broken at position %d: %s", e.Position, e.Reason)
}

// Unwrap returns ErrTampered.
func (e *TamperError) Unwrap() error { return ErrTampered }

// RefusedError is a refusal by the treaty's history that needs no type of
// its own (already signed, withdrawal already notified). It wraps ErrRefused.
type RefusedError struct {
	Participant string
	Reason      string
}

func (e *RefusedError) Error() string { return e.Participant + " " + e.Reason }

// Unwrap returns ErrRefused.
func (e *RefusedError) Unwrap() error { return ErrRefused }

// LedgerNotEmptyError: an import of a whole log (Store.Import) into a
// ledger that already holds events. It wraps ErrRefused; nothing was
// written.
type LedgerNotEmptyError struct {
	// Head is the position of the ledger's last event.
	Head int64
}

func (e *LedgerNotEmptyError) Error() string {
	return fmt.Sprintf("the ledger already holds events (its head is position %d): a log is imported only into an empty ledger, so that its positions and hash chain stay what they were; import into a new --db file", e.Head)
}

// Unwrap returns ErrRefused.
func (e *LedgerNotEmptyError) Unwrap() error { return ErrRefused }

// LogImportError: an event of an imported log that cannot be the next event
// of the log it rebuilds (a gap in the positions, a version that does not
// follow, a malformed field) or whose hash is not the chain's. It wraps
// ErrInvalid, and ErrTampered too when the hash does not match; nothing
// was written.
type LogImportError struct {
	// Position is the position the event claims (0 when it has none); Line
	// is its line in the file, when the importer knows it (0 otherwise).
	Position int64
	Line     int
	Reason   string
	// HashMismatch is set when the event's hash is not SHA-256(previous
	// hash ‖ its canonical bytes).
	HashMismatch bool
}

func (e *LogImportError) Error() string {
	where := fmt.Sprintf("position %d", e.Position)
	if e.Line > 0 {
		where = fmt.Sprintf("line %d (position %d)", e.Line, e.Position)
	}
	return fmt.Sprintf("import refused at %s: %s; nothing was imported", where, e.Reason)
}

// Unwrap returns ErrInvalid, and ErrTampered for a hash that does not match.
func (e *LogImportError) Unwrap() []error {
	if e.HashMismatch {
		return []error{ErrInvalid, ErrTampered}
	}
	return []error{ErrInvalid}
}
