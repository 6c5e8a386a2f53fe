package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxJSONDepth is how deeply a JSON body may nest objects and arrays. The
// API's bodies are flat objects (depth 1); the margin lets a wrong body be
// told apart by its field's error rather than by its depth.
const maxJSONDepth = 16

// decodeJSON decodes a JSON request body into v, a pointer to a struct
// whose fields carry json tags, strictly: the Content-Type must be
// application/json (optionally with charset=utf-8; else 415), and the body
// (else 400, naming the problem) must be valid UTF-8 without a byte order
// mark, hold exactly one JSON object with nothing after it, nest no deeper
// than maxJSONDepth, repeat no key in any object, spell every top-level
// key exactly as a field of v, and give each field a value of its type. A
// body over the route's limit is 413.
func decodeJSON(r *http.Request, v any) error {
	if err := checkJSONContentType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return fmt.Errorf("read body: %w", err)
	}
	return decodeJSONBody(body, v)
}

// checkJSONContentType accepts application/json, with no parameter but
// charset=utf-8.
func checkJSONContentType(ct string) error {
	refuse := func(why string) error {
		return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: fmt.Sprintf("Content-Type %q: %s; want application/json (optionally with charset=utf-8)", ct, why),
			Details: map[string]any{"content_type": ct, "want": []string{"application/json", "application/json; charset=utf-8"}}}
	}
	if strings.TrimSpace(ct) == "" {
		return refuse("a JSON body needs a Content-Type")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return refuse("not a media type")
	}
	if mt != "application/json" {
		return refuse("not JSON")
	}
	for k, v := range params {
		if k != "charset" {
			return refuse(fmt.Sprintf("unknown parameter %q", k))
		}
		if !strings.EqualFold(v, "utf-8") {
			return refuse(fmt.Sprintf("charset %q: JSON is UTF-8", v))
		}
	}
	return nil
}

// decodeJSONBody is decodeJSON after the headers.
func decodeJSONBody(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequestf("the request body is empty: want a JSON object")
	}
	if bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) {
		return badRequestf("invalid JSON: the body starts with a byte order mark; send UTF-8 without one")
	}
	if !utf8.Valid(body) {
		return badRequestf("invalid JSON: the body is not valid UTF-8 (at byte %d)", invalidUTF8At(body))
	}
	fields := jsonFields(v)
	if err := checkJSONShape(body, fields); err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &apiError{Status: http.StatusBadRequest, Code: "bad_request",
				Message: fmt.Sprintf("invalid JSON: field %q: want a %s, got a %s", te.Field, jsonKind(te.Type), te.Value),
				Details: map[string]any{"field": te.Field}}
		}
		return badRequestf("invalid JSON: %v", err)
	}
	return nil
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i + 1
		}
		i += n
	}
	return 0
}

// jsonKind names a Go type as JSON calls it.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	default:
		return "number"
	}
}

// jsonFields returns the JSON names of the fields of the struct v points
// to.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

// jsonFrame is an object or array being scanned.
type jsonFrame struct {
	object bool
	keys   map[string]bool
	key    string // the object's current key
	index  int    // the array's next index
	path   string
}

// checkJSONShape walks the body's tokens: one object, nothing after it,
// no repeated key at any depth, no lone UTF-16 surrogate in a string, at
// most maxJSONDepth levels, and top-level keys among fields (exact
// spelling; encoding/json would match them ignoring case).
func checkJSONShape(body []byte, fields []string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []*jsonFrame
	expectKey := func() bool { n := len(stack); return n > 0 && stack[n-1].object && stack[n-1].key == "" }
	valuePath := func() string {
		if len(stack) == 0 {
			return "$"
		}
		f := stack[len(stack)-1]
		if f.object {
			return f.path + "." + f.key
		}
		return f.path + "[" + strconv.Itoa(f.index) + "]"
	}
	// valueDone ends a value in the current container.
	valueDone := func() {
		if n := len(stack); n > 0 {
			if f := stack[n-1]; f.object {
				f.key = ""
			} else {
				f.index++
			}
		}
	}
	started := false
	prev := int64(0)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if len(stack) > 0 || !started {
				return badRequestf("invalid JSON: the body ends before the object does")
			}
			return nil
		}
		if err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return badRequestf("invalid JSON at byte %d: %v", se.Offset, err)
			}
			return badRequestf("invalid JSON: %v", err)
		}
		raw := body[prev:dec.InputOffset()]
		prev = dec.InputOffset()
		if !started {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return badRequestf("invalid JSON: the body must be a JSON object, not %s", jsonTokenKind(tok))
			}
			started = true
		}
		if s, ok := tok.(string); ok {
			if loneSurrogate(raw) {
				return badRequestf("invalid JSON: a string at %s holds a lone UTF-16 surrogate (\\uD800–\\uDFFF), which is no character", valuePath())
			}
			if expectKey() {
				f := stack[len(stack)-1]
				if f.keys[s] {
					return &apiError{Status: http.StatusBadRequest, Code: "bad_request",
						Message: fmt.Sprintf("invalid JSON: duplicate key %q (at %s.%s); send each field once", s, f.path, s),
						Details: map[string]any{"key": s, "path": f.path + "." + s}}
				}
				f.keys[s] = true
				if len(stack) == 1 && !slices.Contains(fields, s) {
					return &apiError{Status: http.StatusBadRequest, Code: "bad_request",
						Message: fmt.Sprintf("invalid JSON: unknown field %q (known: %s)", s, strings.Join(fields, ", ")),
						Details: map[string]any{"field": s, "known": fields}}
				}
				f.key = s
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) >= maxJSONDepth {
				return badRequestf("invalid JSON: nested deeper than %d levels (at %s)", maxJSONDepth, valuePath())
			}
			stack = append(stack, &jsonFrame{object: tok == json.Delim('{'), keys: map[string]bool{}, path: valuePath()})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
			if len(stack) == 0 {
				if rest := bytes.TrimSpace(body[prev:]); len(rest) > 0 {
					return badRequestf("invalid JSON: trailing data after the object (at byte %d): %q", len(body)-len(rest)+1, truncate(rest, 16))
				}
			}
		default:
			valueDone()
		}
	}
}

// truncate shortens b to n bytes for a message.
func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}

func jsonTokenKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// loneSurrogate reports whether the raw bytes of a string token (with what
// preceded it since the previous token) escape a UTF-16 surrogate that is
// not half of a pair; encoding/json would silently make it U+FFFD.
func loneSurrogate(raw []byte) bool {
	i := bytes.IndexByte(raw, '"')
	if i < 0 {
		return false
	}
	lit := raw[i+1:]
	hex4 := func(at int) (rune, bool) {
		if at+4 > len(lit) {
			return 0, false
		}
		n, err := strconv.ParseUint(string(lit[at:at+4]), 16, 16)
		return rune(uint16(n)), err == nil
	}
	for j := 0; j < len(lit); j++ {
		if lit[j] != '\\' {
			continue
		}
		j++
		if j >= len(lit) || lit[j] != 'u' {
			continue // \\, \", \n...: one escaped byte
		}
		r, ok := hex4(j + 1)
		if !ok {
			return false // the decoder has refused it already
		}
		j += 4
		switch {
		case r >= 0xD800 && r < 0xDC00:
			if j+6 < len(lit) && lit[j+1] == '\\' && lit[j+2] == 'u' {
				if lo, ok := hex4(j + 3); ok && lo >= 0xDC00 && lo <= 0xDFFF {
					j += 6
					continue
				}
			}
			return true
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		}
	}
	return false
}
