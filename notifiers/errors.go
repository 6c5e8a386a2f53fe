package notifiers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Failure classes returned by Classify: what the sender should do with a
// delivery whose Send failed.
const (
	// FailurePermanent: dead-letter now; retrying cannot succeed until
	// someone fixes the subscription or the destination.
	FailurePermanent = "permanent"
	// FailureRateLimited: retry after the returned delay (or the sender's
	// own back-off when the delay is zero); sending earlier to the same
	// destination will be refused again.
	FailureRateLimited = "rate_limited"
	// FailureRetry: a transient failure (5xx, timeout, network error,
	// cancelled context); retry with back-off.
	FailureRetry = "retry"
)

// PermanentError is a failure that no retry will fix: Slack refused the
// token or the channel (invalid_auth, channel_not_found, not_in_channel,
// is_archived, account_inactive, token_revoked, no_permission...), or a
// webhook answered with a 4xx other than 408 and 429. Sinks return it;
// the sender dead-letters the delivery with Reason.
type PermanentError struct {
	Sink   string // events.SinkSlack, events.SinkWebhook...
	Reason string // Slack's error code ("invalid_auth") or the HTTP status
	Err    error  // the underlying error, if any
}

// Error describes the failure.
func (e *PermanentError) Error() string {
	return fmt.Sprintf("%s: %s (permanent: not retried)", e.Sink, e.Reason)
}

// Unwrap returns the underlying error.
func (e *PermanentError) Unwrap() error { return e.Err }

// RateLimitedError reports that the destination asked us to slow down
// (HTTP 429). RetryAfter is the delay it asked for (Retry-After), or zero
// when it gave none. A 429 does not prove the message was not posted:
// Slack may have accepted it before refusing, so a retry can duplicate.
type RateLimitedError struct {
	Sink       string
	RetryAfter time.Duration
	Err        error // the underlying error, if any
}

// Error describes the failure.
func (e *RateLimitedError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%s: rate limited, retry after %s", e.Sink, e.RetryAfter)
	}
	return fmt.Sprintf("%s: rate limited", e.Sink)
}

// Unwrap returns the underlying error.
func (e *RateLimitedError) Unwrap() error { return e.Err }

// Classify sorts an error returned by a Sink (or by slack-go directly)
// into FailurePermanent, FailureRateLimited (with the delay asked for,
// possibly zero) or FailureRetry. Anything it does not recognise as
// permanent or rate limited is retryable. Classify(nil) returns "".
func Classify(err error) (kind string, retryAfter time.Duration) {
	if err == nil {
		return "", 0
	}
	if rl, ok := errors.AsType[*RateLimitedError](err); ok {
		return FailureRateLimited, rl.RetryAfter
	}
	if _, ok := errors.AsType[*PermanentError](err); ok {
		return FailurePermanent, 0
	}
	switch e := fromSlack("", err).(type) {
	case *RateLimitedError:
		return FailureRateLimited, e.RetryAfter
	case *PermanentError:
		return FailurePermanent, 0
	}
	return FailureRetry, 0
}

// IsPermanent reports whether err is a failure that no retry will fix.
func IsPermanent(err error) bool {
	kind, _ := Classify(err)
	return kind == FailurePermanent
}

// slackErrorClass sorts a Slack Web API error code: FailurePermanent
// when the token, the channel, the app's rights or the payload is wrong
// (no retry will fix it), FailureRateLimited for "slow down" codes sent
// with HTTP 200, and FailureRetry for anything else (internal_error,
// fatal_error, service_unavailable, request_timeout, unknown codes).
func slackErrorClass(code string) string {
	switch code {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
		"no_permission", "missing_scope", "not_allowed_token_type", "ekm_access_denied",
		"team_access_not_granted", "org_login_required", "access_denied",
		"channel_not_found", "not_in_channel", "is_archived", "restricted_action",
		"invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text", "invalid_arguments":
		return FailurePermanent
	case "ratelimited", "rate_limited":
		return FailureRateLimited
	}
	return FailureRetry
}

// fromSlack turns a slack-go error into a PermanentError or a
// RateLimitedError when it is one, and otherwise wraps it as retryable.
// Webhook URLs are redacted from network errors: an incoming-webhook URL
// is a credential.
func fromSlack(sink string, err error) error {
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return &RateLimitedError{Sink: sink, RetryAfter: rl.RetryAfter, Err: err}
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		switch slackErrorClass(se.Err) {
		case FailurePermanent:
			return &PermanentError{Sink: sink, Reason: se.Err, Err: err}
		case FailureRateLimited:
			return &RateLimitedError{Sink: sink, Err: err}
		}
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		return fromStatus(sink, sc.Code, sc.Status, "", err)
	}
	err = redactURLError(err)
	if sink == "" {
		return err
	}
	return fmt.Errorf("%s: %w", sink, err)
}

// fromStatus classifies a failed HTTP response: 429 is rate limited
// (the caller fills RetryAfter), 408, 5xx and anything outside 4xx are
// retryable, other 4xx are permanent. detail is an excerpt of the body.
func fromStatus(sink string, code int, status, detail string, err error) error {
	reason := status
	if reason == "" {
		reason = fmt.Sprintf("%d %s", code, http.StatusText(code))
	}
	reason = "HTTP " + reason
	if detail != "" {
		reason += ": " + detail
	}
	switch {
	case code == http.StatusTooManyRequests:
		return &RateLimitedError{Sink: sink, Err: err}
	case code == http.StatusRequestTimeout || code >= 500 || code < 400:
		if err == nil {
			err = errors.New(reason)
		}
		if sink == "" {
			return err
		}
		return fmt.Errorf("%s: %w", sink, err)
	}
	return &PermanentError{Sink: sink, Reason: reason, Err: err}
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an
// HTTP-date. It returns zero when the header is absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(max(0, s)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now).Round(time.Second))
	}
	return 0
}

// redactURLError rewrites a *url.Error so that only the URL's scheme and
// host remain: webhook URLs carry their secret in the path.
func redactURLError(err error) error {
	ue, ok := errors.AsType[*url.Error](err)
	if !ok {
		return err
	}
	return fmt.Errorf("%s %s: %w", ue.Op, redactURL(ue.URL), ue.Err)
}

// redactURL keeps a URL's scheme and host.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(url redacted)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}
