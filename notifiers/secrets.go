package notifiers

import (
	"context"
	"errors"

	"github.com/treatywatch/treatywatch/events"
)

// SecretReader is what the webhook sinks need of the ledger's secret
// store: a subscription's URL and HMAC secret, which never enter the log.
// *sqlite.Store satisfies it.
type SecretReader interface {
	SinkSecret(ctx context.Context, subscription string) (events.SinkSecret, error)
}

// sinkSecret returns the URL and secret of sub, or a *PermanentError
// saying why there are none (the delivery goes to the dead letters, with
// a reason that never contains the secret; `notify redrive` retries once
// the secret is back).
func sinkSecret(ctx context.Context, secrets SecretReader, sink string, sub events.Subscription) (events.SinkSecret, error) {
	if secrets == nil {
		return events.SinkSecret{}, &PermanentError{Sink: sink, Reason: "no secret store configured for webhook sinks"}
	}
	s, err := secrets.SinkSecret(ctx, sub.ID)
	switch {
	case errors.Is(err, events.ErrNotFound):
		return events.SinkSecret{}, &PermanentError{Sink: sink, Reason: "subscription " + sub.ID + " has no stored url", Err: err}
	case err != nil:
		return events.SinkSecret{}, err
	case s.URL == "":
		return events.SinkSecret{}, &PermanentError{Sink: sink, Reason: "subscription " + sub.ID + " has no url"}
	}
	return s, nil
}
