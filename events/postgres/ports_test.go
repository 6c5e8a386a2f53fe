package postgres_test

import (
	"path/filepath"
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/answertest"
	"github.com/treatywatch/treatywatch/events/postgres"
	"github.com/treatywatch/treatywatch/events/postgres/pgtest"
	"github.com/treatywatch/treatywatch/events/replaytest"
	"github.com/treatywatch/treatywatch/events/sqlite"
	"github.com/treatywatch/treatywatch/notifiers"
	"github.com/treatywatch/treatywatch/notifiers/outboxtest"
	"github.com/treatywatch/treatywatch/notifiers/pubsub"
	"github.com/treatywatch/treatywatch/notifiers/pubsub/offsettest"
)

// The store implements every storage port of the other packages; each
// port's contract suite, the one the SQLite store passes, runs here
// unchanged against a fresh database.

func TestNotifierStore_Contract(t *testing.T) {
	t.Parallel()
	outboxtest.Run(t, func(t *testing.T) notifiers.Store { return mustOpenPorts(t, pgtest.NewMigratedDatabase(t)) })
}

func TestOffsetStore_Contract(t *testing.T) {
	t.Parallel()
	offsettest.Run(t, func(t *testing.T) pubsub.OffsetStore { return mustOpenPorts(t, pgtest.NewMigratedDatabase(t)) })
}

func TestAnswerStore_Contract(t *testing.T) {
	t.Parallel()
	answertest.Run(t, func(t *testing.T) answertest.Store { return mustOpenPorts(t, pgtest.NewMigratedDatabase(t)) })
}

func TestSeenRequestStore_Contract(t *testing.T) {
	t.Parallel()
	replaytest.Run(t, func(t *testing.T) events.SeenRequestStore { return mustOpenPorts(t, pgtest.NewMigratedDatabase(t)) })
}

// TestPorts_AsServiceRole runs the ports' contract suites connected as
// the service role (GrantService), which owns nothing and may not change
// events: what the instances connect as.
func TestPorts_AsServiceRole(t *testing.T) {
	t.Parallel()
	open := func(t *testing.T) *postgres.Store {
		url := pgtest.NewMigratedDatabase(t)
		owner := mustOpenPorts(t, url) // migrates
		return mustOpenPorts(t, MustServiceRole(t, owner, url))
	}
	t.Run("Notifier", func(t *testing.T) {
		outboxtest.Run(t, func(t *testing.T) notifiers.Store { return open(t) })
	})
	t.Run("Offsets", func(t *testing.T) {
		offsettest.Run(t, func(t *testing.T) pubsub.OffsetStore { return open(t) })
	})
	t.Run("Answers", func(t *testing.T) {
		answertest.Run(t, func(t *testing.T) answertest.Store { return open(t) })
	})
	t.Run("SeenRequests", func(t *testing.T) {
		replaytest.Run(t, func(t *testing.T) events.SeenRequestStore { return open(t) })
	})
	t.Run("SinkSecrets", func(t *testing.T) {
		s := open(t)
		want := events.SinkSecret{URL: hookURL, Secret: hookSecret}
		if err := s.PutSinkSecret(t.Context(), "ngo-cyber", want); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SinkSecret(t.Context(), "ngo-cyber"); err != nil || got != want {
			t.Fatalf("SinkSecret = %+v, %v", got, err)
		}
		if err := s.DeleteSinkSecret(t.Context(), "ngo-cyber"); err != nil {
			t.Fatal(err)
		}
	})
}

// testSecretsKey is the secrets key of the tests' stores.
var testSecretsKey = []byte("0123456789abcdef0123456789abcdef")

// mustOpenPorts opens a store on the database at url, with the tests'
// secrets key, closed when the test ends.
func mustOpenPorts(t testing.TB, url string) *postgres.Store {
	t.Helper()
	return mustOpenPortsWith(t, url, postgres.Config{SecretsKey: testSecretsKey})
}

func mustOpenPortsWith(t testing.TB, url string, cfg postgres.Config) *postgres.Store {
	t.Helper()
	return MustOpenURL(t, url, cfg)
}

// TestLedgerCopy_Contract copies an SQLite ledger's notifier state (every
// delivery status, dead letters, threads, paces, runs, settings) into a
// fresh database and reads it back through the sender's ports.
func TestLedgerCopy_Contract(t *testing.T) {
	t.Parallel()
	outboxtest.RunCopy(t,
		func(t *testing.T) outboxtest.Exporter {
			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "source.db"), sqlite.Config{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
		func(t *testing.T) outboxtest.Importer { return mustOpenPorts(t, pgtest.NewMigratedDatabase(t)) })
}
