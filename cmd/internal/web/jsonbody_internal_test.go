package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeJSONBody(t *testing.T) {
	deep := strings.Repeat(`{"a":`, maxJSONDepth-1) + `1` + strings.Repeat(`}`, maxJSONDepth-1)
	tooDeep := `{"note":` + strings.Repeat(`[`, maxJSONDepth) + strings.Repeat(`]`, maxJSONDepth) + `}`
	cases := []struct {
		name, body string
		code       string // "" = accepted
		msg        string
	}{
		{"object", `{"action":"ratification","participant":"Viet Nam","date":"2026-05-04"}`, "", ""},
		{"whitespace around", " \n\t{\"action\":\"signature\"}\r\n ", "", ""},
		{"escapes and a surrogate pair", `{"note":"caf\u00e9 \ud83d\ude00 \\ud800 \" \/"}`, "", ""},
		{"null field", `{"note":null}`, "", ""},
		{"empty object", `{}`, "", ""},
		{"empty body", ``, "bad_request", "empty"},
		{"blank body", " \n ", "bad_request", "empty"},
		{"not an object: array", `[{"action":"signature"}]`, "bad_request", "not an array"},
		{"not an object: string", `"ratification"`, "bad_request", "not a string"},
		{"not an object: null", `null`, "bad_request", "not null"},
		{"not an object: number", `42`, "bad_request", "not a number"},
		{"trailing object", `{"action":"a"}{"action":"b"}`, "bad_request", `trailing data after the object (at byte 15): "{\"action\":\"b\"}"`},
		{"trailing brace", `{"action":"a"}}`, "bad_request", "trailing data after the object (at byte 15)"},
		{"trailing garbage", `{"action":"a"} x`, "bad_request", `trailing data after the object (at byte 16): "x"`},
		{"trailing NUL", "{\"action\":\"a\"}\x00", "bad_request", "trailing data"},
		{"trailing comma", `{"action":"a",}`, "bad_request", "invalid JSON at byte"},
		{"truncated", `{"action":"a"`, "bad_request", "ends before"},
		{"truncated string", `{"action":"a`, "bad_request", "invalid JSON"},
		{"single quotes", `{'action':'a'}`, "bad_request", "invalid JSON at byte"},
		{"comment", `{"action":"a" /* x */}`, "bad_request", "invalid JSON at byte"},
		{"duplicate key", `{"action":"ratification","action":"signature"}`, "bad_request", `duplicate key "action" (at $.action)`},
		{"duplicate key deep", `{"note":{"a":[{"b":1,"b":2}]}}`, "bad_request", `duplicate key "b" (at $.note.a[0].b)`},
		{"duplicate key by escape", `{"action":"a","\u0061ction":"b"}`, "bad_request", `duplicate key "action"`},
		{"case-folded key", `{"Action":"ratification"}`, "bad_request", `unknown field "Action"`},
		{"case-folded duplicate", `{"action":"a","ACTION":"b"}`, "bad_request", `unknown field "ACTION"`},
		{"unknown field", `{"action":"a","admin":true}`, "bad_request", `unknown field "admin" (known: action, participant, date, reference, source, note, subject)`},
		{"wrong type: number", `{"action":5}`, "bad_request", `field "action": want a string, got a number`},
		{"wrong type: object", `{"date":{"y":2026}}`, "bad_request", `field "date": want a string, got a object`},
		{"wrong type: array", `{"note":["a"]}`, "bad_request", `field "note": want a string, got a array`},
		{"wrong type: bool", `{"note":true}`, "bad_request", `want a string, got a bool`},
		{"nesting at the limit", `{"note":` + deep + `}`, "bad_request", `field "note"`},
		{"nesting too deep", tooDeep, "bad_request", "nested deeper than 16 levels"},
		{"nesting far too deep", `{"note":` + strings.Repeat(`[`, 100000), "bad_request", "nested deeper"},
		{"invalid UTF-8", "{\"note\":\"caf\xe9\"}", "bad_request", "not valid UTF-8 (at byte 13)"},
		{"overlong UTF-8", "{\"note\":\"\xc0\xaf\"}", "bad_request", "not valid UTF-8"},
		{"UTF-16 body", "\xff\xfe{\x00}\x00", "bad_request", "not valid UTF-8"},
		{"byte order mark", "\xef\xbb\xbf{\"note\":\"a\"}", "bad_request", "byte order mark"},
		{"lone high surrogate", `{"note":"\ud800"}`, "bad_request", "lone UTF-16 surrogate"},
		{"lone low surrogate", `{"note":"x\uDC00y"}`, "bad_request", "lone UTF-16 surrogate"},
		{"reversed pair", `{"note":"\udc00\ud800"}`, "bad_request", "lone UTF-16 surrogate"},
		{"lone surrogate in a key", `{"note":{"\ud800":1}}`, "bad_request", "lone UTF-16 surrogate"},
		{"raw control character", "{\"note\":\"a\x01b\"}", "bad_request", "invalid JSON at byte"},
		{"raw newline in a string", "{\"note\":\"a\nb\"}", "bad_request", "invalid JSON at byte"},
		{"NaN", `{"note":NaN}`, "bad_request", "invalid JSON at byte"},
		{"huge number", `{"note":1e999999}`, "bad_request", `field "note"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var in actionRequest
			err := decodeJSONBody([]byte(c.body), &in)
			if c.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an *apiError %s", err, c.code)
			}
			if ae.Status != http.StatusBadRequest || ae.Code != c.code || !strings.Contains(ae.Message, c.msg) {
				t.Errorf("got %d %s %q, want 400 %s with %q", ae.Status, ae.Code, ae.Message, c.code, c.msg)
			}
		})
	}
}

func TestCheckJSONContentType(t *testing.T) {
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON; Charset=\"UTF-8\"", "application/json;charset=utf-8"} {
		if err := checkJSONContentType(ct); err != nil {
			t.Errorf("%q refused: %v", ct, err)
		}
	}
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/json",
		"application/merge-patch+json", "application/json; charset=latin1", "application/json; charset=utf-16", "application/json; boundary=x",
		"application/json, text/plain", "json", "application/", "application/json; charset"} {
		err := checkJSONContentType(ct)
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status != http.StatusUnsupportedMediaType || ae.Code != "unsupported_media_type" {
			t.Errorf("%q: %v, want 415", ct, err)
		}
	}
}

// FuzzDecodeJSON checks decodeJSONBody on any body: it never panics; it
// refuses with a 400 *apiError or accepts; and what it accepts is valid
// UTF-8, one JSON object without repeated keys, that encoding/json decodes
// to the same value.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"action":"ratification","participant":"Viet Nam","date":"2026-05-04","reference":"C.N.1","source":"https://treaties.un.org/","note":"x","subject":""}`,
		`{"reason":"recorded in error"}`, `{"name":"Officer Bo","role":"officer"}`, `{}`, `[]`, `null`, ``,
		`{"action":"a","action":"b"}`, `{"Action":"a"}`, `{"note":"\ud800"}`, "{\"note\":\"\xff\"}", `{"a":{"b":{"c":[1,2,{"d":null}]}}}`,
		`{"action":"a"} {}`, `{"note":"\ud83d\ude00"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got actionRequest
		err := decodeJSONBody(body, &got)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Message == "" {
				t.Fatalf("refusal %v is not a 400 *apiError", err)
			}
			return
		}
		if !utf8.Valid(body) || !json.Valid(body) {
			t.Fatalf("accepted an invalid body %q", body)
		}
		var generic map[string]any
		if err := json.Unmarshal(body, &generic); err != nil || generic == nil {
			t.Fatalf("accepted %q, which is not one object: %v", body, err)
		}
		var want actionRequest
		if err := json.Unmarshal(body, &want); err != nil || want != got {
			t.Fatalf("accepted %q as %+v; encoding/json gives %+v (%v)", body, got, want, err)
		}
		for _, s := range []string{got.Action, got.Participant, got.Date, got.Reference, got.Source, got.Note, got.Subject} {
			if strings.ContainsRune(s, utf8.RuneError) && !strings.Contains(string(body), "\uFFFD") && !strings.Contains(strings.ToLower(string(body)), `\ufffd`) {
				t.Fatalf("accepted %q, decoded with a replacement character: %q", body, s)
			}
		}
	})
}
