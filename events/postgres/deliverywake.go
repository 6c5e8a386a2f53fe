package postgres

import (
	"context"
	"fmt"
	"time"
)

// DeliveriesChannel is the PostgreSQL notification channel on which the
// service instances of one database announce that they wrote deliveries
// to the outbox, so that the sender — which runs on one instance, the
// holder of the sender lease — sends them at once rather than at its next
// poll. The routers of all instances share the log (NewLogSubscriber), so
// the deliveries of an event are often written by an instance that does
// not send them.
//
// Like LogChannel, an announcement is only a wake-up: it carries nothing,
// the sender reads the outbox, and it keeps polling as well, so a lost
// announcement changes only how soon a delivery is sent.
const DeliveriesChannel = "treatywatch_deliveries"

// AnnounceDeliveries tells every instance that listens (ListenDeliveries)
// that deliveries were written: a NOTIFY on DeliveriesChannel. Call it
// after they committed.
func (s *Store) AnnounceDeliveries(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, '')`, DeliveriesChannel); err != nil {
		return fmt.Errorf("announce deliveries on %s: %w", DeliveriesChannel, err)
	}
	return nil
}

// ListenDeliveries calls wake whenever an instance announces deliveries
// on DeliveriesChannel (its own included), and each time it starts
// listening, until ctx ends; then it returns nil. It listens on a
// connection of its own, like ListenAppends, and connects again every
// retry (default 1 s) when the connection fails.
func (s *Store) ListenDeliveries(ctx context.Context, wake func(), retry time.Duration) error {
	return s.listen(ctx, DeliveriesChannel, "the other instances' deliveries", "their deliveries", wake, retry)
}
