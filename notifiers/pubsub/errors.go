package pubsub

import "errors"

var (
	// ErrClosed is returned by Publish and Subscribe after Close.
	ErrClosed = errors.New("pubsub: closed")
	// ErrReadOnlyTopic is returned by Publish to LogTopic: only the
	// ledger writes the log.
	ErrReadOnlyTopic = errors.New("pubsub: the log topic is read-only: the ledger writes it")
	// ErrNotLogMessage is returned by Envelope and Position for a message
	// that does not carry a ledger event.
	ErrNotLogMessage = errors.New("pubsub: not a ledger event message")

	// errClaimLost: another subscription of the group took the claim
	// (ours had expired). Delivery stops and claims again.
	errClaimLost = errors.New("pubsub: consumer group claim lost")
)
