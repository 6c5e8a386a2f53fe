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
// write.
func appendRows(b []byte, rows []projections.Participation) ([]byte, error) {
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
		b = append(b, `,"declarations":`...)
		b = appendStatements(b, r.Declarations)
		b = append(b, `,"reservations":`...)
		b = appendStatements(b, r.Reservations)
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
		if len(r.Unofficial) > 0 {
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
