package export_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/export"
	"github.com/treatywatch/treatywatch/events"
)

// TestArchiveReadsBackWhatItWrote: every field of an event written to the
// archive reads back the same — a payload of 300 KB (longer than the
// reader's buffer) and one with characters JSON encoders like to escape
// byte for byte, the recorded time to the nanosecond, the hash — through
// CR LF line ends and blank lines.
func TestArchiveReadsBackWhatItWrote(t *testing.T) {
	evs := []events.Envelope{
		{Position: 1, Stream: "treaty-XVIII-16", Version: 1, Type: "treaty.registered", SchemaVersion: 1,
			RecordedAt: time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.UTC), Meta: events.Metadata{Actor: "seed"},
			Payload: fmt.Appendf(nil, `{"definition":{"clause":%q}}`, strings.Repeat("Article 65. ", 25_000)), Hash: bytes.Repeat([]byte{0xab}, 32)},
		{Position: 2, Stream: "treaty-XVIII-16", Version: 2, Type: "act.declaration", SchemaVersion: 1, ValidDate: events.MustDate("2026-06-02"),
			RecordedAt: time.Date(2026, 11, 27, 9, 0, 1, 0, time.FixedZone("CET", 3600)), Meta: events.Metadata{Actor: "J. Officer", Reference: "C.N.1.2026", Source: "https://treaties.un.org/?a=1&b=<2>"},
			Payload: []byte(`{"action":"declaration","participant":"Côte d'Ivoire","note":"<b>&amp;</b> \u2028 \u003c Türkiye` + "\u2028\u2029" + `"}`), Hash: bytes.Repeat([]byte{0x01}, 32)},
	}
	var b bytes.Buffer
	w := export.NewLog(&b, export.LogArchive)
	for _, e := range evs {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b.Bytes(), evs[1].Payload) {
		t.Errorf("the payload is not in the archive byte for byte:\n%s", b.Bytes()[b.Len()-400:])
	}
	text := "\n" + strings.ReplaceAll(b.String(), "\n", "\r\n\r\n")
	var got []events.Envelope
	for e, err := range export.ReadArchive(strings.NewReader(text)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	if len(got) != len(evs) {
		t.Fatalf("read %d events, want %d", len(got), len(evs))
	}
	for i, want := range evs {
		g := got[i]
		if g.Position != want.Position || g.Stream != want.Stream || g.Version != want.Version || g.Type != want.Type || g.SchemaVersion != want.SchemaVersion ||
			g.ValidDate != want.ValidDate || !g.RecordedAt.Equal(want.RecordedAt) || g.Meta != want.Meta || !bytes.Equal(g.Payload, want.Payload) || !bytes.Equal(g.Hash, want.Hash) {
			t.Errorf("event %d read back as %+v", i+1, g)
		}
	}
}

// TestArchiveRefusesMalformedLines: a line that is not an archive's event
// is an *events.LogImportError naming the line (wrapping ErrInvalid).
func TestArchiveRefusesMalformedLines(t *testing.T) {
	for _, tc := range []struct{ name, line, want string }{
		{"not JSON", `{"position":1,`, "line 2 (position 0): not an event of a treatywatch archive"},
		{"an unknown field", `{"position":3,"hash":"` + strings.Repeat("0", 64) + `","extra":1}`, `unknown field "extra"`},
		{"a short hash", `{"position":3,"hash":"abcd"}`, `hash "abcd": want 64 hexadecimal digits`},
		{"two values", `{"position":3,"hash":"` + strings.Repeat("0", 64) + `"} {}`, "more than one JSON value"},
		{"no position", `{"hash":"` + strings.Repeat("0", 64) + `"}`, "no position"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			for _, err := range export.ReadArchive(strings.NewReader("\n" + tc.line + "\n")) {
				n++
				ie, ok := errors.AsType[*events.LogImportError](err)
				if !ok || !errors.Is(err, events.ErrInvalid) || ie.Line != 2 || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%v, want a *LogImportError at line 2 saying %q", err, tc.want)
				}
			}
			if n != 1 {
				t.Errorf("%d results, want the one error", n)
			}
		})
	}
}

// TestParseUntil: a position, a date (the end of that day, UTC) or an RFC
// 3339 time; anything else is refused naming the three forms.
func TestParseUntil(t *testing.T) {
	for in, want := range map[string]export.Until{
		"":                            {},
		"42":                          {Position: 42},
		"2026-06-30":                  {Time: time.Date(2026, 6, 30, 23, 59, 59, 999999999, time.UTC)},
		"2026-06-30T12:00:00Z":        {Time: time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)},
		"2026-06-30T14:00:00.5+02:00": {Time: time.Date(2026, 6, 30, 12, 0, 0, 500000000, time.UTC)},
	} {
		got, err := export.ParseUntil(in)
		if err != nil || got.Position != want.Position || !got.Time.Equal(want.Time) {
			t.Errorf("ParseUntil(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "-1", "2026-02-30", "yesterday", "1e3"} {
		if _, err := export.ParseUntil(in); !errors.Is(err, events.ErrInvalid) {
			t.Errorf("ParseUntil(%q): %v, want an invalid-input error", in, err)
		}
	}
}
