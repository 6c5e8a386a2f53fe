package postgres

import (
	"errors"
	"testing"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/treatywatch/treatywatch/events"
)

// TestLogTopicRefusesInserts: a watermill-sql Publisher on the log
// topic's schema gets ErrLogTopicReadOnly (an ErrRefused) and no query.
func TestLogTopicRefusesInserts(t *testing.T) {
	q, err := logSchema{topic: "treatywatch.log", batch: 1}.InsertQuery(wsql.InsertQueryParams{Topic: "treatywatch.log", Msgs: message.Messages{message.NewMessage("x", []byte(`{}`))}})
	if !errors.Is(err, ErrLogTopicReadOnly) || !errors.Is(err, events.ErrRefused) || q.Query != "" {
		t.Errorf("InsertQuery = %q, %v; want no query and ErrLogTopicReadOnly", q.Query, err)
	}
}
