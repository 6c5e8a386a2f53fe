package web

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// appendRows appends the JSON of a status's participant rows to b, byte
// for byte what json.Marshal gives (TestAppendRowsEqualsJSONMarshal keeps
// it so), without reflection: these rows are nearly all of a status
// answer's bytes, and a busy treaty's answer is encoded again after every
// write. With full, each row is the whole projections.Participation (its
// statements' texts inlined); otherwise it is the row's summaryRow, the
// statements counted.
func appendRows(b []byte, rows []projections.Participation, full bool) ([]byte, error) {
	if rows == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		r := &rows[i]
		b = append(b, `{"participant":`...)
		b = appendJSONString(b, r.Participant)
		b = append(b, `,"iso3":`...)
		b = appendJSONString(b, r.ISO3)
		b = append(b, `,"signature":`...)
		b = appendDatePtr(b, r.Signature)
		b = append(b, `,"consent":`...)
		if r.Consent == nil {
			b = append(b, "null"...)
		} else {
			b = appendConsent(b, *r.Consent)
		}
		b = append(b, `,"entry_into_force":`...)
		b = appendDatePtr(b, r.EntryIntoForce)
		if full {
			b = append(b, `,"declarations":`...)
			b = appendStatements(b, r.Declarations)
			b = append(b, `,"reservations":`...)
			b = appendStatements(b, r.Reservations)
		} else {
			b = append(b, `,"statements":{"declarations":`...)
			b = strconv.AppendInt(b, int64(len(r.Declarations)), 10)
			b = append(b, `,"reservations":`...)
			b = strconv.AppendInt(b, int64(len(r.Reservations)), 10)
			b = append(b, `,"unofficial":`...)
			b = strconv.AppendInt(b, int64(len(r.Unofficial)), 10)
			b = append(b, '}')
		}
		b = append(b, `,"withdrawal_notified":`...)
		b = appendDatePtr(b, r.WithdrawalNotified)
		b = append(b, `,"withdrawal_effective":`...)
		b = appendDatePtr(b, r.WithdrawalEffective)
		if len(r.Earlier) > 0 {
			b = append(b, `,"earlier":[`...)
			for j, t := range r.Earlier {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"consent":`...)
				b = appendConsent(b, t.Consent)
				b = append(b, `,"entry_into_force":`...)
				b = appendDatePtr(b, t.EntryIntoForce)
				b = append(b, `,"withdrawal_notified":`...)
				b = appendDate(b, t.WithdrawalNotified)
				b = append(b, `,"withdrawal_effective":`...)
				b = appendDate(b, t.WithdrawalEffective)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		if full && len(r.Unofficial) > 0 {
			b = append(b, `,"unofficial":`...)
			b = appendStatements(b, r.Unofficial)
		}
		b = append(b, `,"provisional_application":`...)
		if r.ProvisionalApplication == nil {
			b = append(b, "null"...)
		} else {
			b = appendStatement(b, *r.ProvisionalApplication)
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

func appendConsent(b []byte, c projections.Consent) []byte {
	b = append(b, `{"kind":`...)
	b = appendJSONString(b, string(c.Kind))
	b = append(b, `,"date":`...)
	b = appendDate(b, c.Date)
	b = append(b, `,"counts":`...)
	b = strconv.AppendBool(b, c.Counts)
	return append(b, '}')
}

func appendStatements(b []byte, sts []projections.Statement) []byte {
	if sts == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, st := range sts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStatement(b, st)
	}
	return append(b, ']')
}

func appendStatement(b []byte, st projections.Statement) []byte {
	b = append(b, `{"kind":`...)
	b = appendJSONString(b, string(st.Kind))
	b = append(b, `,"date":`...)
	b = appendDate(b, st.Date)
	if st.Subject != "" {
		b = append(b, `,"subject":`...)
		b = appendJSONString(b, st.Subject)
	}
	if st.Note != "" {
		b = append(b, `,"note":`...)
		b = appendJSONString(b, st.Note)
	}
	if st.Reference != "" {
		b = append(b, `,"reference":`...)
		b = appendJSONString(b, st.Reference)
	}
	return append(b, '}')
}

func appendDatePtr(b []byte, d *events.Date) []byte {
	if d == nil {
		return append(b, "null"...)
	}
	return appendDate(b, *d)
}

func appendDate(b []byte, d events.Date) []byte {
	b = append(b, '"')
	b, _ = d.AppendText(b)
	return append(b, '"')
}

// appendJSONString appends s as a JSON string: directly when no byte of it
// needs escaping (printable ASCII but for `"`, `\` and the HTML-sensitive
// `<`, `>`, `&`), through json.Marshal otherwise, so that the escaping is
// exactly encoding/json's.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// summaryRow is a participant row of the status and participant-table
// answers in their default form: the row without its statements' texts,
// which a busy treaty accumulates by the thousand (every declaration,
// objection and reservation would otherwise be inlined in every read of
// the table), counted instead. The texts are the participant resource's
// (/api/v1/treaties/{id}/participants/{name}) and the answers' with
// statements=full.
type summaryRow struct {
	Participant            string                 `json:"participant"`
	ISO3                   string                 `json:"iso3"`
	Signature              *events.Date           `json:"signature"`
	Consent                *projections.Consent   `json:"consent"`
	EntryIntoForce         *events.Date           `json:"entry_into_force"`
	Statements             statementCounts        `json:"statements"`
	WithdrawalNotified     *events.Date           `json:"withdrawal_notified"`
	WithdrawalEffective    *events.Date           `json:"withdrawal_effective"`
	Earlier                []projections.Tenure   `json:"earlier,omitempty"`
	ProvisionalApplication *projections.Statement `json:"provisional_application"`
}

// statementCounts counts a participant's statements by the lists of
// projections.Participation they are in.
type statementCounts struct {
	Declarations int `json:"declarations"`
	Reservations int `json:"reservations"`
	Unofficial   int `json:"unofficial"`
}

// summaryRows returns rows as summaryRows (nil for nil).
func summaryRows(rows []projections.Participation) []summaryRow {
	if rows == nil {
		return nil
	}
	out := make([]summaryRow, len(rows))
	for i, r := range rows {
		out[i] = summaryRow{
			Participant: r.Participant, ISO3: r.ISO3, Signature: r.Signature, Consent: r.Consent, EntryIntoForce: r.EntryIntoForce,
			Statements:         statementCounts{Declarations: len(r.Declarations), Reservations: len(r.Reservations), Unofficial: len(r.Unofficial)},
			WithdrawalNotified: r.WithdrawalNotified, WithdrawalEffective: r.WithdrawalEffective, Earlier: r.Earlier,
			ProvisionalApplication: r.ProvisionalApplication,
		}
	}
	return out
}

// statusSummary is a status answer in its default form: the status with
// summaryRows for participants (Participants is Status's last field, so
// the shadowing field keeps its place in the encoding).
type statusSummary struct {
	projections.Status
	Participants []summaryRow `json:"participants"`
}
