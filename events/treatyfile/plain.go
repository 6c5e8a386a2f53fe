package treatyfile

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/treatywatch/treatywatch/events"
)

// MaxFileBytes is the largest treaty definition file, or weights file,
// Parse reads: 1 MiB. The largest shipped definition is a few kilobytes.
const MaxFileBytes = 1 << 20

// scanBytes checks a file's bytes before YAML parses them: valid UTF-8,
// no tab, no control character but line feeds (and carriage returns
// before them), and no bidirectional, invisible format or separator
// character, even in a comment. A byte order mark is allowed at the very
// start only. It returns the first problem, located by line and column.
func scanBytes(data []byte) *Error {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		at := func(format string, args ...any) *Error {
			return &Error{Line: line, Msg: fmt.Sprintf("column %d: ", col) + fmt.Sprintf(format, args...)}
		}
		switch {
		case r == utf8.RuneError && size == 1:
			return at("invalid UTF-8 (byte 0x%02X at byte %d): a treaty definition is UTF-8 text", data[i], i)
		case r == '\n':
			line, col = line+1, 0
		case r == '\r' && i+1 < len(data) && data[i+1] == '\n':
			col--
		case r == '\t':
			return at("tab character (U+0009): indent and separate with spaces")
		case r == 0xfeff && i == 0:
			col--
		default:
			var te *events.InvalidTextError
			if err := events.CheckText("", string(r), events.NameText); errors.As(err, &te) {
				te.Offset, te.OneLine = i, false
				return at("%v anywhere in a treaty definition, not even in a comment", te)
			}
		}
		i += size
		col++
	}
	return nil
}

// plainTree refuses what YAML offers beyond plain data: anchors and
// aliases (which also rule out alias bombs and merge keys) and explicit
// tags. A treaty definition is a public contract, read by people: every
// value must be written where it is used.
func (p *parser) plainTree(n *yaml.Node) {
	switch {
	case n.Kind == yaml.AliasNode:
		p.fail(n, "", nil, "alias *%s: anchors and aliases are not allowed in a treaty definition; write the value where it is used", n.Value)
		return
	case n.Anchor != "":
		p.fail(n, "", nil, "anchor &%s: anchors and aliases are not allowed in a treaty definition; write the value where it is used", n.Anchor)
	case n.Style&yaml.TaggedStyle != 0:
		p.fail(n, "", nil, "explicit tag %s: tags are not allowed in a treaty definition; quote the value to make it text", n.Tag)
	}
	for _, c := range n.Content {
		p.plainTree(c)
	}
}

// isDecimalInt reports whether s is a whole number as the schema writes
// it: digits 0-9, an optional leading '-', no leading zero, no '+', '_',
// '0x', '0o' or exponent.
func isDecimalInt(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if s == "" || len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isDecimalNumber reports whether s is a number as the schema writes it:
// a whole number (isDecimalInt) optionally followed by '.' and digits; no
// exponent, no ".inf" or ".nan".
func isDecimalNumber(s string) bool {
	whole, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			whole, frac = s[:i], s[i+1:]
			if frac == "" {
				return false
			}
			break
		}
	}
	if !isDecimalInt(whole) {
		return false
	}
	for i := 0; i < len(frac); i++ {
		if frac[i] < '0' || frac[i] > '9' {
			return false
		}
	}
	return true
}
