package events

import (
	"context"
	"time"
)

// SeenRequestStore remembers, until they expire, the signed requests a
// server accepted, so that the same request sent again is refused as a
// replay — the HTTP API's Slack slash commands, whose signature stays
// valid for five minutes — across restarts of the server. events/sqlite's
// Store implements it; events/replaytest is its contract suite. Its
// methods must be safe for concurrent use, and by several processes on
// one store.
type SeenRequestStore interface {
	// RememberRequest forgets the requests that expired before now, then
	// records the request named signatureHash until expires, in one
	// transaction. It returns false, and changes nothing for that request,
	// when the request is recorded and has not expired: a replay.
	RememberRequest(ctx context.Context, signatureHash string, expires, now time.Time) (bool, error)
}
