package export

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// ParticipantsCSV writes a status's participant table as CSV, in the
// columns of the UN Treaty Collection's status pages plus the dates
// treatywatch computes. It is what `treatywatch status ID --csv` prints
// and what the dashboard's "participants (CSV)" button downloads.
func ParticipantsCSV(w io.Writer, st projections.Status) error {
	cw := NewCSV(w)
	_ = cw.Write([]string{"participant", "iso3", "signature", "consent_kind", "consent_date", "entry_into_force", "withdrawal_notified", "withdrawal_effective", "declarations", "reservations"})
	for _, p := range st.Participants {
		kind, date := "", ""
		if p.Consent != nil {
			kind, date = string(p.Consent.Kind), p.Consent.Date.String()
		}
		_ = cw.Write([]string{p.Participant, p.ISO3, isoDate(p.Signature), kind, date, isoDate(p.EntryIntoForce), isoDate(p.WithdrawalNotified),
			isoDate(p.WithdrawalEffective), fmt.Sprint(len(p.Declarations)), fmt.Sprint(len(p.Reservations))})
	}
	return cw.Flush()
}

// StatusJSON writes a status, its participant table included, as indented
// JSON: what `treatywatch status ID --json` prints and what the
// dashboard's "participants (JSON)" button downloads.
func StatusJSON(w io.Writer, st projections.Status) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(st)
}

func isoDate(d *events.Date) string {
	if d == nil {
		return ""
	}
	return d.String()
}

// LogFormat is a format of the event log export.
type LogFormat int

const (
	// LogJSONLines is one JSON object per event and line: the envelope as
	// the ledger stores it, secrets redacted (`treatywatch log --json`).
	LogJSONLines LogFormat = iota
	// LogCSV is one CSV row per event, the act's fields in columns
	// (`treatywatch log --csv`), its cells neutralised.
	LogCSV
	// LogArchive is the faithful archive (`treatywatch export log
	// --format jsonl`, read back by `import-log`): one JSON object per
	// event and line with every stored field — the payload verbatim, not
	// redacted, and the hash in hexadecimal — so that an import rebuilds
	// each event, its position and the hash chain exactly (see archive.go).
	LogArchive
)

// logCSVHeader are the columns of the event log as CSV.
func logCSVHeader() []string {
	return []string{"position", "recorded_at", "stream", "version", "type", "valid_date", "participant", "action", "subject", "supersedes", "reason",
		"actor", "reference", "source", "note", "payload"}
}

// Log writes events of the ledger in one of the LogFormats. In
// LogJSONLines and LogCSV every event goes through events.Redact first,
// so no sink secret or token hash is exported; LogArchive keeps payloads
// verbatim and refuses an event that holds a secret (see archive.go).
// Not safe for concurrent use.
type Log struct {
	format LogFormat
	enc    *json.Encoder
	csv    *CSV
	header bool
	// legacySecrets lets LogArchive export the secrets of version-1
	// subscription events (IncludeLegacySecrets).
	legacySecrets bool
}

// NewLog returns a Log writing format to w.
func NewLog(w io.Writer, format LogFormat) *Log {
	l := &Log{format: format}
	switch format {
	case LogCSV:
		l.csv = NewCSV(w)
	case LogArchive:
		l.enc = json.NewEncoder(w)
		l.enc.SetEscapeHTML(false) // payload bytes as stored: the hash covers them
	default:
		l.enc = json.NewEncoder(w)
	}
	return l
}

// IncludeLegacySecrets makes a LogArchive export the webhook URLs and
// HMAC secrets that subscription events written before version 0.2 hold
// in their payloads, instead of refusing them with a
// *LegacySecretError. Only for an archive that is kept as safely as the
// ledger file itself.
func (l *Log) IncludeLegacySecrets() { l.legacySecrets = true }

// Write writes one event (the CSV header first, before the first one).
func (l *Log) Write(e events.Envelope) error {
	if l.format == LogArchive {
		return l.writeArchive(e)
	}
	e = events.Redact(e)
	if l.format != LogCSV {
		return l.enc.Encode(e)
	}
	if err := l.writeHeader(); err != nil {
		return err
	}
	var row struct {
		events.Act
		Supersedes int64       `json:"supersedes"`
		Reason     string      `json:"reason"`
		Corrected  *events.Act `json:"act"`
	}
	payload := ""
	switch {
	case events.IsAct(e.Type), e.Type == events.TypeActCorrected, e.Type == events.TypeActRetracted:
		if err := json.Unmarshal(e.Payload, &row); err != nil {
			payload = string(e.Payload)
		}
		if row.Corrected != nil {
			row.Act = *row.Corrected
		}
	default:
		payload = string(e.Payload)
	}
	supersedes, valid := "", ""
	if row.Supersedes != 0 {
		supersedes = strconv.FormatInt(row.Supersedes, 10)
	}
	if !e.ValidDate.IsZero() {
		valid = e.ValidDate.String()
	}
	return l.csv.Write([]string{strconv.FormatInt(e.Position, 10), e.RecordedAt.UTC().Format(time.RFC3339Nano), e.Stream, strconv.FormatInt(e.Version, 10), e.Type,
		valid, row.Participant, string(row.Action), row.Subject, supersedes, row.Reason, e.Meta.Actor, e.Meta.Reference, e.Meta.Source, row.Note, payload})
}

func (l *Log) writeHeader() error {
	if l.header {
		return nil
	}
	l.header = true
	return l.csv.Write(logCSVHeader())
}

// Flush writes what is buffered (and, for CSV, the header of an empty
// log) and returns the first error of any Write or of the flush.
func (l *Log) Flush() error {
	if l.format != LogCSV {
		return nil
	}
	if err := l.writeHeader(); err != nil {
		return err
	}
	return l.csv.Flush()
}
