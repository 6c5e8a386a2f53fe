package events

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"iter"
	"time"
)

// ImportCheck checks, one event at a time and in order, that a log being
// imported (Store.Import) is exactly what a ledger's Append would have
// written: positions from 1 without gaps, each stream's versions from 1
// without gaps, a type, a schema version of 1 or more, a recorded time, a
// payload that is one compact JSON value (the form the store keeps), and
// a hash that is SHA-256(previous hash ‖ CanonicalBytes(event)). Every
// backend's Import runs its events through one, so that they all refuse
// the same logs with the same errors. The zero value is not usable: call
// NewImportCheck. Not safe for concurrent use.
type ImportCheck struct {
	chain    *Chain
	pos      int64
	versions map[string]int64
}

// NewImportCheck returns a check of a log that starts at position 1.
func NewImportCheck() *ImportCheck {
	return &ImportCheck{chain: NewChain(nil), versions: map[string]int64{}}
}

// Next checks e as the next event of the log and returns it as a store
// keeps it (its recorded time in UTC), or an *LogImportError naming its
// position.
func (c *ImportCheck) Next(e Envelope) (Envelope, error) {
	refuse := func(format string, args ...any) (Envelope, error) {
		return Envelope{}, &LogImportError{Position: e.Position, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case e.Position != c.pos+1 && c.pos == 0:
		return refuse("the log starts at position %d, not 1: an import needs the whole log from its first event (an export of one treaty, or --until a date, leaves events out)", e.Position)
	case e.Position != c.pos+1:
		return refuse("position %d follows position %d: the log has a gap or is out of order (an export of one treaty, or --until a date, leaves events out)", e.Position, c.pos)
	case e.Stream == "":
		return refuse("no stream")
	case e.Version != c.versions[e.Stream]+1:
		return refuse("version %d of stream %s follows version %d: each stream's versions go 1, 2, 3, ... without gaps", e.Version, e.Stream, c.versions[e.Stream])
	case e.Type == "":
		return refuse("no type")
	case e.SchemaVersion < 1:
		return refuse("%s: schema version %d, want 1 or more", e.Type, e.SchemaVersion)
	case e.RecordedAt.IsZero():
		return refuse("no recorded time")
	case len(e.Payload) == 0 || !json.Valid(e.Payload):
		return refuse("the payload is not one JSON value")
	case !IsCompactJSON(e.Payload):
		return refuse("the payload is not compact JSON, the form the ledger stores (the file was edited or re-encoded)")
	case len(e.Hash) != 32:
		return refuse("the hash has %d bytes, want 32 (64 hexadecimal digits)", len(e.Hash))
	}
	e.RecordedAt = time.Unix(0, e.RecordedAt.UnixNano()).UTC()
	if want := c.chain.Next(e); !bytes.Equal(want, e.Hash) {
		return Envelope{}, &LogImportError{Position: e.Position, HashMismatch: true,
			Reason: fmt.Sprintf("the hash %s is not the chain's %s: the event, or one before it, is not what the ledger it comes from recorded", hex.EncodeToString(e.Hash), hex.EncodeToString(want))}
	}
	c.pos = e.Position
	c.versions[e.Stream] = e.Version
	return e, nil
}

// Head returns the position of the last event checked, 0 before the first.
func (c *ImportCheck) Head() int64 { return c.pos }

// LogReader is the part of a Store that reads the whole log in pages.
type LogReader interface {
	ReadAll(ctx context.Context, after int64, limit int) ([]Envelope, error)
}

// LogPages returns the whole log of r, in position order, read pageSize
// events at a time: the log a Store.Import of a copy takes. A read error
// is yielded once and ends it.
func LogPages(ctx context.Context, r LogReader, pageSize int) iter.Seq2[Envelope, error] {
	return func(yield func(Envelope, error) bool) {
		var after int64
		for {
			page, err := r.ReadAll(ctx, after, pageSize)
			if err != nil {
				yield(Envelope{}, err)
				return
			}
			if len(page) == 0 {
				return
			}
			for _, e := range page {
				if !yield(e, nil) {
					return
				}
			}
			after = page[len(page)-1].Position
		}
	}
}
