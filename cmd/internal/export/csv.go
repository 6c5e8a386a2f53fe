package export

import (
	"encoding/csv"
	"io"
)

// CSV writes RFC 4180 CSV (quoted where needed, UTF-8, "\n" line ends)
// whose cells are safe to open in a spreadsheet: a cell that starts with
// =, +, -, @, a tab or a carriage return, which Excel, LibreOffice and
// Google Sheets would evaluate as a formula ("=HYPERLINK(...)"), is
// prefixed with an apostrophe, the spreadsheets' own "this is text" mark
// (OWASP's advice on CSV injection). Not safe for concurrent use.
type CSV struct {
	w    *csv.Writer
	cell []string
}

// NewCSV returns a CSV writer on w.
func NewCSV(w io.Writer) *CSV { return &CSV{w: csv.NewWriter(w)} }

// Write writes one record, its cells neutralised.
func (c *CSV) Write(record []string) error {
	c.cell = c.cell[:0]
	for _, s := range record {
		c.cell = append(c.cell, Cell(s))
	}
	return c.w.Write(c.cell)
}

// Flush writes any buffered data and returns the first error of any
// Write or of the flush.
func (c *CSV) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// Cell returns s as a spreadsheet will show it as text: unchanged unless
// it starts with a character that makes it a formula, then with an
// apostrophe before it.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
