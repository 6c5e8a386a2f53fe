package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/treatyfile"
)

// apiError is an HTTP error answer: its status and the JSON body
// {code, message, details}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func badRequestf(format string, args ...any) error {
	return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: fmt.Sprintf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf(format, args...)}
}

func forbiddenf(format string, args ...any) error {
	return &apiError{Status: http.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf(format, args...)}
}

func unauthorized(msg string) error {
	return &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: msg}
}

// statusClientClosed answers a request whose client went away (nginx's
// 499): nobody reads it, but the request log and metrics show it.
const statusClientClosed = 499

// rowError is one refused import row in an error's details.
type rowError struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// problem is one problem of a treaty definition file in an error's details.
type problem struct {
	Line    int    `json:"line,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// toAPIError maps an error to its HTTP answer. It is the one place where
// the events package's sentinels and typed errors become status codes:
//
//	ErrInvalid (bad date, unknown action, bad file, refused rows) → 422
//	ErrNotFound (unknown treaty, participant, event)               → 404
//	  (a treaty not yet registered at known_at: 404 not_yet_registered)
//	ErrRefused (not signed, already bound, window closed)          → 409 refused
//	ErrDuplicate (the act is already recorded)                     → 409 duplicate
//	ErrConflict (a concurrent writer won; retry)                   → 409 conflict
//	ErrUnauthorized (unknown or revoked token)                     → 401
//
// Malformed HTTP input (bad JSON, a bad query parameter, a body cut short)
// is 400, a body over its limit 413, a body too slow to arrive 408;
// anything else is a 500 whose cause is logged, not shown.
func toAPIError(err error) *apiError {
	var (
		ae  *apiError
		ie  *events.ImportError
		tfe treatyfile.Errors
		upe *events.UnknownParticipantError
		ute *events.UnknownTreatyError
		nyr *events.NotYetRegisteredError
		dup *events.DuplicateError
		inv *events.InvalidError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &mbe):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("the request body is over its limit of %d bytes", mbe.Limit)}
	case errors.As(err, &ie):
		rows := make([]rowError, len(ie.Rows))
		for i, r := range ie.Rows {
			rows[i] = rowError{Line: r.Line, Message: r.Msg}
		}
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "import_rejected", Message: err.Error(), Details: map[string]any{"rows": rows}}
	case errors.As(err, &tfe):
		ps := make([]problem, len(tfe))
		for i, p := range tfe {
			ps[i] = problem{Line: p.Line, Field: p.Field, Message: p.Msg}
		}
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_definition", Message: err.Error(), Details: map[string]any{"problems": ps}}
	case errors.As(err, &upe):
		return &apiError{Status: http.StatusNotFound, Code: "unknown_participant", Message: err.Error(), Details: map[string]any{"name": upe.Name, "closest": nonNil(upe.Closest)}}
	case errors.As(err, &nyr):
		return &apiError{Status: http.StatusNotFound, Code: "not_yet_registered", Message: err.Error(),
			Details: map[string]any{"treaty": nyr.Treaty, "known_at": nyr.KnownAt.UTC(), "registered_at": nyr.RegisteredAt.UTC()}}
	case errors.As(err, &ute):
		return &apiError{Status: http.StatusNotFound, Code: "unknown_treaty", Message: err.Error(), Details: map[string]any{"treaty": ute.Treaty, "known": nonNil(ute.Known)}}
	case errors.Is(err, events.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: err.Error()}
	case errors.Is(err, events.ErrUnauthorized):
		return &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: err.Error()}
	case errors.As(err, &dup):
		return &apiError{Status: http.StatusConflict, Code: "duplicate", Message: err.Error(), Details: map[string]any{"position": dup.Position}}
	case errors.Is(err, events.ErrDuplicate):
		return &apiError{Status: http.StatusConflict, Code: "duplicate", Message: err.Error()}
	case errors.Is(err, events.ErrConflict):
		return &apiError{Status: http.StatusConflict, Code: "conflict", Message: err.Error()}
	case errors.Is(err, events.ErrRefused):
		return &apiError{Status: http.StatusConflict, Code: "refused", Message: err.Error()}
	case errors.As(err, &inv):
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: err.Error(), Details: map[string]any{"field": inv.Field}}
	case errors.Is(err, events.ErrInvalid):
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid", Message: err.Error()}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &apiError{Status: http.StatusRequestTimeout, Code: "request_timeout", Message: "the request body did not arrive in time; nothing was written"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &apiError{Status: http.StatusBadRequest, Code: "bad_request", Message: "the request body ended before its announced length; nothing was written"}
	case errors.Is(err, context.Canceled):
		return &apiError{Status: statusClientClosed, Code: "canceled", Message: "the client went away before the answer"}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusServiceUnavailable, Code: "timeout", Message: "the request took too long; nothing may have been written, retry with the same Idempotency-Key"}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; see the server log"}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeError writes err as a JSON error answer, logging server errors.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPIError(err)
	if ae.Status >= 500 {
		s.logger.ErrorContext(r.Context(), "request failed", "request_id", requestIDOf(r.Context()), "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if ae.Status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="treatywatch"`)
	}
	writeJSON(w, ae.Status, ae)
}

// jsonContentType is the Content-Type of every JSON answer.
const jsonContentType = "application/json; charset=utf-8"

// encodeJSON is the body of a JSON answer: v and a newline.
func encodeJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// writeJSON writes v as JSON with a status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := encodeJSON(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"code":"internal","message":"cannot encode the response"}` + "\n")
	}
	writeRawJSON(w, status, b)
}

// writeRawJSON writes b, encoded JSON, with a status.
func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("Cache-Control", "no-store")
	// With its length known the answer goes out in one piece, not chunked.
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b) //nolint:gosec // JSON from encoding/json, sent as application/json with nosniff: no HTML context
}
