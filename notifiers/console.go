package notifiers

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/treatywatch/treatywatch/events"
)

// Console delivers messages as plain text (PlainText of the message's
// card) to a writer, typically the notifier process's standard output,
// each followed by a blank line. Writes are serialised, so concurrent
// sends never interleave. Safe for concurrent use.
type Console struct {
	mu sync.Mutex
	w  io.Writer
}

var _ Sink = (*Console)(nil)

// NewConsole returns a Console sink that writes to w.
func NewConsole(w io.Writer) *Console {
	return &Console{w: w}
}

// Send writes msg. A write error is retryable.
func (c *Console) Send(ctx context.Context, _ events.Subscription, msg Message) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, fmt.Errorf("%s: %w", events.SinkConsole, err)
	}
	text := PlainText(msg.Card) + "\n"
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.w, text); err != nil {
		return Receipt{}, fmt.Errorf("%s: write: %w", events.SinkConsole, err)
	}
	return Receipt{}, nil
}
