package sqlite_test

import (
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/answertest"
	"github.com/treatywatch/treatywatch/events/replaytest"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/notifiers/outboxtest"
	"github.com/treatywatch/treatywatch/notifiers/pubsub"
	"github.com/treatywatch/treatywatch/notifiers/pubsub/offsettest"
)

// The store implements every storage port of the other packages; each
// port's contract suite runs here against a real file. (events.Store's is
// TestStore_Contract.)

func TestAnswerStore_Contract(t *testing.T) {
	answertest.Run(t, func(t *testing.T) answertest.Store { return MustOpen(t, TempPath(t)) })
}

func TestSeenRequestStore_Contract(t *testing.T) {
	replaytest.Run(t, func(t *testing.T) events.SeenRequestStore { return MustOpen(t, TempPath(t)) })
}

func TestNotifierStore_Contract(t *testing.T) {
	outboxtest.Run(t, func(t *testing.T) notifiers.Store { return MustOpen(t, TempPath(t)) })
}

func TestOffsetStore_Contract(t *testing.T) {
	offsettest.Run(t, func(t *testing.T) pubsub.OffsetStore { return MustOpen(t, TempPath(t)) })
}
