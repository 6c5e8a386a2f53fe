package notifiers

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Slack's Block Kit limits that SlackMessage respects. A message that
// breaks one is refused by Slack with invalid_blocks, so SlackMessage cuts
// texts (rune-safe) and truncates digests rather than ever producing one.
const (
	MaxBlocks          = 50   // blocks per message
	MaxHeaderText      = 150  // characters of a header's plain_text
	MaxSectionText     = 3000 // characters of a section's text
	MaxFields          = 10   // fields per section
	MaxFieldText       = 2000 // characters of one section field
	MaxContextElements = 10   // elements of a context block
	MaxFallbackText    = 3000 // characters of the fallback text SlackMessage produces
)

// SlackMessage lays a card out as a Slack message: Block Kit blocks within
// Slack's limits (MaxBlocks...) and the plain fallback text Slack shows
// in notifications and in clients that cannot display blocks — the
// card's Summary, or its title and lead (a digest: its title and period)
// — with &, < and > escaped as Slack requires and no other markup. It is the one place that
// builds Block Kit: the Slack sinks post it, `notify preview --json`
// prints it, the slash command answers with it.
//
// A notice's card becomes a header (its Title), sections holding its Lead
// and its Fields ten at a time, and a context line (its Context). A
// digest's card becomes a header, its period, then each treaty's standing
// and items packed into sections (see slackDigest). A card with no Title
// has no header.
func SlackMessage(c Card) slack.Msg {
	var blocks []slack.Block
	var fallback string
	if c.Kind == KindDigest {
		blocks, fallback = slackDigest(c)
	} else {
		blocks, fallback = slackCard(c)
	}
	return slack.Msg{Text: fallback, Blocks: slack.Blocks{BlockSet: blocks}}
}

// slackCard lays a card out as header, section (lead and fields, ten at
// a time), context.
func slackCard(c Card) ([]slack.Block, string) {
	var blocks []slack.Block
	if c.Title != "" {
		blocks = append(blocks, header(c.Title))
	}
	var fields []*slack.TextBlockObject
	for _, f := range c.Fields {
		fields = append(fields, mrkdwn(cutMrkdwn("*"+slackEscape(f.Label)+"*\n"+slackEscape(f.Value), MaxFieldText)))
	}
	var lead *slack.TextBlockObject
	if l := slackText(c.Lead); l != "" {
		lead = mrkdwn(cutMrkdwn(l, MaxSectionText))
	}
	for lead != nil || len(fields) > 0 {
		n := min(len(fields), MaxFields)
		blocks = append(blocks, slack.NewSectionBlock(lead, fields[:n:n], nil))
		lead, fields = nil, fields[n:]
	}
	if len(c.Context) > 0 {
		blocks = append(blocks, contextBlock(c.Context...))
	}
	return blocks, slackFallback(c, c.Title+"\n"+c.Lead.Plain())
}

// slackFallback is the text Slack shows where blocks are not: the card's
// Summary, or else what a layout gives (for a card with no title, its
// lead), escaped and cut to MaxFallbackText.
func slackFallback(c Card, layout string) string {
	switch {
	case c.Summary != "":
		layout = c.Summary
	case c.Title == "":
		layout = c.Lead.Plain()
	}
	return cutPlain(slackEscape(layout), MaxFallbackText)
}

// slackText writes rich text as Slack mrkdwn: &, < and > escaped, Strong
// as *bold*, Emphasis as _italic_, Code as `code`, and a Link's URL as a
// link labelled with its host. Empty spans write nothing.
func slackText(t Text) string {
	var b strings.Builder
	for _, s := range t {
		if s.Text == "" {
			continue
		}
		switch s.Style {
		case Strong:
			b.WriteString("*" + slackEscape(s.Text) + "*")
		case Emphasis:
			b.WriteString("_" + slackEscape(s.Text) + "_")
		case Code:
			b.WriteString("`" + slackEscape(s.Text) + "`")
		case Link:
			b.WriteString(slackLink(s.Text))
		default:
			b.WriteString(slackEscape(s.Text))
		}
	}
	return b.String()
}

// slackLink writes a source: a URL, optionally followed by a comment
// ("https://… ('firmó este sábado')"). An http or https URL becomes a
// link labelled with its host; anything else is text.
func slackLink(src string) string {
	raw, rest, _ := strings.Cut(src, " ")
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return slackEscape(src)
	}
	target := strings.NewReplacer("&", "&amp;", "<", "%3C", ">", "%3E", "|", "%7C").Replace(raw)
	out := "<" + target + "|" + slackEscape(u.Host) + ">"
	if rest = strings.TrimSpace(rest); rest != "" {
		out += " " + slackEscape(rest)
	}
	return out
}

// slackEscape escapes the three characters Slack's mrkdwn and fallback
// text reserve.
func slackEscape(v string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(v)
}

func header(title string) *slack.HeaderBlock {
	return slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, cutPlain(title, MaxHeaderText), true, false))
}

func mrkdwn(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, false)
}

// contextBlock is a context line of at most MaxContextElements elements.
func contextBlock(lines ...Text) *slack.ContextBlock {
	var mixed []slack.MixedElement
	for _, l := range lines[:min(len(lines), MaxContextElements)] {
		mixed = append(mixed, mrkdwn(cutMrkdwn(slackText(l), MaxSectionText)))
	}
	return slack.NewContextBlock("", mixed...)
}

// cutPlain cuts s to at most limit runes, ending with "…" when cut.
func cutPlain(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	return prefixRunes(s, limit-1) + "…"
}

// cutMrkdwn is cutPlain for Slack mrkdwn: it never leaves half an escape
// ("&am") or half a link ("<https://…") at the cut.
func cutMrkdwn(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	cut := prefixRunes(s, limit-1)
	if i := strings.LastIndexByte(cut, '<'); i >= 0 && !strings.Contains(cut[i:], ">") {
		cut = cut[:i]
	}
	if i := strings.LastIndexByte(cut, '&'); i >= 0 && !strings.Contains(cut[i:], ";") {
		cut = cut[:i]
	}
	return cut + "…"
}

// prefixRunes returns the first n runes of s.
func prefixRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
