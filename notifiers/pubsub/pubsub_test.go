package pubsub_test

import (
	"sync"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"

	"github.com/treatywatch/treatywatch/notifiers/pubsub"
)

// suiteFiles gives each test of watermill's suite its own database file,
// shared by every Publisher and Subscriber that the test constructs (so
// that they see each other's messages and offsets, as processes on one
// file would), and closes them, then the store, when the test ends.
type suiteFiles struct {
	mu    sync.Mutex
	files map[*testing.T]*suiteFile
}

type suiteFile struct {
	store pubsub.Store
	bell  *pubsub.Bell
}

func (f *suiteFiles) file(t *testing.T) *suiteFile {
	f.mu.Lock()
	defer f.mu.Unlock()
	if sf, ok := f.files[t]; ok {
		return sf
	}
	sf := &suiteFile{store: MustOpen(t, TempPath(t)), bell: pubsub.NewBell()}
	f.files[t] = sf
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.files, t)
	})
	return sf
}

func (f *suiteFiles) pubSub(t *testing.T, group string) (message.Publisher, message.Subscriber) {
	sf := f.file(t)
	return MustPublisher(t, sf.store, pubsub.PublisherConfig{Bell: sf.bell}),
		MustSubscriber(t, sf.store, testConfig(group, sf.bell))
}

// TestPubSub runs watermill's universal Pub/Sub test suite. The plain
// constructor's subscribers share one consumer group, so that a new
// Publisher/Subscriber pair on the same file resumes where the last one
// stopped (Persistent). There is no broker to restart: the restart of a
// process is TestKilledProcess.
func TestPubSub(t *testing.T) {
	features := tests.Features{
		ConsumerGroups:  true,
		GuaranteedOrder: true,
		Persistent:      true,
	}
	files := &suiteFiles{files: map[*testing.T]*suiteFile{}}
	tests.TestPubSub(t, features,
		func(t *testing.T) (message.Publisher, message.Subscriber) { return files.pubSub(t, "suite") },
		files.pubSub,
	)
}
