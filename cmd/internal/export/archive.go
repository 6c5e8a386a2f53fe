package export

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// The archive (LogArchive) is JSON Lines, one event per line, in position
// order, every field the ledger stores:
//
//	{"position":3,"stream":"treaty-XVIII-16","version":3,"type":"act.signature","schema_version":1,
//	 "valid_date":"2025-10-25","recorded_at":"2026-11-27T09:00:00.123456789Z",
//	 "metadata":{"actor":"seed","reference":"C.N.…","source":"https://…"},
//	 "payload":{…},"hash":"9f86d0…"}
//
// valid_date is absent for an event that is not an act, and metadata's
// fields when empty, as in `log --json`; recorded_at is RFC 3339 to the
// nanosecond, in UTC; payload is the stored JSON byte for byte (no HTML
// escaping, no re-encoding); hash is the stored SHA-256 in 64 lower-case
// hexadecimal digits.
//
// Redaction: none. A payload is what the hash covers, so a redacted
// payload could not be imported. The log holds no live secret: a token
// event holds the SHA-256 of a 256-bit random token (which no one can
// turn back into the token), and sink secrets are sealed outside the log
// (sink_secrets), so they are not in the archive at all: a webhook
// subscription of an imported ledger has no URL or HMAC secret until it
// is subscribed again. The one exception is a subscription.created event
// of schema version 1, written before 0.2, whose payload holds the
// webhook's URL and HMAC secret: the archive refuses it with a
// *LegacySecretError naming its position, unless IncludeLegacySecrets
// was called (`export log --include-legacy-secrets`).

// archiveLine is one line of the archive.
type archiveLine struct {
	Position      int64           `json:"position"`
	Stream        string          `json:"stream"`
	Version       int64           `json:"version"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	ValidDate     events.Date     `json:"valid_date,omitzero"`
	RecordedAt    time.Time       `json:"recorded_at"`
	Meta          events.Metadata `json:"metadata"`
	Payload       json.RawMessage `json:"payload"`
	Hash          string          `json:"hash"`
}

// LegacySecretError: the archive was asked to export a subscription event
// written before 0.2 that holds a webhook URL or HMAC secret in its
// payload. It wraps events.ErrRefused.
type LegacySecretError struct {
	Position int64
}

func (e *LegacySecretError) Error() string {
	return fmt.Sprintf("position %d is a subscription recorded before treatywatch 0.2 that holds its webhook URL or HMAC secret in the log; "+
		"the archive carries payloads verbatim, so it would export that secret: rotate it (README, Sink secrets), then export with --include-legacy-secrets "+
		"and keep the file as safe as the ledger; `log --json` and --format csv export the log redacted", e.Position)
}

// Unwrap returns events.ErrRefused.
func (e *LegacySecretError) Unwrap() error { return events.ErrRefused }

// HoldsLegacySecret reports whether e is a subscription.created event of
// schema version 1 whose payload holds a non-empty "url" or "secret".
func HoldsLegacySecret(e events.Envelope) bool {
	if e.Type != events.TypeSubscriptionCreated || e.SchemaVersion != 1 {
		return false
	}
	var p struct {
		Subscription struct {
			URL    string `json:"url"`
			Secret string `json:"secret"`
		} `json:"subscription"`
	}
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return true // unreadable: it may hold anything
	}
	return p.Subscription.URL != "" || p.Subscription.Secret != ""
}

func (l *Log) writeArchive(e events.Envelope) error {
	if !l.legacySecrets && HoldsLegacySecret(e) {
		return &LegacySecretError{Position: e.Position}
	}
	return l.enc.Encode(archiveLine{
		Position: e.Position, Stream: e.Stream, Version: e.Version, Type: e.Type, SchemaVersion: e.SchemaVersion,
		ValidDate: e.ValidDate, RecordedAt: e.RecordedAt.UTC(), Meta: e.Meta, Payload: e.Payload, Hash: hex.EncodeToString(e.Hash),
	})
}

// maxArchiveLine bounds one line of an archive: a treaty definition is at
// most 1 MiB of YAML, so 16 MiB leaves room for any event the ledger
// writes.
const maxArchiveLine = 16 << 20

// ReadArchive reads an archive (LogArchive) from r one line at a time and
// yields its events in the file's order, each with the fields the line
// gives; it checks the syntax of each line (one JSON object with exactly
// the archive's fields, a 64-digit hexadecimal hash), not that the events
// make a log: Store.Import does. A malformed line ends it with an
// *events.LogImportError naming the line (wrapping events.ErrInvalid); a
// read error is yielded as is. Empty lines are skipped.
func ReadArchive(r io.Reader) iter.Seq2[events.Envelope, error] {
	return func(yield func(events.Envelope, error) bool) {
		br := bufio.NewReaderSize(r, 64<<10)
		var buf []byte
		for line := 1; ; line++ {
			b, err := readLine(br, &buf)
			if len(b) == 0 && err != nil {
				if !errors.Is(err, io.EOF) {
					yield(events.Envelope{}, fmt.Errorf("read the archive at line %d: %w", line, err))
				}
				return
			}
			if len(bytes.TrimSpace(b)) == 0 {
				continue
			}
			e, perr := parseArchiveLine(b, line)
			if !yield(e, perr) || perr != nil {
				return
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					yield(events.Envelope{}, fmt.Errorf("read the archive after line %d: %w", line, err))
				}
				return
			}
		}
	}
}

// readLine reads one line without its end, into *buf, refusing lines
// longer than maxArchiveLine.
func readLine(br *bufio.Reader, buf *[]byte) ([]byte, error) {
	*buf = (*buf)[:0]
	for {
		chunk, err := br.ReadSlice('\n')
		*buf = append(*buf, chunk...)
		if len(*buf) > maxArchiveLine {
			return nil, fmt.Errorf("a line is longer than %d MiB", maxArchiveLine>>20)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimSuffix(bytes.TrimSuffix(*buf, []byte("\n")), []byte("\r")), err
	}
}

func parseArchiveLine(b []byte, line int) (events.Envelope, error) {
	var a archiveLine
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	refuse := func(reason string) (events.Envelope, error) {
		return events.Envelope{}, &events.LogImportError{Position: a.Position, Line: line, Reason: reason}
	}
	if err := dec.Decode(&a); err != nil {
		return refuse("not an event of a treatywatch archive (export log --format jsonl): " + err.Error())
	}
	if dec.More() {
		return refuse("more than one JSON value on the line")
	}
	h, err := hex.DecodeString(a.Hash)
	if err != nil || len(h) != 32 {
		return refuse(fmt.Sprintf("hash %q: want 64 hexadecimal digits", a.Hash))
	}
	if a.Position < 1 {
		return refuse("no position")
	}
	return events.Envelope{
		Position: a.Position, Stream: a.Stream, Version: a.Version, Type: a.Type, SchemaVersion: a.SchemaVersion,
		ValidDate: a.ValidDate, RecordedAt: a.RecordedAt, Meta: a.Meta, Payload: bytes.Clone(a.Payload), Hash: h,
	}, nil
}
