package notifiers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"

	"github.com/slack-go/slack"
)

// UncertainError reports a send whose outcome is unknown: the request
// reached the sink, or may have, and no definite answer came back — a
// timeout, a connection reset after the request was written, a 5xx, a
// 429, Slack's internal_error or fatal_error. The message may have been
// delivered. Err is the classified failure (Classify sees through
// UncertainError: a 429 inside is still FailureRateLimited).
//
// Sinks return it; the sender then never sends the message again blindly:
// it asks a Confirmer first, sends again with the same delivery id to a
// receiver that deduplicates on it (the generic webhook), or dead-letters
// the delivery when neither is possible (a Slack incoming webhook).
type UncertainError struct {
	Sink string
	Err  error
}

// Error describes the failure and says that the message may have arrived.
func (e *UncertainError) Error() string {
	return fmt.Sprintf("%v (the message may have been delivered)", e.Err)
}

// Unwrap returns the classified failure.
func (e *UncertainError) Unwrap() error { return e.Err }

// MayHaveArrived reports whether a failed send may nonetheless have
// delivered the message (err is or wraps an *UncertainError).
func MayHaveArrived(err error) bool {
	_, ok := errors.AsType[*UncertainError](err)
	return ok
}

// writeTrace records whether an HTTP request made with its context
// started to be written to a connection: until it has, the server cannot
// have acted on it (a refused connection, a DNS failure, a dial timeout,
// a context ended before the call).
type writeTrace struct{ wrote atomic.Bool }

// traceWrites returns ctx with an httptrace hook that sets the trace when
// a request's headers are written.
func traceWrites(ctx context.Context) (context.Context, *writeTrace) {
	t := &writeTrace{}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { t.wrote.Store(true) }}), t
}

// slackOutcome turns a failed Slack call (Web API or incoming webhook)
// into the sink's error: classified by fromSlack, and wrapped in an
// *UncertainError when the message may have been posted although the call
// failed — the request was written, and the failure is not an answer by
// which Slack refused it (ok=false with an error code other than
// internal_error and fatal_error, a 4xx other than 429).
func slackOutcome(sink string, err error, t *writeTrace) error {
	classified := fromSlack(sink, err)
	if !t.wrote.Load() || !slackMayHavePosted(err) {
		return classified
	}
	return &UncertainError{Sink: sink, Err: classified}
}

// slackMayHavePosted reports whether a failure of a call that reached
// Slack leaves open whether the message was posted.
func slackMayHavePosted(err error) bool {
	if _, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return true // a 429 can follow a post Slack accepted
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		// Slack documents that after these "some aspect of the operation
		// may have succeeded"; any other code is a refusal.
		return se.Err == "internal_error" || se.Err == "fatal_error"
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		return sc.Code == http.StatusTooManyRequests || sc.Code >= 500
	}
	// No answer read: a timeout, a reset, a closed connection, or an
	// answer that could not be parsed.
	return true
}
