package events

import (
	"context"
	"fmt"
	"iter"
)

// Store is the event log the Ledger writes to and reads from. events/sqlite and
// events/postgres implement it; its contract test suite is events/storetest.
//
// Implementations must be safe for concurrent use by multiple goroutines,
// and, for a store on a file, by multiple processes.
type Store interface {
	// Append atomically appends each StreamAppend's records to its stream,
	// after checking that the stream is at ExpectedVersion (0: the stream
	// does not exist). It assigns positions, versions, the recorded time
	// and the chained hash, and returns the stored envelopes in order.
	// If any stream has moved, it returns a *ConflictError (wrapping
	// ErrConflict) and writes nothing.
	Append(ctx context.Context, appends ...StreamAppend) ([]Envelope, error)
	// ReadStream returns every event of one stream in version order; an
	// empty slice for a stream that does not exist.
	ReadStream(ctx context.Context, stream string) ([]Envelope, error)
	// ReadAll returns up to limit events with position > after, in
	// position order: one page of the global log.
	ReadAll(ctx context.Context, after int64, limit int) ([]Envelope, error)
	// Streams returns the ids of the streams whose id starts with prefix,
	// sorted.
	Streams(ctx context.Context, prefix string) ([]string, error)
	// Head returns the position of the last event of the log, 0 for an
	// empty log.
	Head(ctx context.Context) (int64, error)
	// ReadDefinitions returns every treaty.registered and
	// treaty.definition-amended event, in position order. It costs what
	// the definitions cost, not what the log costs (the events of one
	// treaty stream otherwise read only with ReadStream): the Ledger
	// lists and resolves treaties with it.
	ReadDefinitions(ctx context.Context) ([]Envelope, error)
	// Import writes a whole log exported from another ledger into this
	// empty store, keeping each event's position, version, recorded time
	// and hash, so that the copy holds the same events, positions and hash
	// chain. Every event goes through an ImportCheck (positions from 1
	// without gaps, versions that follow, well-formed fields, the hash
	// recomputed and compared); log's first error, or the first event
	// refused, ends the import. It is all or nothing: one unit of work,
	// and nothing is written unless every event is. It returns the number
	// of events written. A store that holds any event refuses with a
	// *LedgerNotEmptyError (wrapping ErrRefused); a refused event is an
	// *LogImportError (wrapping ErrInvalid); an error of log is returned
	// wrapped.
	Import(ctx context.Context, log iter.Seq2[Envelope, error]) (int64, error)
}

// CheckAppends validates the input of Store.Append and returns the number
// of records: every part names a stream and a non-negative expected
// version, and every record a type and a schema version of 1 or more,
// else an *InvalidError naming the first that does not. Every backend
// checks with it before it writes; the payloads are checked as the events
// are built.
func CheckAppends(appends []StreamAppend) (int, error) {
	n := 0
	for _, sa := range appends {
		if sa.Stream == "" {
			return 0, &InvalidError{Field: "stream", Reason: "empty stream id"}
		}
		if sa.ExpectedVersion < 0 {
			return 0, &InvalidError{Field: "expected version", Reason: fmt.Sprintf("stream %s: %d is negative", sa.Stream, sa.ExpectedVersion)}
		}
		for i := range sa.Records {
			r := &sa.Records[i]
			switch {
			case r.Type == "":
				return 0, &InvalidError{Field: "type", Reason: fmt.Sprintf("stream %s, record %d: empty type", sa.Stream, i)}
			case r.SchemaVersion < 1:
				return 0, &InvalidError{Field: "schema version", Reason: fmt.Sprintf("stream %s, record %d (%s): schema version %d, want 1 or more", sa.Stream, i, r.Type, r.SchemaVersion)}
			}
		}
		n += len(sa.Records)
	}
	return n, nil
}
