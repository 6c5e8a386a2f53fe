package notifiers

import (
	"context"

	"github.com/treatywatch/treatywatch/events"
)

// Message is what the sender hands a Sink: a Notice and its Card, ready
// for any destination. Render fills Notice, Card and ThreadKey; the
// sender fills ThreadTS and DeliveryID. A Message is a value: sinks never
// modify it.
type Message struct {
	// Notice is what the message is about. The webhook sink sends it as
	// JSON, as receivers expect it.
	Notice Notice
	// Card is what the message says, in no sink's format. Each sink lays
	// it out in its own: Block Kit (SlackMessage), plain text (PlainText).
	Card Card
	// ThreadKey groups messages that may thread together in one channel:
	// the treaty id, or "" for digests. Follow-ups for one treaty may be
	// posted under the first message sent for that key in a channel.
	ThreadKey string
	// ThreadTS, when not empty, is the Slack ts of the message to reply
	// under (the Receipt.TS of the first message for ThreadKey in that
	// channel). Set by the caller; Render leaves it empty.
	ThreadTS string
	// DeliveryID identifies the delivery this message is sent for, so that
	// webhook receivers can deduplicate retries. Set by the caller.
	DeliveryID int64
}

// Sink delivers messages to one kind of destination. Send returns what
// the destination reports (the Slack ts, for threading) or an error that
// Classify sorts into permanent, rate limited or retryable. A Send that
// fails may still have delivered (a Slack 429 or a timeout can follow an
// accepted post): delivery is at least once at this boundary.
// Implementations are safe for concurrent use.
type Sink interface {
	Send(ctx context.Context, sub events.Subscription, msg Message) (Receipt, error)
}

// Receipt is what a sink reports after a successful Send.
type Receipt struct {
	// TS is the Slack message timestamp (the id to thread replies under);
	// empty for sinks that do not return one (incoming webhooks, generic
	// webhooks, the console).
	TS string
	// Channel is the channel id the message went to, when the sink knows
	// it (Slack returns the id even when the subscription names "#name").
	Channel string
}

// Render turns a notice into a message: its Card (CardOf) and the thread
// it belongs to. It is a pure function: the same notice always gives the
// same message, with no clock and no I/O.
func Render(n Notice) Message {
	m := Message{Notice: n, Card: CardOf(n)}
	if n.Kind != KindDigest {
		m.ThreadKey = n.Treaty
	}
	return m
}
