package main

import (
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/treatyfile"
)

// jsonError is an error as a command run with --json prints it: one JSON
// object on standard error, the same shape and codes as the HTTP API's
// error bodies.
type jsonError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details"`
}

// wantsJSON reports whether a command line asks for JSON output: --json
// (or -json, --json=true) before any "--".
func wantsJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "-json", "--json=true", "-json=true":
			return true
		}
	}
	return false
}

// toJSONError maps an error to its code and details, as the HTTP API does
// (cmd/internal/web's toAPIError), plus "usage" for a command-line mistake
// and "failure" for an operation that failed. The exit code is exitCode's.
func toJSONError(err error) jsonError {
	var (
		ue  *usageError
		ie  *events.ImportError
		tfe treatyfile.Errors
		upe *events.UnknownParticipantError
		ute *events.UnknownTreatyError
		dup *events.DuplicateError
		inv *events.InvalidError
	)
	j := jsonError{Message: err.Error(), Details: map[string]any{}}
	switch {
	case errors.As(err, &ue):
		j.Code = "usage"
		j.Message, _, _ = strings.Cut(ue.msg, "\nusage: ") // the message, not the usage printed after it
	case errors.As(err, &ie):
		rows := make([]map[string]any, len(ie.Rows))
		for i, r := range ie.Rows {
			rows[i] = map[string]any{"line": r.Line, "message": r.Msg}
		}
		j.Code, j.Details = "import_rejected", map[string]any{"rows": rows}
	case errors.As(err, &tfe):
		ps := make([]map[string]any, len(tfe))
		for i, p := range tfe {
			ps[i] = map[string]any{"line": p.Line, "field": p.Field, "message": p.Msg}
		}
		j.Code, j.Details = "invalid_definition", map[string]any{"problems": ps}
	case errors.As(err, &upe):
		j.Code, j.Details = "unknown_participant", map[string]any{"name": upe.Name, "closest": nonNil(upe.Closest)}
	case errors.As(err, &ute):
		j.Code, j.Details = "unknown_treaty", map[string]any{"treaty": ute.Treaty, "known": nonNil(ute.Known)}
	case errors.Is(err, events.ErrNotFound):
		j.Code = "not_found"
	case errors.As(err, &dup):
		j.Code, j.Details = "duplicate", map[string]any{"position": dup.Position}
	case errors.Is(err, events.ErrDuplicate):
		j.Code = "duplicate"
	case errors.Is(err, events.ErrConflict):
		j.Code = "conflict"
	case errors.Is(err, events.ErrRefused):
		j.Code = "refused"
	case errors.As(err, &inv):
		j.Code, j.Details = "invalid", map[string]any{"field": inv.Field}
	case errors.Is(err, events.ErrInvalid):
		j.Code = "invalid"
	default:
		j.Code = "failure"
	}
	return j
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeJSONError writes err as one line of JSON (jsonError).
func writeJSONError(w io.Writer, err error) {
	b, merr := json.Marshal(toJSONError(err))
	if merr != nil { // cannot happen: strings, ints and slices of them
		b = []byte(`{"code":"failure","message":"cannot encode the error","details":{}}`)
	}
	_, _ = w.Write(append(b, '\n'))
}
