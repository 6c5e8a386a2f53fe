package treatyfile

import (
	"fmt"
	"strings"

	"github.com/treatywatch/treatywatch/events"
)

// Error is one problem in a treaty definition file, located by line and
// field path ("entry_into_force.delay"). It wraps events.ErrInvalid.
type Error struct {
	// Line is the 1-based line of the offending node; 0 when unknown.
	Line int
	// Field is the dotted path of the field ("entry_into_force.group.members[2]");
	// empty for problems with the document as a whole.
	Field string
	// Msg says what is wrong and, where it helps, what is expected.
	Msg string
	// Err is the underlying cause when there is one (an
	// *events.InvalidDateError, an *events.UnknownParticipantError, ...).
	// It is kept for inspection but deliberately not part of the Unwrap
	// chain: a bad file is invalid input (events.ErrInvalid), never "not
	// found", whatever the cause.
	Err error
}

// Error formats e as "line 7: entry_into_force.delai: unknown key (...)".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns events.ErrInvalid.
func (e *Error) Unwrap() error { return events.ErrInvalid }

// Errors is every problem found in one file, in line order. Parse returns
// an Errors (never an empty one) when the file is not a valid definition;
// errors.As finds the first *Error in it, and errors.Is(err,
// events.ErrInvalid) holds.
type Errors []*Error

// Error lists every problem, one per line.
func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap returns the individual errors.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
