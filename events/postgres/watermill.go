package postgres

import (
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/treatywatch/treatywatch/events"
)

// Message queues on the store's database: watermill-sql v4's PostgreSQL
// Publisher and Subscriber (message.Publisher and message.Subscriber, the
// interfaces notifiers and notifiers/pubsub speak), on the store's pgx
// pool. A topic T is the table "watermill_T" (payload bytea, so any
// message payload is kept byte for byte) and its consumer groups' offsets
// the table "watermill_offsets_T", created by the first Subscribe or
// Publish when InitializeSchema is set (by a role that may create tables:
// the owner, then GrantService for the service role) — never the
// ledger's own tables, which only migrations create.
//
// The subscribers of one consumer group, on any instance, share its
// messages: each Subscribe reads the group's next message with its offset
// row locked FOR UPDATE and moves the offset in the transaction that
// acknowledges it, so each message is handled by one subscriber of the
// group, once, in publication order (a message nacked, or not acked within
// AckDeadline, is delivered again). Every group gets every message.
// Messages are read only once their publishing transaction is older than
// every transaction still running (pg_snapshot_xmin), so a message that
// commits late is never skipped.

// Compile-time checks that the watermill-sql Publisher and Subscriber are
// what notifiers and notifiers/pubsub consume.
var (
	_ message.Publisher  = (*wsql.Publisher)(nil)
	_ message.Subscriber = (*wsql.Subscriber)(nil)
)

// WatermillConfig holds the options of NewWatermillPublisher and
// NewWatermillSubscriber. The zero value is valid for a Publisher.
type WatermillConfig struct {
	// ConsumerGroup names the group a Subscriber reads for: its
	// subscribers share the group's messages, each handled once. Required
	// for a Subscriber (an empty group is watermill-sql's default group,
	// which is easy to share by mistake).
	ConsumerGroup string
	// PollInterval is how often an idle subscription looks for new
	// messages. Default: 100 ms.
	PollInterval time.Duration
	// AckDeadline is how long a handler may hold a message before it is
	// delivered again. Default: 30 s.
	AckDeadline time.Duration
	// BatchSize is how many messages a subscription reads at a time (a
	// crash may deliver again the unacknowledged rest). Default: 1.
	BatchSize int
	// InitializeSchema creates the tables of a topic when it is first
	// published to or subscribed to; it needs a role that may create
	// tables.
	InitializeSchema bool
}

func (c *WatermillConfig) setDefaults() {
	if c.PollInterval == 0 {
		c.PollInterval = 100 * time.Millisecond
	}
	if c.AckDeadline == 0 {
		c.AckDeadline = 30 * time.Second
	}
	if c.BatchSize == 0 {
		c.BatchSize = 1
	}
}

// Validate reports the first invalid option as an *events.InvalidError.
func (c WatermillConfig) Validate() error {
	switch {
	case c.PollInterval < 0:
		return &events.InvalidError{Field: "PollInterval", Reason: "must not be negative"}
	case c.AckDeadline < 0:
		return &events.InvalidError{Field: "AckDeadline", Reason: "must not be negative"}
	case c.BatchSize < 0:
		return &events.InvalidError{Field: "BatchSize", Reason: "must not be negative"}
	}
	return nil
}

// schema is the messages' table layout.
func (c WatermillConfig) schema() wsql.DefaultPostgreSQLSchema {
	return wsql.DefaultPostgreSQLSchema{
		GeneratePayloadType: func(string) string { return "BYTEA" },
		SubscribeBatchSize:  c.BatchSize,
	}
}

// NewWatermillPublisher returns a watermill-sql PostgreSQL Publisher that
// inserts messages into their topic's table on store's database, each
// Publish in one transaction. A nil logger means no logging.
func NewWatermillPublisher(store *Store, cfg WatermillConfig, logger watermill.LoggerAdapter) (*wsql.Publisher, error) {
	if store == nil {
		return nil, errors.New("new watermill publisher: nil store")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	p, err := wsql.NewPublisher(wsql.BeginnerFromPgx(store.pool), wsql.PublisherConfig{
		SchemaAdapter:        cfg.schema(),
		AutoInitializeSchema: cfg.InitializeSchema,
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("new watermill publisher: %w", err)
	}
	return p, nil
}

// NewWatermillSubscriber returns a watermill-sql PostgreSQL Subscriber of
// cfg.ConsumerGroup on store's database. A nil logger means no logging.
// Close it before closing store.
func NewWatermillSubscriber(store *Store, cfg WatermillConfig, logger watermill.LoggerAdapter) (*wsql.Subscriber, error) {
	if store == nil {
		return nil, errors.New("new watermill subscriber: nil store")
	}
	if cfg.ConsumerGroup == "" {
		return nil, &events.InvalidError{Field: "ConsumerGroup", Reason: "a subscriber needs a consumer group"}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	ack := cfg.AckDeadline
	s, err := wsql.NewSubscriber(wsql.BeginnerFromPgx(store.pool), wsql.SubscriberConfig{
		ConsumerGroup:    cfg.ConsumerGroup,
		AckDeadline:      &ack,
		PollInterval:     cfg.PollInterval,
		ResendInterval:   cfg.PollInterval,
		RetryInterval:    cfg.PollInterval,
		SchemaAdapter:    cfg.schema(),
		OffsetsAdapter:   wsql.DefaultPostgreSQLOffsetsAdapter{},
		InitializeSchema: cfg.InitializeSchema,
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("new watermill subscriber: %w", err)
	}
	return s, nil
}
