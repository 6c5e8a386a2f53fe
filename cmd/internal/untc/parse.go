package untc

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/treatywatch/treatywatch/events"
)

// MaxFileBytes is the largest status file Parse reads: the largest UNTC
// status files are a few hundred kilobytes.
const MaxFileBytes = 16 << 20

// Role is what a column of a status file holds.
type Role string

// The roles of a column.
const (
	// RoleParticipant is the column of names.
	RoleParticipant Role = "participant"
	// RoleSignature holds signatures (and successions to signature).
	RoleSignature Role = "signature"
	// RoleConsent holds the consents to be bound: ratification and the
	// kinds the header marks (acceptance A, approval AA, accession a, ...).
	RoleConsent Role = "consent"
	// RoleProvisional holds declarations of provisional application.
	RoleProvisional Role = "provisional-application"
	// RoleIgnored is a column treatywatch does not import (a
	// notification under some article, say); Parse warns about it.
	RoleIgnored Role = "ignored"
)

// Column is one column of the participants table, as the header names it.
type Column struct {
	// Header is the header cell's text ("Acceptance(A), Ratification,
	// Approval(AA), Accession(a)").
	Header string `json:"header"`
	Role   Role   `json:"role"`
	// Plain is the kind of a date with no mark in this column.
	Plain events.Action `json:"plain,omitempty"`
	// Marks maps each mark a date may carry to its kind.
	Marks map[string]events.Action `json:"marks,omitempty"`
}

// Act is one dated act a cell of the file shows.
type Act struct {
	Action events.Action `json:"action"`
	Date   events.Date   `json:"date"`
	// Undone is true for a date in brackets ("[20 Jan 2021 A]"): an act
	// the depositary shows as later undone.
	Undone bool `json:"undone,omitempty"`
	// Cell is the cell's text as read ("22 Apr 2016 A").
	Cell string `json:"cell"`
	// Column is the header of the act's column.
	Column string `json:"column"`
}

// Row is one participant's row.
type Row struct {
	// Line is the line of the file where the row starts.
	Line int `json:"line"`
	// Name is the participant as the file writes it, footnote markers
	// removed.
	Name string `json:"name"`
	// Footnotes are the numbers of the footnote markers in the name.
	Footnotes []string `json:"footnotes,omitempty"`
	Acts      []Act    `json:"acts"`
}

// File is a parsed status file.
type File struct {
	// Title is the header's title, if the file has one.
	Title   string   `json:"title,omitempty"`
	Columns []Column `json:"columns"`
	Rows    []Row    `json:"rows"`
	// Signatories and Parties are the header's counts (Status/Signatories,
	// Status/Parties); -1 when the file has none.
	Signatories int `json:"signatories"`
	Parties     int `json:"parties"`
	// Warnings are what was read but is not imported, or does not add up:
	// a column treatywatch does not know, a count in the header that
	// disagrees with the rows.
	Warnings []string `json:"warnings,omitempty"`
}

// NotStatusFileError is what Parse returns for bytes that are not a UNTC
// status file at all: an HTML page (the depositary's site shows a
// maintenance page with status 200), another XML document, nothing. It
// wraps events.ErrInvalid.
type NotStatusFileError struct {
	// Got says what the bytes are instead ("HTML (title "Maintenance")").
	Got string
}

func (e *NotStatusFileError) Error() string {
	return "not a UNTC status file: got " + e.Got + "; want the MTDSG XML (<Treaty> with <Participants>)"
}

// Unwrap returns events.ErrInvalid.
func (e *NotStatusFileError) Unwrap() error { return events.ErrInvalid }

// ParseError is a status file Parse cannot read: malformed XML, a date
// cell it cannot read, a row that does not fit the header. It names the
// line and wraps events.ErrInvalid.
type ParseError struct {
	Line   int
	Reason string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("UNTC status file, line %d: %s", e.Line, e.Reason)
	}
	return "UNTC status file: " + e.Reason
}

// Unwrap returns events.ErrInvalid.
func (e *ParseError) Unwrap() error { return events.ErrInvalid }

// Parse reads a UNTC status file of at most MaxFileBytes. The file's
// declared encoding is honoured: UTF-8, or ISO-8859-1 (Latin-1, what
// the UNTC declares), decoded here; a file declared ISO-8859-1 whose
// bytes are in fact UTF-8 is read as UTF-8, with a warning.
//
// The header cells (Treaty/Participants/Table/TGroup/Thead/Row/Entry)
// say what each column holds; each data row
// (Treaty/Participants/Table/TGroup/Tbody/Rows/Row) has one Entry per
// column. Footnote markers (<superscript>7</superscript>) are taken out
// of names and kept as Row.Footnotes, and dropped from date cells. A
// date cell is "22 Apr 2016" (whitespace, tabs included, between the
// parts), optionally followed by a mark the column's header defines (A,
// AA, a, d, s by default); in brackets, "[20 Jan 2021 A]", it is an act
// later undone. Errors: *NotStatusFileError for bytes that are not a
// status file, *ParseError naming the line otherwise; both wrap
// events.ErrInvalid.
func Parse(r io.Reader) (*File, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read UNTC status file: %w", err)
	}
	if len(data) > MaxFileBytes {
		return nil, &ParseError{Reason: fmt.Sprintf("the file is larger than %d bytes", MaxFileBytes)}
	}
	return ParseBytes(data)
}

// ParseBytes is Parse of a file already in memory.
func ParseBytes(data []byte) (*File, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &NotStatusFileError{Got: "an empty file"}
	}
	if isHTML(data) {
		return nil, &NotStatusFileError{Got: "HTML" + htmlTitle(data)}
	}
	p := &parser{file: &File{Signatories: -1, Parties: -1}}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) {
		switch strings.ToLower(strings.TrimSpace(charset)) {
		case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii":
			if !utf8.Valid(data) {
				return &latin1Reader{r: bufio.NewReader(input)}, nil
			}
			if hasNonASCII(data) {
				p.file.Warnings = append(p.file.Warnings, fmt.Sprintf("the file declares %s but its bytes are UTF-8; read as UTF-8", charset))
			}
			return input, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q (want ISO-8859-1 or UTF-8)", charset)
	}
	if err := p.run(dec); err != nil {
		return nil, err
	}
	return p.file, nil
}

// parser walks the XML tokens, keeping the path of element names.
type parser struct {
	file  *File
	path  []string
	root  string
	seenP bool // a Participants element was seen

	// the row being read: its line and cells
	inRow   bool
	rowLine int
	cells   []cell
	cur     *cell
	sup     int             // depth inside <superscript>
	text    strings.Builder // text of a header-level element (Status counts, Title)
	header  []cell
	counts  map[string]int
	hasHead bool
}

// cell is an Entry's text and the footnote markers inside it.
type cell struct {
	text      strings.Builder
	footnotes []string
	fn        strings.Builder
}

func (p *parser) at(suffix ...string) bool {
	if len(p.path) < len(suffix) {
		return false
	}
	tail := p.path[len(p.path)-len(suffix):]
	for i := range suffix {
		if !strings.EqualFold(tail[i], suffix[i]) {
			return false
		}
	}
	return true
}

func (p *parser) run(dec *xml.Decoder) error {
	for {
		line, _ := dec.InputPos()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				if p.root == "" && len(p.path) == 0 {
					return &NotStatusFileError{Got: "text that is not XML (" + se.Msg + ")"}
				}
				return &ParseError{Line: se.Line, Reason: "malformed XML: " + se.Msg}
			}
			return &ParseError{Line: line, Reason: err.Error()}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			if p.root == "" {
				p.root = name
				if strings.EqualFold(name, "html") {
					return &NotStatusFileError{Got: "HTML (an <html> document)"}
				}
				if name != "Treaty" {
					return &NotStatusFileError{Got: fmt.Sprintf("an XML document whose root element is <%s>, not <Treaty>", name)}
				}
			}
			p.path = append(p.path, name)
			p.start(name, line)
		case xml.EndElement:
			if err := p.end(t.Name.Local); err != nil {
				return err
			}
			p.path = p.path[:len(p.path)-1]
		case xml.CharData:
			p.chars(string(t))
		}
	}
	return p.finish()
}

var (
	headRow = []string{"Treaty", "Participants", "Table", "TGroup", "Thead", "Row"}
	bodyRow = []string{"Treaty", "Participants", "Table", "TGroup", "Tbody", "Rows", "Row"}
)

func (p *parser) start(name string, line int) {
	switch {
	case p.at("Treaty", "Participants"):
		p.seenP = true
	case p.at(headRow...) || p.at(bodyRow...):
		p.inRow, p.rowLine, p.cells = true, line, nil
	case p.inRow && strings.EqualFold(name, "Entry") && len(p.path) >= 2 && strings.EqualFold(p.path[len(p.path)-2], "Row"):
		p.cells = append(p.cells, cell{})
		p.cur = &p.cells[len(p.cells)-1]
	case p.cur != nil && strings.EqualFold(name, "superscript"):
		p.sup++
		p.cur.fn.Reset()
	case p.cur == nil && !p.inRow:
		p.text.Reset()
	}
}

func (p *parser) chars(s string) {
	switch {
	case p.cur != nil && p.sup > 0:
		p.cur.fn.WriteString(s)
	case p.cur != nil:
		p.cur.text.WriteString(s)
	default:
		p.text.WriteString(s)
	}
}

func (p *parser) end(name string) error {
	switch {
	case p.cur != nil && p.sup > 0 && strings.EqualFold(name, "superscript"):
		p.sup--
		if fn := strings.TrimSpace(p.cur.fn.String()); fn != "" {
			p.cur.footnotes = append(p.cur.footnotes, fn)
		}
		p.cur.text.WriteString(" ")
	case p.cur != nil && strings.EqualFold(name, "Entry"):
		p.cur = nil
	case p.at(headRow...):
		p.inRow = false
		if p.hasHead {
			return &ParseError{Line: p.rowLine, Reason: "a second header row: the table has one row of column names"}
		}
		p.hasHead = true
		p.header = p.cells
		if err := p.columns(); err != nil {
			return err
		}
	case p.at(bodyRow...):
		p.inRow = false
		return p.row()
	case !p.inRow && (p.at("Status", "Signatories") || p.at("Status", "Parties")):
		s := strings.TrimSpace(p.text.String())
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return &ParseError{Reason: fmt.Sprintf("Status/%s is %q, not a count", name, s)}
		}
		if p.counts == nil {
			p.counts = map[string]int{}
		}
		p.counts[name] = n
	case p.file.Title == "" && p.at("Treaty", "Header", "Title"):
		p.file.Title = clean(p.text.String())
	}
	return nil
}

// clean collapses runs of whitespace (tabs and line breaks included)
// into one space and trims the ends.
func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

func (p *parser) finish() error {
	if p.root == "" {
		return &NotStatusFileError{Got: "text that is not XML (no element)"}
	}
	if !p.seenP {
		return &NotStatusFileError{Got: "a <Treaty> document without <Participants>"}
	}
	if !p.hasHead {
		return &ParseError{Reason: "the participants table has no header row (Treaty/Participants/Table/TGroup/Thead/Row)"}
	}
	if n, ok := p.counts["Signatories"]; ok {
		p.file.Signatories = n
		if got := p.count(RoleSignature); got != n {
			p.file.Warnings = append(p.file.Warnings, fmt.Sprintf("the header says %d signatories; the rows show %d signatures", n, got))
		}
	}
	if n, ok := p.counts["Parties"]; ok {
		p.file.Parties = n
		if got := p.count(RoleConsent); got != n {
			p.file.Warnings = append(p.file.Warnings, fmt.Sprintf("the header says %d parties; the rows show %d consents to be bound", n, got))
		}
	}
	return nil
}

// count is the number of rows with an act (not undone) in a column of
// the role.
func (p *parser) count(role Role) int {
	n := 0
	for _, r := range p.file.Rows {
		for _, a := range r.Acts {
			if !a.Undone && p.roleOf(a.Column) == role {
				n++
				break
			}
		}
	}
	return n
}

func (p *parser) roleOf(header string) Role {
	for _, c := range p.file.Columns {
		if c.Header == header {
			return c.Role
		}
	}
	return RoleIgnored
}

// markRE is one item of a header: a name and an optional mark, "Accession(a)".
var markRE = regexp.MustCompile(`^(.*?)\s*(?:\(\s*([A-Za-z]{1,3})\s*\))?$`)

// kindOf is the act an item of a header names; "" for none.
func kindOf(item string) events.Action {
	s := strings.ToLower(item)
	switch {
	case strings.Contains(s, "succession to signature"):
		return events.Signature
	case strings.Contains(s, "definitive signature"):
		return events.DefinitiveSignature
	case strings.Contains(s, "ratification"):
		return events.Ratification
	case strings.Contains(s, "acceptance"):
		return events.Acceptance
	case strings.Contains(s, "approval"):
		return events.Approval
	case strings.Contains(s, "accession"):
		return events.Accession
	case strings.Contains(s, "succession"):
		return events.Succession
	case strings.Contains(s, "signature"):
		return events.Signature
	}
	return ""
}

// defaultMarks are the UNTC's marks, for a header that does not spell
// them out.
func defaultMarks() map[string]events.Action {
	return map[string]events.Action{"A": events.Acceptance, "AA": events.Approval, "a": events.Accession, "d": events.Succession, "s": events.DefinitiveSignature}
}

func (p *parser) columns() error {
	hasName, hasActs := false, false
	for i, c := range p.header {
		h := clean(c.text.String())
		col := Column{Header: h}
		lower := strings.ToLower(h)
		items := strings.Split(h, ",")
		first := strings.ToLower(strings.TrimSpace(items[0]))
		switch {
		case lower == "participant" || lower == "participants" || lower == "state" || lower == "states":
			col.Role = RoleParticipant
			if hasName {
				return &ParseError{Line: p.rowLine, Reason: fmt.Sprintf("column %d is a second Participant column", i+1)}
			}
			hasName = true
		case strings.HasPrefix(lower, "provisional application"):
			col.Role, col.Plain = RoleProvisional, events.ProvisionalApplication
		case kindOf(h) != "":
			col.Role = RoleConsent
			if strings.HasPrefix(first, "signature") {
				col.Role = RoleSignature
			}
			col.Marks = map[string]events.Action{}
			for _, it := range items {
				m := markRE.FindStringSubmatch(strings.TrimSpace(it))
				k := kindOf(m[1])
				switch {
				case k == "":
					p.file.Warnings = append(p.file.Warnings, fmt.Sprintf("column %q: %q is not an act treatywatch records; dates marked with it are refused", h, strings.TrimSpace(it)))
				case m[2] != "":
					col.Marks[m[2]] = k
				case col.Plain == "":
					col.Plain = k
				}
			}
			if col.Role == RoleConsent {
				for mark, k := range defaultMarks() {
					if _, ok := col.Marks[mark]; !ok && k != col.Plain {
						col.Marks[mark] = k
					}
				}
			}
			if col.Plain == "" {
				col.Plain = events.Ratification
				if col.Role == RoleSignature {
					col.Plain = events.Signature
				}
			}
		default:
			col.Role = RoleIgnored
			p.file.Warnings = append(p.file.Warnings, fmt.Sprintf("column %d %q is not imported (treatywatch reads signatures, consents to be bound and provisional application)", i+1, h))
		}
		if col.Role != RoleParticipant && col.Role != RoleIgnored {
			hasActs = true
		}
		p.file.Columns = append(p.file.Columns, col)
	}
	if !hasName {
		return &ParseError{Line: p.rowLine, Reason: "the header has no Participant column"}
	}
	if !hasActs {
		return &ParseError{Line: p.rowLine, Reason: "the header has no column of signatures, consents to be bound or provisional application"}
	}
	return nil
}

func (p *parser) row() error {
	if !p.hasHead {
		return &ParseError{Line: p.rowLine, Reason: "a data row before the header row"}
	}
	if len(p.cells) != len(p.file.Columns) {
		return &ParseError{Line: p.rowLine, Reason: fmt.Sprintf("the row has %d entries; the header has %d columns", len(p.cells), len(p.file.Columns))}
	}
	r := Row{Line: p.rowLine}
	for i, col := range p.file.Columns {
		c := &p.cells[i]
		text := clean(c.text.String())
		switch col.Role {
		case RoleParticipant:
			r.Name, r.Footnotes = text, c.footnotes
			if r.Name == "" {
				return &ParseError{Line: p.rowLine, Reason: "a row without a participant name"}
			}
		case RoleIgnored:
		default:
			if text == "" {
				continue
			}
			a, err := parseCell(text, col)
			if err != nil {
				return &ParseError{Line: p.rowLine, Reason: err.Error()}
			}
			r.Acts = append(r.Acts, a)
		}
	}
	p.file.Rows = append(p.file.Rows, r)
	return nil
}

// dateRE is a date cell: "22 Apr 2016", a mark, brackets.
var dateRE = regexp.MustCompile(`^(\[)?\s*([0-9]{1,2})\s+([A-Za-z]{3,9})\.?\s+([0-9]{4})\s*([A-Za-z]{1,3})?\s*(\])?$`)

func months() map[string]int {
	m := map[string]int{"sept": 9}
	for i, name := range []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"} {
		m[name] = i + 1
		m[name[:3]] = i + 1
	}
	return m
}

// parseCell reads one date cell of a column.
func parseCell(text string, col Column) (Act, error) {
	m := dateRE.FindStringSubmatch(text)
	if m == nil || (m[1] == "") != (m[6] == "") {
		return Act{}, fmt.Errorf("column %q: %q is not a date such as \"22 Apr 2016\" with an optional mark", col.Header, text)
	}
	month, ok := months()[strings.ToLower(m[3])]
	if !ok {
		return Act{}, fmt.Errorf("column %q: %q: unknown month %q", col.Header, text, m[3])
	}
	day, _ := strconv.Atoi(m[2])
	iso := fmt.Sprintf("%s-%02d-%02d", m[4], month, day)
	d, err := events.ParseDate(iso)
	if err != nil {
		return Act{}, fmt.Errorf("column %q: %q: %w", col.Header, text, err)
	}
	a := Act{Action: col.Plain, Date: d, Undone: m[1] != "", Cell: text, Column: col.Header}
	if mark := m[5]; mark != "" {
		k, ok := col.Marks[mark]
		if !ok {
			known := make([]string, 0, len(col.Marks))
			for mk := range col.Marks {
				known = append(known, mk)
			}
			slices.Sort(known)
			return Act{}, fmt.Errorf("column %q: %q: unknown mark %q (this column knows %s)", col.Header, text, mark, orNone(known))
		}
		a.Action = k
	}
	return a, nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// isHTML reports whether data starts (after blanks and an optional XML
// declaration or comment) like an HTML document.
func isHTML(data []byte) bool {
	head := bytes.ToLower(bytes.TrimLeftFunc(data[:min(len(data), 1024)], unicode.IsSpace))
	for _, p := range []string{"<!doctype html", "<html", "<head", "<body"} {
		if bytes.HasPrefix(head, []byte(p)) {
			return true
		}
	}
	return false
}

var titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// htmlTitle is ` (title "...")` for an HTML page with a title, made safe
// to print: one line, at most 80 characters, no control characters.
func htmlTitle(data []byte) string {
	m := titleRE.FindSubmatch(data[:min(len(data), 64<<10)])
	if m == nil {
		return ""
	}
	t := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || !unicode.IsPrint(r) && r != ' ' {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(m[1]), "?"))
	t = clean(t)
	if t == "" {
		return ""
	}
	if r := []rune(t); len(r) > 80 {
		t = string(r[:80]) + "…"
	}
	return fmt.Sprintf(" (title %q)", t)
}

func hasNonASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// latin1Reader decodes ISO-8859-1 into UTF-8: each byte is the code
// point of the same number.
type latin1Reader struct {
	r   *bufio.Reader
	buf []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(l.buf) > 0 {
			c := copy(p[n:], l.buf)
			l.buf, n = l.buf[c:], n+c
			continue
		}
		b, err := l.r.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if b < utf8.RuneSelf {
			p[n] = b
			n++
			continue
		}
		l.buf = utf8.AppendRune(l.buf[:0], rune(b))
	}
	return n, nil
}
