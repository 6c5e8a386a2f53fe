package postgres_test

import (
	"testing"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/storetest"
)

// TestStoreContract runs the events.Store contract suite, unchanged, on
// PostgreSQL.
func TestStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) events.Store {
		s, _ := MustOpen(t)
		return s
	})
}
