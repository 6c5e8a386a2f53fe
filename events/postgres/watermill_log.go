package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"

	"github.com/treatywatch/treatywatch/events"
)

// The ledger's log as a watermill-sql topic: NewLogSubscriber returns a
// watermill-sql v4 Subscriber whose topic is the events table itself,
// read through logSchema (a wsql.SchemaAdapter) with the consumer groups'
// offsets in log_offsets (migration 0016) through logOffsets (a
// wsql.OffsetsAdapter). There is no second copy of the events: the
// ledger's Append, which chains every row's hash to the previous one, is
// the only writer of the log, and the adapter refuses to insert
// (ErrLogTopicReadOnly).
//
// How watermill-sql reads it, per poll of a subscription: in one
// transaction (READ COMMITTED, SubscribeIsolationLevel), it locks the
// group's row of log_offsets FOR UPDATE and reads the events after its
// position, in position order, BatchSize at a time; it sends each to the
// handler and waits for its Ack, then sets the group's position to the
// last acknowledged event and commits. The row lock is what lets the
// subscribers of one group, in any number of instances, share the log:
// while one holds it the others wait in their SELECT, then read on from
// the position it committed, so that each event is handled by one of
// them, once, in order. A subscriber whose process dies (SIGKILL, a lost
// connection) has its transaction rolled back by the server and its lock
// released: the next subscriber of the group gets the same event again.
// One that hangs is stopped by the AckDeadline (the message is dropped
// and read again) and, if its process is frozen altogether, by the
// server's idle_in_transaction_session_timeout, which the transaction sets
// to AckDeadline plus a margin.
//
// Why a late commit is never skipped: Append assigns positions, and
// commits, under the append lock (locks.go), which PostgreSQL releases
// only once the commit is visible; so the committed events are always
// the positions 1..N without a gap, a snapshot sees such a prefix, and
// "position > offset ORDER BY position" reads every event once. (The
// default watermill-sql schema needs its transaction ids and
// pg_snapshot_xmin for that; the log needs neither.) A waiting subscriber
// that gets the row lock after another committed re-reads the row's new
// position (READ COMMITTED re-checks a locked row), and its snapshot,
// taken after the other's, sees every event the other did.

// ErrLogTopicReadOnly is returned by the log topic's InsertQuery: only
// the ledger's Append writes the log, since every row carries the hash
// chain. It wraps events.ErrRefused.
var ErrLogTopicReadOnly = fmt.Errorf("the log topic is read-only: the ledger's hash-chained Append is its only publisher: %w", events.ErrRefused)

// LogSubscriberConfig holds the options of NewLogSubscriber.
type LogSubscriberConfig struct {
	// Topic is the name the subscription is made under (the notifier's
	// pubsub.LogTopic); Subscribe refuses any other topic. Required.
	Topic string
	// ConsumerGroup is the group whose offset the subscriptions share.
	// Required.
	ConsumerGroup string
	// Message turns an event into the watermill message a subscriber
	// receives (the notifier's: pubsub.LogMessage). Required.
	Message func(*events.Envelope) (*message.Message, error)
	// Wake, when set, returns a channel closed once the log may have
	// moved (a read side's Changed): an idle subscription reads again at
	// once then rather than at its next poll.
	Wake func() <-chan struct{}
	// PollInterval is how often an idle subscription reads the log.
	// Default: 100 ms.
	PollInterval time.Duration
	// AckDeadline is how long a handler may hold a message before it is
	// delivered again. Default: 30 s.
	AckDeadline time.Duration
	// BatchSize is how many events a subscription reads at a time (after
	// a crash, the unacknowledged rest of a batch is delivered again).
	// Default: 1.
	BatchSize int
}

// Validate reports the first invalid option as an *events.InvalidError.
func (c LogSubscriberConfig) Validate() error {
	switch {
	case c.Topic == "":
		return &events.InvalidError{Field: "Topic", Reason: "a log subscriber needs the name of its topic"}
	case c.ConsumerGroup == "":
		return &events.InvalidError{Field: "ConsumerGroup", Reason: "a log subscriber needs a consumer group"}
	case c.Message == nil:
		return &events.InvalidError{Field: "Message", Reason: "a log subscriber needs the translation of an event into a message"}
	case c.PollInterval < 0:
		return &events.InvalidError{Field: "PollInterval", Reason: "must not be negative"}
	case c.AckDeadline < 0:
		return &events.InvalidError{Field: "AckDeadline", Reason: "must not be negative"}
	case c.BatchSize < 0:
		return &events.InvalidError{Field: "BatchSize", Reason: "must not be negative"}
	}
	return nil
}

func (c *LogSubscriberConfig) setDefaults() {
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

// NewLogSubscriber returns a watermill-sql v4 Subscriber of the ledger's
// log on store's database, in cfg.ConsumerGroup (see the comment above
// ErrLogTopicReadOnly). A nil logger means no logging. Close it before
// closing store.
func NewLogSubscriber(store *Store, cfg LogSubscriberConfig, logger watermill.LoggerAdapter) (*wsql.Subscriber, error) {
	if store == nil {
		return nil, errors.New("new log subscriber: nil store")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new log subscriber: %w", err)
	}
	cfg.setDefaults()
	ack := cfg.AckDeadline
	backoff := &wakeBackoff{
		poll:  cfg.PollInterval,
		inner: wsql.NewDefaultBackoffManager(cfg.PollInterval, cfg.PollInterval),
		wake:  cfg.Wake,
	}
	if cfg.Wake != nil {
		backoff.next = cfg.Wake()
	}
	s, err := wsql.NewSubscriber(wsql.BeginnerFromPgx(store.pool), wsql.SubscriberConfig{
		ConsumerGroup:  cfg.ConsumerGroup,
		AckDeadline:    &ack,
		PollInterval:   cfg.PollInterval,
		ResendInterval: cfg.PollInterval,
		RetryInterval:  cfg.PollInterval,
		BackoffManager: backoff,
		SchemaAdapter:  logSchema{topic: cfg.Topic, batch: cfg.BatchSize, message: cfg.Message},
		OffsetsAdapter: logOffsets{topic: cfg.Topic, idle: ack + 10*time.Second},
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("new log subscriber: %w", err)
	}
	return s, nil
}

// Compile-time checks of the adapters.
var (
	_ wsql.SchemaAdapter  = logSchema{}
	_ wsql.OffsetsAdapter = logOffsets{}
	_ wsql.BackoffManager = (*wakeBackoff)(nil)
)

// logSchema is the wsql.SchemaAdapter of the log topic: the events table.
type logSchema struct {
	topic   string
	batch   int
	message func(*events.Envelope) (*message.Message, error)
}

// checkTopic refuses any topic but the log's.
func checkTopic(want, got string) error {
	if got != want {
		return &events.InvalidError{Field: "topic", Reason: fmt.Sprintf("%q: this subscriber reads only the log topic %q", got, want)}
	}
	return nil
}

// InsertQuery implements wsql.SchemaAdapter: it refuses, with
// ErrLogTopicReadOnly.
func (s logSchema) InsertQuery(p wsql.InsertQueryParams) (wsql.Query, error) {
	return wsql.Query{}, fmt.Errorf("publish %d messages to %s: %w", len(p.Msgs), p.Topic, ErrLogTopicReadOnly)
}

// SelectQuery implements wsql.SchemaAdapter: the events after the
// group's position (its row locked FOR UPDATE), in position order.
func (s logSchema) SelectQuery(p wsql.SelectQueryParams) (wsql.Query, error) {
	if err := checkTopic(s.topic, p.Topic); err != nil {
		return wsql.Query{}, err
	}
	next, err := p.OffsetsAdapter.NextOffsetQuery(wsql.NextOffsetQueryParams{Topic: p.Topic, ConsumerGroup: p.ConsumerGroup})
	if err != nil {
		return wsql.Query{}, err
	}
	q := `WITH last_processed AS (` + next.Query + `)
SELECT ` + envelopeColumns + ` FROM events
WHERE position > (SELECT position FROM last_processed)
ORDER BY position LIMIT ` + strconv.Itoa(s.batch)
	return wsql.Query{Query: q, Args: next.Args}, nil
}

// UnmarshalMessage implements wsql.SchemaAdapter: the message of the
// event, under its position as offset.
func (s logSchema) UnmarshalMessage(p wsql.UnmarshalMessageParams) (wsql.Row, error) {
	var (
		sc scanner
		e  events.Envelope
	)
	if err := sc.scanSlow(p.Row, &e); err != nil {
		return wsql.Row{}, fmt.Errorf("read an event of the log: %w", err)
	}
	msg, err := s.message(&e)
	if err != nil {
		return wsql.Row{}, fmt.Errorf("the message of the event at position %d: %w", e.Position, err)
	}
	return wsql.Row{Offset: e.Position, UUID: []byte(msg.UUID), Payload: msg.Payload, Msg: msg}, nil
}

// SchemaInitializingQueries implements wsql.SchemaAdapter: none, the
// migrations create the tables.
func (s logSchema) SchemaInitializingQueries(wsql.SchemaInitializingQueriesParams) ([]wsql.Query, error) {
	return nil, nil
}

// SubscribeIsolationLevel implements wsql.SchemaAdapter: READ COMMITTED
// (see the comment above ErrLogTopicReadOnly): a subscriber that waited
// for the group's row reads its latest position rather than failing to
// serialise, as REPEATABLE READ would, once per event the other handled.
func (s logSchema) SubscribeIsolationLevel() sql.IsolationLevel { return sql.LevelReadCommitted }

// logOffsets is the wsql.OffsetsAdapter of the log topic: one row of
// log_offsets per consumer group.
type logOffsets struct {
	topic string
	// idle is the idle_in_transaction_session_timeout of a reading
	// transaction.
	idle time.Duration
}

const (
	sqlLogNextOffset   = `SELECT position FROM log_offsets WHERE consumer_group = $1 FOR UPDATE`
	sqlLogAckOffset    = `UPDATE log_offsets SET position = $1 WHERE consumer_group = $2`
	sqlLogCreateOffset = `INSERT INTO log_offsets (consumer_group, position) VALUES ($1, 0) ON CONFLICT DO NOTHING`
	sqlLogIdleTimeout  = `SELECT set_config('idle_in_transaction_session_timeout', $1, true)`
	sqlLogOffset       = `SELECT position FROM log_offsets WHERE consumer_group = $1`
	// sqlSetLogOffset sets a group's position, only to a position of the
	// log (0 to its head).
	sqlSetLogOffset = `INSERT INTO log_offsets (consumer_group, position)
SELECT $1, $2 WHERE $2 <= (SELECT coalesce(max(position), 0) FROM events)
ON CONFLICT (consumer_group) DO UPDATE SET position = excluded.position`
)

// AckMessageQuery implements wsql.OffsetsAdapter: the group's position
// becomes the last acknowledged event's, in the reading transaction.
func (o logOffsets) AckMessageQuery(p wsql.AckMessageQueryParams) (wsql.Query, error) {
	if err := checkTopic(o.topic, p.Topic); err != nil {
		return wsql.Query{}, err
	}
	return wsql.Query{Query: sqlLogAckOffset, Args: []any{p.LastRow.Offset, p.ConsumerGroup}}, nil
}

// ConsumedMessageQuery implements wsql.OffsetsAdapter: before each
// message is handed over, it bounds how long the reading transaction may
// sit idle, so that the server ends the transaction of a frozen process
// and releases the group's row.
func (o logOffsets) ConsumedMessageQuery(wsql.ConsumedMessageQueryParams) (wsql.Query, error) {
	return wsql.Query{Query: sqlLogIdleTimeout, Args: []any{strconv.FormatInt(o.idle.Milliseconds(), 10)}}, nil
}

// NextOffsetQuery implements wsql.OffsetsAdapter: the group's position,
// its row locked until the reading transaction ends.
func (o logOffsets) NextOffsetQuery(p wsql.NextOffsetQueryParams) (wsql.Query, error) {
	if err := checkTopic(o.topic, p.Topic); err != nil {
		return wsql.Query{}, err
	}
	return wsql.Query{Query: sqlLogNextOffset, Args: []any{p.ConsumerGroup}}, nil
}

// SchemaInitializingQueries implements wsql.OffsetsAdapter: none, the
// migrations create log_offsets.
func (o logOffsets) SchemaInitializingQueries(wsql.OffsetsSchemaInitializingQueriesParams) ([]wsql.Query, error) {
	return nil, nil
}

// BeforeSubscribingQueries implements wsql.OffsetsAdapter: the group's
// row, at position 0 when it is new, so that there is a row to lock.
func (o logOffsets) BeforeSubscribingQueries(p wsql.BeforeSubscribingQueriesParams) ([]wsql.Query, error) {
	if err := checkTopic(o.topic, p.Topic); err != nil {
		return nil, err
	}
	return []wsql.Query{{Query: sqlLogCreateOffset, Args: []any{p.ConsumerGroup}}}, nil
}

// wakeBackoff is watermill-sql's default backoff, but for an idle
// subscription with a wake-up: it waits for the wake-up (taken before the
// read that found nothing, so that none is missed) or PollInterval,
// whichever comes first, and then reads at once.
type wakeBackoff struct {
	poll  time.Duration
	inner wsql.BackoffManager
	wake  func() <-chan struct{}

	mu   sync.Mutex
	next <-chan struct{}
}

// HandleError implements wsql.BackoffManager.
func (b *wakeBackoff) HandleError(logger watermill.LoggerAdapter, noMsg bool, err error) time.Duration {
	if b.wake == nil || err != nil {
		return b.inner.HandleError(logger, noMsg, err)
	}
	b.mu.Lock()
	next := b.next
	b.mu.Unlock()
	if noMsg {
		t := time.NewTimer(b.poll)
		select {
		case <-next:
		case <-t.C:
		}
		t.Stop()
	}
	b.mu.Lock()
	b.next = b.wake()
	b.mu.Unlock()
	return 0
}

// LogOffset returns the position of the last event that group
// acknowledged on the log topic (NewLogSubscriber), 0 for a group that
// has none.
func (s *Store) LogOffset(ctx context.Context, group string) (int64, error) {
	var pos int64
	err := s.pool.QueryRow(ctx, sqlLogOffset, group).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the log offset of %s: %w", group, err)
	}
	return pos, nil
}

// SetLogOffset sets the position group's subscribers of the log topic
// resume after (migrate-db and import-log: the copy's notifier resumes
// where the source's stopped). A position below 0 or past the head of
// the log is an *events.InvalidError, and changes nothing. It waits for a
// running subscriber of the group to finish the event in hand.
func (s *Store) SetLogOffset(ctx context.Context, group string, position int64) error {
	if group == "" {
		return &events.InvalidError{Field: "group", Reason: "empty consumer group"}
	}
	if position < 0 {
		return &events.InvalidError{Field: "position", Reason: fmt.Sprintf("%d: must not be negative", position)}
	}
	tag, err := s.pool.Exec(ctx, sqlSetLogOffset, group, position)
	if err != nil {
		return fmt.Errorf("set the log offset of %s to %d: %w", group, position, err)
	}
	if tag.RowsAffected() != 1 {
		return &events.InvalidError{Field: "position", Reason: fmt.Sprintf("%d: past the head of the log", position)}
	}
	return nil
}
