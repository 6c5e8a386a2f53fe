package notifiers

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// PlainText lays a card out as plain text, as the console prints it and
// the webhook sends it in its text field. A notice's card gives a title
// line, the lead, the fields in aligned columns and the context on one
// line; a digest's card gives the title, the period, and each treaty's
// standing followed by all its items (plain text has no size limit).
// Styles are dropped: only the words remain.
func PlainText(c Card) string {
	if c.Kind == KindDigest {
		return plainDigest(c)
	}
	var b strings.Builder
	if c.Title != "" {
		b.WriteString(c.Title)
		b.WriteByte('\n')
	}
	if lead := c.Lead.Plain(); lead != "" {
		b.WriteString(lead)
		b.WriteByte('\n')
	}
	width := 0
	for _, f := range c.Fields {
		width = max(width, utf8.RuneCountInString(f.Label))
	}
	for _, f := range c.Fields {
		value := strings.ReplaceAll(f.Value, "\n", "\n  "+strings.Repeat(" ", width+2))
		fmt.Fprintf(&b, "  %s%s  %s\n", f.Label, strings.Repeat(" ", width-utf8.RuneCountInString(f.Label)), value)
	}
	if len(c.Context) > 0 {
		lines := make([]string, len(c.Context))
		for i, l := range c.Context {
			lines[i] = l.Plain()
		}
		b.WriteString(strings.Join(lines, " · "))
		b.WriteByte('\n')
	}
	return b.String()
}

// plainDigest writes a digest's card in full.
func plainDigest(c Card) string {
	var b strings.Builder
	b.WriteString(c.Title + "\n")
	for _, l := range c.Context {
		b.WriteString(l.Plain() + "\n")
	}
	if lead := c.Lead.Plain(); lead != "" {
		b.WriteString(lead + "\n")
	}
	for _, g := range c.Groups {
		b.WriteByte('\n')
		b.WriteString(g.Heading.Plain() + "\n")
		for _, it := range g.Items {
			b.WriteString("  " + it.Plain() + "\n")
		}
	}
	return b.String()
}

// RenderText renders a notice as plain text: PlainText of its card.
func RenderText(n Notice) string { return PlainText(CardOf(n)) }
