package events

import (
	"unicode/utf8"
)

// decodeAct decodes raw into a exactly as json.Unmarshal(raw, a) does,
// for the payloads this program writes: one flat JSON object of the Act's
// own keys (lower case, as encoded) with plain string values (no escape
// sequence). For anything else — an escape, another key or case, a value
// that is not a string, malformed JSON — it leaves *a zero and returns
// false, and the caller decodes with encoding/json. Acts are nearly every
// event of a log, and decoding them is most of a replay's work: this
// costs a fraction of the reflective decoder's (FuzzDecodeAct keeps the
// two equal).
func decodeAct(raw []byte, a *Act) bool {
	if !decodeActInto(raw, a) {
		*a = Act{}
		return false
	}
	return true
}

func decodeActInto(raw []byte, a *Act) bool {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return skipSpace(raw, i+1) == len(raw)
	}
	for {
		key, j, ok := plainString(raw, i)
		if !ok {
			return false
		}
		i = skipSpace(raw, j)
		if i >= len(raw) || raw[i] != ':' {
			return false
		}
		val, j, ok := plainString(raw, skipSpace(raw, i+1))
		if !ok {
			return false
		}
		switch string(key) {
		case "action":
			a.Action = Action(val)
		case "participant":
			a.Participant = string(val)
		case "iso3":
			a.ISO3 = string(val)
		case "date":
			if err := a.Date.UnmarshalText(val); err != nil {
				return false
			}
		case "subject":
			a.Subject = string(val)
		case "note":
			a.Note = string(val)
		default:
			return false
		}
		i = skipSpace(raw, j)
		if i >= len(raw) {
			return false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return skipSpace(raw, i+1) == len(raw)
		default:
			return false
		}
	}
}

// plainString returns the contents of the JSON string starting at raw[i]
// and the index after its closing quote, when it has no escape sequence,
// no control character and is valid UTF-8 (encoding/json would change
// invalid UTF-8): then its contents are its value.
func plainString(raw []byte, i int) ([]byte, int, bool) {
	if i >= len(raw) || raw[i] != '"' {
		return nil, 0, false
	}
	start := i + 1
	ascii := true
	for j := start; j < len(raw); j++ {
		switch c := raw[j]; {
		case c == '"':
			s := raw[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, 0, false
			}
			return s, j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, 0, false
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(raw []byte, i int) int {
	for i < len(raw) {
		switch raw[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}
