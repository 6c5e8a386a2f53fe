package events

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// TextKind says what a text field may hold: how long it may be and
// whether it may span lines. Every text field of every command goes
// through CheckText with one of these kinds.
type TextKind int

// Text kinds.
const (
	// NameText is a name: a participant, an actor, a group. One line, at
	// most MaxNameBytes bytes.
	NameText TextKind = iota
	// LineText is one line of text: a title, a depositary reference, a
	// source, a subject. At most MaxLineBytes bytes.
	LineText
	// FreeText is free text: a note, a reason, a clause. It may contain
	// line breaks (LF, or CR LF) and tabs; at most MaxFreeTextBytes bytes.
	FreeText
)

// Bounds of text fields, in bytes of UTF-8. The longest name in the
// reference list of participants is 52 bytes.
const (
	MaxNameBytes     = 200
	MaxLineBytes     = 2048
	MaxFreeTextBytes = 20000
)

func (k TextKind) max() int {
	switch k {
	case NameText:
		return MaxNameBytes
	case LineText:
		return MaxLineBytes
	default:
		return MaxFreeTextBytes
	}
}

// CheckText is the one check every text field of a command passes: it
// must be valid UTF-8, no longer than its kind allows, and free of
// characters that are invisible or change how the text around them is
// shown:
//
//   - control characters (C0, DEL, C1), except, in FreeText, tab, line
//     feed and a carriage return followed by a line feed;
//   - bidirectional formatting characters (U+061C, U+200E, U+200F,
//     U+202A–U+202E, U+2066–U+2069), which can make a name read
//     differently from what is stored;
//   - other invisible format characters (Unicode category Cf: U+00AD,
//     U+200B–U+200D, U+2060–U+2064, U+FEFF, tag characters, ...);
//   - line and paragraph separators (U+2028, U+2029), private-use
//     characters and noncharacters (U+FFFE, U+FFFF, ...).
//
// It returns nil, an *InvalidTextError naming the field, the character
// (as U+XXXX) and its byte offset, or a *TextTooLongError. Both wrap
// ErrInvalid. CheckText does not trim: callers trim surrounding spaces
// first where a field allows them.
func CheckText(field, s string, kind TextKind) error {
	if len(s) > kind.max() {
		return &TextTooLongError{Field: field, Len: len(s), Max: kind.max()}
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return &InvalidTextError{Field: field, Offset: i, Rune: utf8.RuneError, Byte: s[i], Reason: "invalid UTF-8"}
		}
		if reason := badRune(r, kind == FreeText, s[i+size:]); reason != "" {
			return &InvalidTextError{Field: field, Offset: i, Rune: r, Reason: reason, OneLine: kind != FreeText && (r == '\n' || r == '\r' || r == '\t')}
		}
		i += size
	}
	return nil
}

// badRune says why r cannot appear in text, or "" when it can. rest is
// the text after r (a CR is allowed before an LF in free text).
func badRune(r rune, free bool, rest string) string {
	switch {
	case free && (r == '\n' || r == '\t'):
		return ""
	case free && r == '\r' && len(rest) > 0 && rest[0] == '\n':
		return ""
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		return "control character"
	case isBidi(r):
		return "bidirectional formatting character"
	case unicode.Is(unicode.Cf, r):
		return "invisible format character"
	case r == 0x2028 || r == 0x2029:
		return "line or paragraph separator"
	case unicode.Is(unicode.Co, r):
		return "private-use character"
	case r >= 0xfdd0 && r <= 0xfdef, r&0xfffe == 0xfffe:
		return "noncharacter"
	}
	return ""
}

func isBidi(r rune) bool {
	return r == 0x061c || r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// runeName is the Unicode name of the characters CheckText refuses most
// often, for error messages; "" for the others.
func runeName(r rune) string {
	switch r {
	case 0x00:
		return "NULL"
	case 0x09:
		return "CHARACTER TABULATION"
	case 0x0a:
		return "LINE FEED"
	case 0x0d:
		return "CARRIAGE RETURN"
	case 0x1b:
		return "ESCAPE"
	case 0x7f:
		return "DELETE"
	case 0x85:
		return "NEXT LINE"
	case 0xad:
		return "SOFT HYPHEN"
	case 0x061c:
		return "ARABIC LETTER MARK"
	case 0x200b:
		return "ZERO WIDTH SPACE"
	case 0x200c:
		return "ZERO WIDTH NON-JOINER"
	case 0x200d:
		return "ZERO WIDTH JOINER"
	case 0x200e:
		return "LEFT-TO-RIGHT MARK"
	case 0x200f:
		return "RIGHT-TO-LEFT MARK"
	case 0x2028:
		return "LINE SEPARATOR"
	case 0x2029:
		return "PARAGRAPH SEPARATOR"
	case 0x202a:
		return "LEFT-TO-RIGHT EMBEDDING"
	case 0x202b:
		return "RIGHT-TO-LEFT EMBEDDING"
	case 0x202c:
		return "POP DIRECTIONAL FORMATTING"
	case 0x202d:
		return "LEFT-TO-RIGHT OVERRIDE"
	case 0x202e:
		return "RIGHT-TO-LEFT OVERRIDE"
	case 0x2060:
		return "WORD JOINER"
	case 0x2066:
		return "LEFT-TO-RIGHT ISOLATE"
	case 0x2067:
		return "RIGHT-TO-LEFT ISOLATE"
	case 0x2068:
		return "FIRST STRONG ISOLATE"
	case 0x2069:
		return "POP DIRECTIONAL ISOLATE"
	case 0xfeff:
		return "ZERO WIDTH NO-BREAK SPACE"
	}
	return ""
}

// InvalidTextError is text with a character a field cannot hold (see
// CheckText). It wraps ErrInvalid.
type InvalidTextError struct {
	// Field names the field: "participant", "note", "title".
	Field string
	// Offset is the byte offset of the character in the field's text.
	Offset int
	// Rune is the character; utf8.RuneError for invalid UTF-8, whose
	// first bad byte is Byte.
	Rune rune
	Byte byte
	// Reason is the character's class: "invalid UTF-8", "control
	// character", "bidirectional formatting character", ...
	Reason string
	// OneLine is set for a line break or tab in a one-line field.
	OneLine bool
}

func (e *InvalidTextError) Error() string {
	prefix := ""
	if e.Field != "" {
		prefix = e.Field + ": "
	}
	if e.Reason == "invalid UTF-8" {
		return fmt.Sprintf("%sinvalid UTF-8 (byte 0x%02X) at byte %d", prefix, e.Byte, e.Offset)
	}
	what := fmt.Sprintf("U+%04X", e.Rune)
	if n := runeName(e.Rune); n != "" {
		what += " " + n
	}
	msg := fmt.Sprintf("%s%s %s at byte %d is not allowed", prefix, e.Reason, what, e.Offset)
	if e.OneLine {
		msg += " in a one-line field"
	}
	return msg
}

// Unwrap returns ErrInvalid.
func (e *InvalidTextError) Unwrap() error { return ErrInvalid }

// TextTooLongError is text longer than its field allows. It wraps
// ErrInvalid.
type TextTooLongError struct {
	Field string
	Len   int // bytes given
	Max   int // bytes allowed
}

func (e *TextTooLongError) Error() string {
	prefix := ""
	if e.Field != "" {
		prefix = e.Field + ": "
	}
	return fmt.Sprintf("%sis %d bytes long; at most %d are allowed", prefix, e.Len, e.Max)
}

// Unwrap returns ErrInvalid.
func (e *TextTooLongError) Unwrap() error { return ErrInvalid }

// MaxTreatyIDLen is the longest treaty id, in characters (all ASCII).
const MaxTreatyIDLen = 40

// treatyIDGrammar is said in every refusal of a treaty id.
const treatyIDGrammar = "a treaty id has letters, digits, '-' and '.', starts with a letter or digit, and is at most 40 characters long (e.g. XVIII-16, XXVII-7-d)"

// CheckTreatyID checks a treaty id against the grammar of ids: ASCII
// letters, digits, '-' and '.', starting with a letter or a digit, at most
// MaxTreatyIDLen characters (the UN Treaty Collection's "XVIII-16",
// "XXVII-7-d"). It returns nil or an *InvalidTreatyIDError, which wraps
// ErrInvalid. field names where the id came from ("treaty", "id",
// "parent").
func CheckTreatyID(field, id string) error {
	fail := func(reason string) error { return &InvalidTreatyIDError{Field: field, ID: clip(id), Reason: reason} }
	switch {
	case id == "":
		return fail("it is empty")
	case len(id) > MaxTreatyIDLen:
		return fail(fmt.Sprintf("it is %d bytes long", len(id)))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '.') && i > 0:
		default:
			r, _ := utf8.DecodeRuneInString(id[i:])
			if r == utf8.RuneError {
				return fail(fmt.Sprintf("byte 0x%02X at byte %d is not allowed", c, i))
			}
			return fail(fmt.Sprintf("%q (U+%04X) at byte %d is not allowed", r, r, i))
		}
	}
	return nil
}

// InvalidTreatyIDError is a treaty id outside the grammar of ids (see
// CheckTreatyID): "invalid", never "unknown". It wraps ErrInvalid.
type InvalidTreatyIDError struct {
	Field  string
	ID     string
	Reason string
}

func (e *InvalidTreatyIDError) Error() string {
	prefix := ""
	if e.Field != "" {
		prefix = e.Field + ": "
	}
	return fmt.Sprintf("%sinvalid treaty id %q: %s; %s", prefix, e.ID, e.Reason, treatyIDGrammar)
}

// Unwrap returns ErrInvalid.
func (e *InvalidTreatyIDError) Unwrap() error { return ErrInvalid }

// clip shortens text quoted in an error message to at most 64 bytes, at
// a character boundary, marking the cut with "...".
func clip(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
