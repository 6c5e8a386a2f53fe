package pubsub

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/treatywatch/treatywatch/events"
)

// maxAttempts bounds the appends of one Publish that other writers of the
// same topic can make fail with a conflict.
const maxAttempts = 100

// Publisher is a watermill message.Publisher that appends messages to the
// event log: Publish(topic, msgs...) appends them, in one atomic Append,
// as MessageType events of the stream TopicStream(topic), chained into
// the log like every event. A message is durable once Publish returns nil.
//
// A Publisher is safe for concurrent use; it serialises its own
// Publishes, and retries those that another writer of the same stream
// (another Publisher, another process) makes conflict.
type Publisher struct {
	store Store
	cfg   PublisherConfig
	log   watermill.LoggerAdapter

	mu       sync.Mutex
	closed   bool
	versions map[string]int64 // stream → last version this Publisher knows
}

// Compile-time check that Publisher implements message.Publisher.
var _ message.Publisher = (*Publisher)(nil)

// NewPublisher returns a Publisher that appends to store. A nil logger
// means no logging.
func NewPublisher(store Store, cfg PublisherConfig, logger watermill.LoggerAdapter) (*Publisher, error) {
	if store == nil {
		return nil, &events.InvalidError{Field: "store", Reason: "nil store"}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new publisher: %w", err)
	}
	cfg.setDefaults()
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	return &Publisher{store: store, cfg: cfg, log: logger, versions: map[string]int64{}}, nil
}

// Publish appends msgs to the stream of topic, all or none, and rings the
// Bell. It refuses LogTopic (ErrReadOnlyTopic), an empty topic (an
// *events.InvalidError) and any call after Close (ErrClosed). Message
// contexts are not kept.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	if topic == LogTopic {
		return fmt.Errorf("publish to %s: %w", topic, ErrReadOnlyTopic)
	}
	if topic == "" {
		return &events.InvalidError{Field: "topic", Reason: "empty topic"}
	}
	if len(msgs) == 0 {
		return nil
	}
	records := make([]events.Record, len(msgs))
	for i, msg := range msgs {
		r, err := messageRecord(msg)
		if err != nil {
			return fmt.Errorf("publish to %s: %w", topic, err)
		}
		records[i] = r
	}
	stream := TopicStream(topic)

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("publish to %s: %w", topic, ErrClosed)
	}
	ctx := context.Background()
	for range maxAttempts {
		expected := p.versions[stream]
		out, err := p.store.Append(ctx, events.StreamAppend{Stream: stream, ExpectedVersion: expected, Records: records})
		var conflict *events.ConflictError
		switch {
		case err == nil:
			p.versions[stream] = out[len(out)-1].Version
			p.cfg.Bell.Ring()
			p.log.Trace("Published", watermill.LogFields{"topic": topic, "messages": len(msgs), "last_position": out[len(out)-1].Position})
			return nil
		case errors.As(err, &conflict) && conflict.Actual >= 0:
			// Another writer appended to the stream: try again after
			// its last version.
			p.versions[stream] = conflict.Actual
		default:
			return fmt.Errorf("publish to %s: %w", topic, err)
		}
	}
	return fmt.Errorf("publish to %s: %d appends in a row conflicted with other writers: %w", topic, maxAttempts, events.ErrConflict)
}

// Close makes later Publishes fail with ErrClosed, after the Publish in
// progress if any. It does not close the store. It is idempotent.
func (p *Publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}
