package events

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeAct: whenever the fast decoder of acts accepts a payload,
// encoding/json accepts it too and gives the same Act; when it declines,
// it leaves the Act zero. The seeds are what the ledger writes (UNTC
// names with diacritics and apostrophes, notes, subjects), and what it
// must leave to encoding/json: escapes, other cases and keys, non-string
// values, invalid UTF-8, malformed objects.
func FuzzDecodeAct(f *testing.F) {
	for _, s := range []string{
		`{"action":"signature","participant":"Viet Nam","iso3":"VNM","date":"2025-10-25"}`,
		`{"action":"ratification","participant":"Côte d'Ivoire","iso3":"CIV","date":"2026-03-01","note":"C.N.196.2025.TREATIES-XVIII.16"}`,
		`{"action":"objection","participant":"Belgium","date":"2026-05-20","subject":"Türkiye","note":"Belgium objects to the reservation."}`,
		`{}`, ` { "action" : "declaration" , "date" : "" } `, `{"action":"declaration","note":"line\nbreak"}`,
		`{"action":"declaration","note":"\u00e9"}`, `{"Action":"signature"}`, `{"action":"signature","extra":1}`,
		`{"action":null}`, `{"date":"2026-02-30"}`, `{"note":"bad \xff"}`, `{"action":"signature",}`, `{"action":"signature"} x`,
		`{"action":"a","action":"b"}`, `[]`, ``, `{"note":"tab	here"}`, `{"participant":"Iran (Islamic Republic of)","date":"2025-10-25"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var fast Act
		if !decodeAct(raw, &fast) {
			if fast != (Act{}) {
				t.Fatalf("declined %q but left %+v", raw, fast)
			}
			return
		}
		var want Act
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", raw, err)
		}
		if fast != want {
			t.Fatalf("%q: fast %+v, encoding/json %+v", raw, fast, want)
		}
	})
}

// The fast decoder takes what the ledger writes: every act payload that
// NewRecord encodes.
func TestDecodeActTakesWhatTheLedgerWrites(t *testing.T) {
	reg := NewRegistry()
	for _, a := range []Act{
		{Action: Signature, Participant: "Viet Nam", ISO3: "VNM", Date: MustDate("2025-10-25")},
		{Action: Ratification, Participant: "Türkiye", ISO3: "TUR", Date: MustDate("2026-01-02"), Note: "C.N.12.2026.TREATIES-XVIII.16"},
		{Action: Objection, Participant: "Côte d'Ivoire", Date: MustDate("2026-05-20"), Subject: "Austria", Note: "objects (art. 22)"},
	} {
		rec, err := reg.NewRecord(&a, a.Date, Metadata{})
		if err != nil {
			t.Fatal(err)
		}
		var got Act
		if !decodeAct(rec.Payload, &got) || got != a {
			t.Errorf("%s: fast decoder gives %+v (accepted %v)", rec.Payload, got, got != Act{})
		}
	}
}
