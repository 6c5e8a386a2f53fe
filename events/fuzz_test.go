package events_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/treatywatch/treatywatch/events"
)

// The fuzz targets of package events. `go test` runs each on its seed
// corpus in testdata/fuzz/<FuzzName>/ (real dates, periods, names, CSV
// rows and stored payloads); `make fuzz` runs each for FUZZTIME. Each
// checks properties beyond "does not panic".

// FuzzParseDate: a date ParseDate accepts is exactly its String (ten
// bytes, ASCII digits), reads back the same, and survives MarshalText;
// everything else is an *InvalidDateError with a short message.
func FuzzParseDate(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		d, err := events.ParseDate(s)
		if err != nil {
			var de *events.InvalidDateError
			if !errors.As(err, &de) || !errors.Is(err, events.ErrInvalid) {
				t.Fatalf("ParseDate(%q) = %T %v; want *InvalidDateError", s, err, err)
			}
			if len(err.Error()) > 400 { // the value is clipped to 64 bytes, at most 4 bytes each once quoted
				t.Fatalf("ParseDate(%q): message of %d bytes", s, len(err.Error()))
			}
			return
		}
		if d.IsZero() || d.String() != s {
			t.Fatalf("ParseDate(%q) = %q", s, d)
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; (i == 4 || i == 7) && c != '-' || i != 4 && i != 7 && (c < '0' || c > '9') {
				t.Fatalf("ParseDate accepted %q", s)
			}
		}
		b, _ := d.MarshalText()
		var back events.Date
		if err := back.UnmarshalText(b); err != nil || back != d {
			t.Fatalf("%q: text round trip gives %v, %v", s, back, err)
		}
		if y, m, day := d.YMD(); events.NewDate(y, m, day) != d {
			t.Fatalf("%q: YMD round trip", s)
		}
	})
}

// FuzzParsePeriod: a period ParsePeriod accepts is within its bounds,
// reads back from its String, and moves any date forward by at most its
// bound (plus a month for "first day of month after"), never past
// 9999-12-31; everything else is an *InvalidPeriodError.
func FuzzParsePeriod(f *testing.F) {
	dates := []events.Date{events.MustDate("2024-12-24"), events.MustDate("2026-03-03"), events.MustDate("2024-02-29"), events.MustDate("9999-12-01"), events.FirstDate()}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := events.ParsePeriod(s)
		if err != nil {
			var pe *events.InvalidPeriodError
			if !errors.As(err, &pe) || !errors.Is(err, events.ErrInvalid) {
				t.Fatalf("ParsePeriod(%q) = %T %v; want *InvalidPeriodError", s, err, err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("ParsePeriod(%q) = %+v, which does not validate: %v", s, p, err)
		}
		q, err := events.ParsePeriod(p.String())
		if err != nil || q != p {
			t.Fatalf("ParsePeriod(%q) = %+v; its String %q reads back as %+v, %v", s, p, p.String(), q, err)
		}
		for _, d := range dates {
			e := p.After(d)
			if e.Before(d) || e.After(events.LastDate()) {
				t.Fatalf("%q after %s = %s", s, d, e)
			}
			if n := d.DaysUntil(e); n > events.MaxPeriodDays+31 {
				t.Fatalf("%q after %s = %s, %d days later", s, d, e, n)
			}
		}
	})
}

// FuzzCheckText: text CheckText accepts is valid UTF-8 within its bound
// and holds no control character (but LF, TAB and CR LF in free text) and
// no Unicode format character; a refusal names the byte offset of a real
// offending character.
func FuzzCheckText(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string, kind uint8) {
		k := events.TextKind(kind % 3)
		err := events.CheckText("note", s, k)
		var te *events.InvalidTextError
		var tl *events.TextTooLongError
		switch {
		case err == nil:
			if !utf8.ValidString(s) {
				t.Fatalf("accepted invalid UTF-8 %q", s)
			}
			for i, r := range s {
				if r < 0x20 && !(k == events.FreeText && (r == '\n' || r == '\t' || r == '\r' && strings.HasPrefix(s[i+1:], "\n"))) || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x202e || r == 0x2066 || r == 0x200b || r == 0xfeff {
					t.Fatalf("accepted %q with U+%04X at %d", s, r, i)
				}
			}
		case errors.As(err, &te):
			if te.Offset < 0 || te.Offset >= len(s) {
				t.Fatalf("offset %d outside %q", te.Offset, s)
			}
			if r, _ := utf8.DecodeRuneInString(s[te.Offset:]); r != te.Rune {
				t.Fatalf("%q: error names U+%04X at %d, the text has U+%04X", s, te.Rune, te.Offset, r)
			}
			if events.CheckText("note", s[:te.Offset], k) != nil && te.Reason != "invalid UTF-8" {
				t.Fatalf("%q: the text before byte %d is refused too; the first problem must be named", s, te.Offset)
			}
		case errors.As(err, &tl):
			if tl.Len != len(s) || tl.Len <= tl.Max {
				t.Fatalf("%q: %v", s, err)
			}
		default:
			t.Fatalf("CheckText(%q) = %T %v", s, err, err)
		}
	})
}

// FuzzResolve: a name resolves to a canonical participant whose own name,
// aliases and ISO code resolve to it again; a name that does not resolve
// is invalid text or an unknown participant whose suggestions all
// resolve; a name Directory.Add accepts resolves to what was added, and a
// name it refuses is refused with ErrInvalid.
func FuzzResolve(f *testing.F) {
	dir, err := events.NewDirectory()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, err := dir.Resolve(name)
		if err == nil {
			for _, k := range append([]string{p.Name, p.ISO3}, p.Aliases...) {
				if k == "" {
					continue
				}
				if q, err := dir.Resolve(k); err != nil || q.Name != p.Name {
					t.Fatalf("Resolve(%q) = %s, but Resolve(%q) = %q, %v", name, p.Name, k, q.Name, err)
				}
			}
			if q, ok := dir.Lookup(name); !ok || q.Name != p.Name {
				t.Fatalf("Lookup(%q) = %q, %v; Resolve gave %s", name, q.Name, ok, p.Name)
			}
			return
		}
		var ue *events.UnknownParticipantError
		switch {
		case errors.As(err, &ue):
			if len(ue.Closest) == 0 || len(ue.Closest) > 3 {
				t.Fatalf("Resolve(%q): %d suggestions", name, len(ue.Closest))
			}
			for _, c := range ue.Closest {
				if q, err := dir.Resolve(c); err != nil || q.Name != c {
					t.Fatalf("suggestion %q for %q does not resolve to itself: %v", c, name, err)
				}
			}
		case errors.Is(err, events.ErrInvalid):
		default:
			t.Fatalf("Resolve(%q) = %T %v", name, err, err)
		}
		d := dir.Clone()
		added := events.Participant{Name: name}
		if err := d.Add(added); err != nil {
			if !errors.Is(err, events.ErrInvalid) {
				t.Fatalf("Add(%q) = %T %v", name, err, err)
			}
			return
		}
		if events.CheckName("participant", name) != nil {
			t.Fatalf("Add accepted %q, which CheckName refuses", name)
		}
		if q, err := d.Resolve(name); err != nil || q.Name != name {
			t.Fatalf("added %q resolves to %q, %v", name, q.Name, err)
		}
		if _, err := dir.Resolve(name); err == nil {
			t.Fatalf("Add accepted %q, which already resolved", name)
		}
	})
}

// FuzzDecode: the decoder returns a payload only for a registered type
// at its schema version, of that type (an act's payload names the action
// of its type), and decoding is stable: a decoded payload encodes to the
// same bytes every time, and once encoded decodes to exactly itself.
func FuzzDecode(f *testing.F) {
	reg := events.NewRegistry()
	f.Fuzz(func(t *testing.T, typ string, schema int, payload []byte) {
		p, err := reg.Decode(events.Envelope{Position: 1, Type: typ, SchemaVersion: schema, Payload: payload})
		if err != nil {
			if p != nil {
				t.Fatalf("Decode returned a payload and an error: %v", err)
			}
			return
		}
		if !reg.Known(typ) {
			t.Fatalf("decoded a payload of the unknown type %q", typ)
		}
		if schema != reg.Version(typ) {
			t.Fatalf("decoded %s at schema version %d; registered %d with no upcaster", typ, schema, reg.Version(typ))
		}
		if p.EventType() != typ {
			t.Fatalf("payload of %s decodes as a %s", typ, p.EventType())
		}
		rec, err := reg.NewRecord(p, events.Date{}, events.Metadata{})
		if err != nil {
			t.Fatalf("re-encode %s: %v", typ, err)
		}
		q, err := reg.Decode(events.Envelope{Position: 1, Type: rec.Type, SchemaVersion: rec.SchemaVersion, Payload: rec.Payload})
		if err != nil {
			t.Fatalf("decode re-encoded %s %s: %v", typ, rec.Payload, err)
		}
		rec2, err := reg.NewRecord(q, events.Date{}, events.Metadata{})
		if err != nil || !bytes.Equal(rec.Payload, rec2.Payload) {
			t.Fatalf("%s: encoding not stable: %s then %s (%v)", typ, rec.Payload, rec2.Payload, err)
		}
		// Once encoded by the ledger (empty lists dropped), a payload
		// decodes to exactly itself.
		r, err := reg.Decode(events.Envelope{Position: 1, Type: rec2.Type, SchemaVersion: rec2.SchemaVersion, Payload: rec2.Payload})
		if err != nil || !reflect.DeepEqual(q, r) {
			t.Fatalf("%s: %+v re-decodes as %+v (%v)", typ, q, r, err)
		}
	})
}

// FuzzImportCSV: ParseImportCSV refuses a file only as invalid input,
// gives rows in line order; Import's dry run of them, on a real seeded
// ledger, refuses only with typed errors, never writes, and plans one act
// per row, each with checked text, a canonical participant and a date no
// later than today.
func FuzzImportCSV(f *testing.F) {
	l, st := MustLedger(f)
	ctx := f.Context()
	before, err := st.Head(ctx)
	if err != nil {
		f.Fatal(err)
	}
	today := events.DateOf(testNow)
	f.Fuzz(func(t *testing.T, data []byte, add bool) {
		rows, err := events.ParseImportCSV(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, events.ErrInvalid) {
				t.Fatalf("ParseImportCSV = %T %v; want ErrInvalid", err, err)
			}
			return
		}
		for i, r := range rows {
			if r.Line < 2 || i > 0 && r.Line <= rows[i-1].Line {
				t.Fatalf("row %d has line %d", i, r.Line)
			}
		}
		res, err := l.Import(ctx, "XVIII-16", rows, events.ImportOptions{DryRun: true, AddParticipants: add})
		if head, herr := st.Head(ctx); herr != nil || head != before {
			t.Fatalf("a dry run moved the log from %d to %d (%v)", before, head, herr)
		}
		if err != nil {
			var ie *events.ImportError
			var inv *events.InvalidError
			if !errors.As(err, &ie) && !errors.As(err, &inv) {
				t.Fatalf("Import = %T %v", err, err)
			}
			return
		}
		if len(res.Acts) != len(rows) {
			t.Fatalf("%d rows planned as %d acts", len(rows), len(res.Acts))
		}
		dir, err := l.Directory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range res.Acts {
			if a.Act.Date.After(today) || !a.Act.Action.Valid() {
				t.Fatalf("planned %+v", a.Act)
			}
			for field, text := range map[string]string{"participant": a.Act.Participant, "subject": a.Act.Subject, "reference": a.Reference, "source": a.Source} {
				if err := events.CheckText(field, text, events.LineText); err != nil {
					t.Fatalf("planned act with %v", err)
				}
			}
			if err := events.CheckText("note", a.Act.Note, events.FreeText); err != nil {
				t.Fatalf("planned act with %v", err)
			}
			if p, err := dir.Resolve(a.Act.Participant); err == nil && p.Name != a.Act.Participant {
				t.Fatalf("planned act by %q, not the canonical %q", a.Act.Participant, p.Name)
			} else if err != nil && !add {
				t.Fatalf("planned act by unknown %q without --add-participants", a.Act.Participant)
			}
		}
	})
}
