package notifiers

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/treatywatch/treatywatch/events"
)

// Slack's Block Kit limits that Render respects. A message that breaks one
// is refused by Slack with invalid_blocks, so Render cuts texts (rune-safe)
// and truncates digests rather than ever producing one.
const (
	MaxBlocks          = 50   // blocks per message
	MaxHeaderText      = 150  // characters of a header's plain_text
	MaxSectionText     = 3000 // characters of a section's text
	MaxFields          = 10   // fields per section
	MaxFieldText       = 2000 // characters of one section field
	MaxContextElements = 10   // elements of a context block
	MaxFallbackText    = 3000 // characters of the fallback text Render produces
)

// progressWidth is the number of cells of a progress bar.
const progressWidth = 10

// digestLineMax caps one digest line, so that a single long correction
// cannot take a whole section.
const digestLineMax = 500

// Message is a Notice rendered for delivery. Render fills Notice, Text,
// Blocks and ThreadKey; the sender fills ThreadTS and DeliveryID before
// handing the message to a Sink. A Message is a value: sinks never modify
// it.
type Message struct {
	// Notice is what the message is about. The webhook sink sends it as
	// JSON and the console sink renders it with RenderText.
	Notice Notice
	// Text is the plain fallback Slack shows in notifications and in
	// clients that cannot display blocks. &, < and > are escaped as Slack
	// requires; there is no other markup.
	Text string
	// Blocks is the Block Kit body: a header, sections with fields, and a
	// context line with sources. It respects Slack's limits (MaxBlocks...).
	Blocks []slack.Block
	// ThreadKey groups messages that may thread together in one channel:
	// the treaty id, or "" for digests. Follow-ups for one treaty may be
	// posted under the first message sent for that key in a channel.
	ThreadKey string
	// ThreadTS, when not empty, is the Slack ts of the message to reply
	// under (the Receipt.TS of the first message for ThreadKey in that
	// channel). Set by the caller; Render leaves it empty.
	ThreadTS string
	// DeliveryID identifies the delivery this message is sent for, so that
	// webhook receivers can deduplicate retries. Set by the caller.
	DeliveryID int64
}

// Sink delivers rendered messages to one kind of destination. Send
// returns what the destination reports (the Slack ts, for threading) or
// an error that Classify sorts into permanent, rate limited or retryable.
// A Send that fails may still have delivered (a Slack 429 or a timeout can
// follow an accepted post): delivery is at least once at this boundary.
// Implementations are safe for concurrent use.
type Sink interface {
	Send(ctx context.Context, sub events.Subscription, msg Message) (Receipt, error)
}

// Receipt is what a sink reports after a successful Send.
type Receipt struct {
	// TS is the Slack message timestamp (the id to thread replies under);
	// empty for sinks that do not return one (incoming webhooks, generic
	// webhooks, the console).
	TS string
	// Channel is the channel id the message went to, when the sink knows
	// it (Slack returns the id even when the subscription names "#name").
	Channel string
}

// Render turns a notice into a message. It is a pure function: the same
// notice always gives the same message, with no clock and no I/O.
//
// Field conventions by kind: for KindSignatureWindow, Date is the last
// day the treaty is open for signature and DaysLeft the days until then;
// for KindCountdown and KindInForce, EntryIntoForce is the date counted
// down to (Date is used when EntryIntoForce is zero); for KindDigest,
// Digest holds the period, its items and each treaty's progress.
func Render(n Notice) Message {
	m := Message{Notice: n}
	if n.Kind == KindDigest {
		m.Blocks, m.Text = renderDigestBlocks(n)
		return m
	}
	c := buildCard(n, style{slack: true})
	p := buildCard(n, style{})
	m.ThreadKey = n.Treaty
	m.Blocks = c.blocks()
	m.Text = cutPlain(slackEscape(p.title+"\n"+p.lead), MaxFallbackText)
	return m
}

// RenderText renders a notice as plain text for the console: a title
// line, the explanation, aligned fields, and the sources. Digests are
// rendered in full (the console has no size limit).
func RenderText(n Notice) string {
	if n.Kind == KindDigest {
		return renderDigestText(n)
	}
	c := buildCard(n, style{})
	var b strings.Builder
	b.WriteString(c.title)
	b.WriteByte('\n')
	if c.lead != "" {
		b.WriteString(c.lead)
		b.WriteByte('\n')
	}
	width := 0
	for _, f := range c.fields {
		width = max(width, utf8.RuneCountInString(f.label))
	}
	for _, f := range c.fields {
		value := strings.ReplaceAll(f.value, "\n", "\n  "+strings.Repeat(" ", width+2))
		fmt.Fprintf(&b, "  %s%s  %s\n", f.label, strings.Repeat(" ", width-utf8.RuneCountInString(f.label)), value)
	}
	if len(c.context) > 0 {
		b.WriteString(strings.Join(c.context, " · "))
		b.WriteByte('\n')
	}
	return b.String()
}

// ProgressBar draws a treaty's progress towards its threshold in text:
// "▓▓▓▓▓▓▓░░░ 28 of 40 — 12 to go", "▓▓▓▓▓▓▓▓▓▓ 40 of 40 — threshold
// reached", or "3 counted" when no threshold is known. The bar has ten
// cells and is full only when the threshold is reached.
func ProgressBar(counted, required int) string {
	if required <= 0 {
		return fmt.Sprintf("%d counted", counted)
	}
	filled := min(progressWidth, max(0, counted)*progressWidth/required)
	bar := strings.Repeat("▓", filled) + strings.Repeat("░", progressWidth-filled)
	if counted >= required {
		return fmt.Sprintf("%s %d of %d — threshold reached", bar, counted, required)
	}
	return fmt.Sprintf("%s %d of %d — %d to go", bar, counted, required, required-counted)
}

// style formats text for one medium: Slack mrkdwn or plain text.
type style struct{ slack bool }

// esc makes user-provided text safe in the medium.
func (s style) esc(v string) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	if s.slack {
		return slackEscape(v)
	}
	return v
}

func (s style) bold(v string) string {
	if s.slack && v != "" {
		return "*" + s.esc(v) + "*"
	}
	return s.esc(v)
}

func (s style) italic(v string) string {
	if s.slack && v != "" {
		return "_" + s.esc(v) + "_"
	}
	return s.esc(v)
}

// link renders a source: a URL, optionally followed by a comment
// ("https://… ('firmó este sábado')"). In Slack the URL becomes a link
// labelled with its host.
func (s style) link(src string) string {
	src = strings.TrimSpace(src)
	if !s.slack {
		return s.esc(src)
	}
	raw, rest, _ := strings.Cut(src, " ")
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return s.esc(src)
	}
	target := strings.NewReplacer("&", "&amp;", "<", "%3C", ">", "%3E", "|", "%7C").Replace(raw)
	out := "<" + target + "|" + s.esc(u.Host) + ">"
	if rest = strings.TrimSpace(rest); rest != "" {
		out += " " + s.esc(rest)
	}
	return out
}

func slackEscape(v string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(v)
}

// card is a rendered notice before it takes a medium's shape.
type card struct {
	title   string // plain text
	lead    string // styled
	fields  []field
	context []string // styled
}

// field is one labelled value; the label is plain, the value styled.
type field struct{ label, value string }

func (c *card) add(label, value string) {
	if value != "" {
		c.fields = append(c.fields, field{label, value})
	}
}

// blocks lays a card out as Block Kit: header, section (lead and
// fields, ten at a time), context.
func (c card) blocks() []slack.Block {
	blocks := []slack.Block{header(c.title)}
	var fields []*slack.TextBlockObject
	for _, f := range c.fields {
		fields = append(fields, mrkdwn(cutMrkdwn("*"+slackEscape(f.label)+"*\n"+f.value, MaxFieldText)))
	}
	var text *slack.TextBlockObject
	if c.lead != "" {
		text = mrkdwn(cutMrkdwn(c.lead, MaxSectionText))
	}
	for text != nil || len(fields) > 0 {
		n := min(len(fields), MaxFields)
		blocks = append(blocks, slack.NewSectionBlock(text, fields[:n:n], nil))
		text, fields = nil, fields[n:]
	}
	if len(c.context) > 0 {
		blocks = append(blocks, contextBlock(c.context...))
	}
	return blocks
}

func header(title string) *slack.HeaderBlock {
	return slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, cutPlain(title, MaxHeaderText), true, false))
}

func mrkdwn(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, false)
}

func contextBlock(elements ...string) *slack.ContextBlock {
	var mixed []slack.MixedElement
	for _, e := range elements[:min(len(elements), MaxContextElements)] {
		mixed = append(mixed, mrkdwn(cutMrkdwn(e, MaxSectionText)))
	}
	return slack.NewContextBlock("", mixed...)
}

// buildCard says what a notice means, in one style.
func buildCard(n Notice, st style) card {
	var c card
	treaty := treatyName(n)
	// "the Hanoi Convention" in a sentence, "The Hanoi Convention" to open one.
	object := st.bold(treaty)
	switch {
	case n.TreatyName == "" && n.Treaty != "":
		object = "treaty " + object
	case !strings.HasPrefix(strings.ToLower(treaty), "the "):
		object = "the " + object
	}
	subject := strings.ToUpper(object[:1]) + object[1:]
	who := st.bold(n.Participant)
	date := formatDate(n.Date)
	progress := ""
	if n.Required > 0 {
		progress = ProgressBar(n.Counted, n.Required)
	}
	act := n.Action.Label()
	headline := ""
	switch n.Kind {
	case KindDeposit:
		headline = byWhom(act, n.Participant, "Deposit")
		c.lead = fmt.Sprintf("%s %s on %s.", who, depositPhrase(n.Action), st.esc(date))
		if n.Required > 0 && n.Counted == n.Required {
			c.lead += fmt.Sprintf("\nThis is the %s instrument: the threshold is reached.", ordinal(n.Required))
			if !n.EntryIntoForce.IsZero() {
				c.lead += fmt.Sprintf(" %s enters into force on %s.", subject, st.bold(formatDate(n.EntryIntoForce)))
			}
		}
		c.add("Participant", st.esc(n.Participant))
		c.add("Instrument", st.esc(act))
		c.add("Date of deposit", st.esc(date))
		c.add("Depositary reference", st.esc(n.Reference))
		c.add("Progress", progress)
		c.add("Entry into force", st.esc(formatDate(n.EntryIntoForce)))
	case KindSignature:
		headline = byWhom("Signature", n.Participant, "Signature")
		c.lead = fmt.Sprintf("%s signed %s on %s.", who, object, st.esc(date))
		c.add("Participant", st.esc(n.Participant))
		c.add("Act", st.esc(act))
		c.add("Date of signature", st.esc(date))
		c.add("Depositary reference", st.esc(n.Reference))
		c.add("Instruments deposited", progress)
	case KindAct:
		headline = byWhom(act, n.Participant, "Act")
		c.lead = fmt.Sprintf("%s %s on %s.", who, actPhrase(n.Action), st.esc(date))
		c.lead = joinLines(c.lead, st.esc(n.Text))
		c.add("Participant", st.esc(n.Participant))
		c.add("Act", st.esc(act))
		c.add("Date", st.esc(date))
		c.add("Depositary reference", st.esc(n.Reference))
		c.add("Instruments deposited", progress)
	case KindMilestone:
		headline = fmt.Sprintf("%d%% of the threshold reached", n.Percent)
		c.lead = fmt.Sprintf("%s now has %s of the %d instruments it needs to enter into force.", subject, st.bold(fmt.Sprint(n.Counted)), n.Required)
		c.lead = joinLines(c.lead, latest(n, st))
		c.add("Progress", progress)
		c.add("Latest instrument", st.esc(latestAct(n)))
		c.add("Date of deposit", st.esc(date))
		c.add("Depositary reference", st.esc(n.Reference))
	case KindToGo:
		left := n.Remaining()
		headline = fmt.Sprintf("%d to go", left)
		c.lead = fmt.Sprintf("%s needs %s to enter into force (%d of %d deposited).", subject, st.bold(plural(left, "more instrument")), n.Counted, n.Required)
		c.lead = joinLines(c.lead, latest(n, st))
		c.add("Progress", progress)
		c.add("Latest instrument", st.esc(latestAct(n)))
		c.add("Date of deposit", st.esc(date))
		c.add("Depositary reference", st.esc(n.Reference))
	case KindThreshold:
		headline = "Threshold reached"
		eif := formatDate(n.EntryIntoForce)
		if eif != "" {
			headline += " — in force on " + eif
		}
		if n.Participant != "" {
			c.lead = fmt.Sprintf("The %s instrument was deposited by %s on %s.", ordinal(n.Required), who, st.esc(date))
		} else {
			c.lead = fmt.Sprintf("The %s instrument has been deposited.", ordinal(n.Required))
		}
		if eif != "" {
			c.lead += fmt.Sprintf(" %s enters into force on %s.", subject, st.bold(eif))
		}
		c.add("Progress", progress)
		c.add("Completed by", st.esc(latestAct(n)))
		c.add("Date of deposit", st.esc(date))
		c.add("Depositary reference", st.esc(n.Reference))
		c.add("Entry into force", st.esc(eif))
	case KindInForce:
		eif := formatDate(eventDay(n))
		headline = "Enters into force today"
		c.lead = fmt.Sprintf("%s enters into force today, %s.", subject, st.bold(eif))
		if n.Counted > 0 {
			c.lead += fmt.Sprintf(" %s counted towards its entry into force.", plural(n.Counted, "instrument"))
		}
		c.add("Entry into force", st.esc(eif))
		c.add("Progress", progress)
	case KindCountdown:
		eif := formatDate(eventDay(n))
		headline = fmt.Sprintf("%s to entry into force", plural(n.DaysLeft, "day"))
		c.lead = fmt.Sprintf("%s enters into force on %s — in %s.", subject, st.bold(eif), plural(n.DaysLeft, "day"))
		c.add("Entry into force", st.esc(eif))
		c.add("Days left", fmt.Sprint(n.DaysLeft))
		c.add("Progress", progress)
	case KindSignatureWindow:
		headline = fmt.Sprintf("Signature closes in %s", plural(n.DaysLeft, "day"))
		c.lead = fmt.Sprintf("%s is open for signature until %s — %s left.", subject, st.bold(date), plural(n.DaysLeft, "day"))
		c.add("Last day for signature", st.esc(date))
		c.add("Days left", fmt.Sprint(n.DaysLeft))
		c.add("Instruments deposited", progress)
	case KindProtocol:
		headline = act
		if n.Action == "" {
			headline = "Protocol"
		}
		verb := "was recorded"
		switch n.Action {
		case events.ProtocolProposed:
			verb = "was proposed"
		case events.ProtocolAdopted:
			verb = "was adopted"
		default:
		}
		c.lead = fmt.Sprintf("A protocol to %s %s on %s", object, verb, st.esc(date))
		if n.Participant != "" {
			c.lead += " by " + who
		}
		c.lead = joinLines(c.lead+".", st.esc(n.Text))
		c.add("Act", st.esc(act))
		c.add("Date", st.esc(date))
		c.add("By", st.esc(n.Participant))
		c.add("Depositary reference", st.esc(n.Reference))
	case KindCorrection:
		headline = "Correction"
		if n.Participant != "" {
			headline += ": " + byWhom(act, n.Participant, "act")
		}
		c.lead = joinLines("A recorded act was corrected.", whatChanged(n, st))
		c.add("Participant", st.esc(n.Participant))
		c.add("Act", st.esc(act))
		c.add("Date", st.esc(date))
		c.add("Depositary reference", st.esc(n.Reference))
		c.add("Progress", progress)
	case KindRetraction:
		headline = "Retraction"
		if n.Participant != "" {
			headline += ": " + byWhom(act, n.Participant, "act")
		}
		c.lead = joinLines("A recorded act was retracted: the treaty's standing no longer takes it into account.", whatChanged(n, st))
		c.add("Participant", st.esc(n.Participant))
		c.add("Act", st.esc(act))
		c.add("Date", st.esc(date))
		c.add("Depositary reference", st.esc(n.Reference))
		c.add("Progress", progress)
	default:
		headline = n.Kind
		c.lead = st.esc(n.Text)
		c.add("Progress", progress)
	}
	c.title = treaty + ": " + headline
	if n.Source != "" {
		c.context = append(c.context, "Source: "+st.link(n.Source))
	}
	if n.Treaty != "" {
		c.context = append(c.context, "Treaty "+st.esc(n.Treaty))
	}
	if n.Position > 0 {
		c.context = append(c.context, fmt.Sprintf("Ledger position %d", n.Position))
	}
	return c
}

// headline is the short title of a notice without its treaty, for digest
// lines.
func headline(n Notice) string {
	t := buildCard(n, style{}).title
	return strings.TrimPrefix(t, treatyName(n)+": ")
}

func treatyName(n Notice) string {
	if n.TreatyName != "" {
		return n.TreatyName
	}
	if n.Treaty != "" {
		return n.Treaty
	}
	return "Treaty"
}

func byWhom(what, who, fallback string) string {
	if what == "" {
		what = fallback
	}
	if who == "" {
		return what
	}
	return what + " by " + who
}

// latestAct names the act a progress notice follows ("Ratification by
// Viet Nam"), or "".
func latestAct(n Notice) string {
	if n.Participant == "" {
		return ""
	}
	return byWhom(n.Action.Label(), n.Participant, "Deposit")
}

func latest(n Notice, st style) string {
	if n.Participant == "" {
		return ""
	}
	return fmt.Sprintf("Latest: %s on %s.", st.esc(latestAct(n)), st.esc(formatDate(n.Date)))
}

func whatChanged(n Notice, st style) string {
	if n.Text == "" {
		return ""
	}
	return "What changed: " + st.esc(n.Text)
}

// eventDay is the date a countdown or in-force notice is about.
func eventDay(n Notice) events.Date {
	if !n.EntryIntoForce.IsZero() {
		return n.EntryIntoForce
	}
	return n.Date
}

func depositPhrase(a events.Action) string {
	switch a {
	case events.DefinitiveSignature:
		return "signed definitively"
	case events.Succession:
		return "deposited a notification of succession"
	case "":
		return "deposited an instrument"
	default:
	}
	if a.IsConsent() {
		return "deposited an instrument of " + strings.ToLower(a.Label())
	}
	return "deposited: " + strings.ToLower(a.Label())
}

func actPhrase(a events.Action) string {
	switch a {
	case events.Declaration:
		return "made a declaration"
	case events.Reservation:
		return "made a reservation"
	case events.ReservationWithdrawn:
		return "withdrew a reservation"
	case events.Objection:
		return "lodged an objection"
	case events.TerritorialApplication:
		return "notified a territorial application"
	case events.Denunciation:
		return "notified its denunciation"
	case events.IntentAnnounced:
		return "announced its intent to join (unofficial, not a deposit)"
	case events.ParliamentaryApproval:
		return "completed parliamentary approval (unofficial, not a deposit)"
	case "":
		return "acted"
	default:
		return "recorded: " + strings.ToLower(a.Label())
	}
}

func joinLines(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}

// formatDate writes a date the way a depositary does: "25 October 2025".
func formatDate(d events.Date) string {
	if d.IsZero() {
		return ""
	}
	y, m, day := d.YMD()
	return fmt.Sprintf("%d %s %d", day, m, y)
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
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

// digestGroup is one treaty's part of a digest: its standing and the
// items of the period that concern it.
type digestGroup struct {
	treaty, name string
	progress     *Progress
	items        []Notice
}

// digestGroups orders a digest by treaty: the treaties of Progress first,
// in their order, then any other treaty an item mentions, in log order.
func digestGroups(d *Digest) []digestGroup {
	var groups []digestGroup
	index := map[string]int{}
	for i := range d.Progress {
		p := &d.Progress[i]
		if _, ok := index[p.Treaty]; ok {
			continue
		}
		index[p.Treaty] = len(groups)
		groups = append(groups, digestGroup{treaty: p.Treaty, name: p.TreatyName, progress: p})
	}
	for _, it := range d.Items {
		i, ok := index[it.Treaty]
		if !ok {
			i = len(groups)
			index[it.Treaty] = i
			groups = append(groups, digestGroup{treaty: it.Treaty, name: it.TreatyName})
		}
		groups[i].items = append(groups[i].items, it)
	}
	return groups
}

// heading is a group's title and standing.
func (g digestGroup) heading(st style) string {
	name := g.name
	if name == "" {
		name = g.treaty
	}
	lines := []string{st.bold(name)}
	if g.treaty != "" && g.treaty != name {
		lines[0] += " (" + st.esc(g.treaty) + ")"
	}
	counted, required, eif, inForce := 0, 0, events.Date{}, false
	if p := g.progress; p != nil {
		counted, required, eif, inForce = p.Counted, p.Required, p.EntryIntoForce, p.InForce
	} else if len(g.items) > 0 {
		last := g.items[len(g.items)-1]
		counted, required, eif = last.Counted, last.Required, last.EntryIntoForce
	}
	if required > 0 {
		lines = append(lines, ProgressBar(counted, required))
	}
	switch {
	case inForce && !eif.IsZero():
		lines = append(lines, "In force since "+formatDate(eif))
	case inForce:
		lines = append(lines, "In force")
	case !eif.IsZero():
		lines = append(lines, "Enters into force on "+formatDate(eif))
	}
	if len(g.items) == 0 {
		lines = append(lines, st.italic("No new acts in this period."))
	}
	return strings.Join(lines, "\n")
}

// digestLine is one item of a digest on one line.
func digestLine(n Notice, st style) string {
	var b strings.Builder
	b.WriteString("• ")
	if d := formatDate(n.Date); d != "" {
		b.WriteString(st.esc(d) + " · ")
	}
	b.WriteString(st.esc(headline(n)))
	if n.Kind == KindDeposit && n.Required > 0 {
		fmt.Fprintf(&b, " (%d of %d)", n.Counted, n.Required)
	}
	if n.Text != "" {
		b.WriteString(" — " + st.esc(n.Text))
	}
	if n.Source != "" {
		b.WriteString(" · " + st.link(n.Source))
	}
	if st.slack {
		return cutMrkdwn(b.String(), digestLineMax)
	}
	return b.String()
}

func digestTitle(n Notice) string {
	title := "treatywatch digest"
	if d := n.Digest; d != nil && !d.Until.IsZero() {
		title += " — " + formatDate(events.DateOf(d.Until))
	}
	return title
}

func digestSummary(d *Digest, groups []digestGroup) string {
	const layout = "2 January 2006 15:04 MST"
	var parts []string
	switch {
	case !d.Since.IsZero() && !d.Until.IsZero():
		parts = append(parts, "From "+d.Since.Format(layout)+" to "+d.Until.Format(layout))
	case !d.Until.IsZero():
		parts = append(parts, "Until "+d.Until.Format(layout))
	}
	treaties := "treaties"
	if len(groups) == 1 {
		treaties = "treaty"
	}
	parts = append(parts, fmt.Sprintf("%s on %d %s", plural(len(d.Items), "update"), len(groups), treaties))
	return strings.Join(parts, " · ")
}

// renderDigestBlocks lays a digest out within MaxBlocks: a header, the
// period, then each treaty's standing and items packed into sections of
// at most MaxSectionText characters. When blocks run short, every
// treaty's standing is kept before further items; what does not fit is
// counted on a final "…and N more" line.
func renderDigestBlocks(n Notice) ([]slack.Block, string) {
	d := n.Digest
	if d == nil {
		d = &Digest{}
	}
	groups := digestGroups(d)
	title := digestTitle(n)
	summary := digestSummary(d, groups)
	blocks := []slack.Block{header(title), contextBlock(slackEscape(summary))}
	if len(groups) == 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn("_Nothing new in this period._"), nil, nil))
	}
	// Every treaty's standing comes first in the allocation: each group
	// gets its first section (heading and first items) while blocks last,
	// then the rest of the blocks go to further items, in order.
	chunks := make([][]section, len(groups))
	for i, g := range groups {
		units := []string{g.heading(style{slack: true})}
		for _, it := range g.items {
			units = append(units, digestLine(it, style{slack: true}))
		}
		chunks[i] = packSections(units)
	}
	budget := MaxBlocks - len(blocks) - 1 // one block stays free for "…and N more"
	alloc := make([]int, len(groups))
	for i := range groups {
		if budget == 0 {
			break
		}
		alloc[i], budget = 1, budget-1
	}
	for i := range groups {
		if alloc[i] == 0 {
			break
		}
		extra := min(budget, len(chunks[i])-1)
		alloc[i], budget = alloc[i]+extra, budget-extra
	}
	shownItems, shownGroups := 0, 0
	for i := range groups {
		if alloc[i] == 0 {
			break
		}
		shownGroups++
		shownItems-- // the heading is not an item
		for _, ch := range chunks[i][:alloc[i]] {
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(ch.text), nil, nil))
			shownItems += ch.units
		}
	}
	hiddenItems, hiddenGroups := len(d.Items)-shownItems, len(groups)-shownGroups
	if hiddenItems > 0 || hiddenGroups > 0 {
		var more []string
		if hiddenItems > 0 {
			more = append(more, plural(hiddenItems, "more update"))
		}
		if hiddenGroups == 1 {
			more = append(more, "1 more treaty")
		} else if hiddenGroups > 1 {
			more = append(more, fmt.Sprintf("%d more treaties", hiddenGroups))
		}
		blocks = append(blocks, contextBlock("…and "+strings.Join(more, " and ")+" not shown here."))
	}
	text := cutPlain(slackEscape(title+": "+summary), MaxFallbackText)
	return blocks, text
}

// section is the text of one section block and how many units it holds.
type section struct {
	text  string
	units int
}

// packSections joins lines into as few sections as fit MaxSectionText,
// in order; a line too long on its own is cut.
func packSections(lines []string) []section {
	var out []section
	var cur section
	size := 0
	for _, l := range lines {
		l = cutMrkdwn(l, MaxSectionText)
		n := utf8.RuneCountInString(l)
		if cur.units > 0 && size+1+n > MaxSectionText {
			out = append(out, cur)
			cur, size = section{}, 0
		}
		if cur.units > 0 {
			cur.text += "\n"
			size++
		}
		cur.text += l
		cur.units++
		size += n
	}
	if cur.units > 0 {
		out = append(out, cur)
	}
	return out
}

// renderDigestText renders a whole digest as plain text.
func renderDigestText(n Notice) string {
	d := n.Digest
	if d == nil {
		d = &Digest{}
	}
	groups := digestGroups(d)
	var b strings.Builder
	b.WriteString(digestTitle(n) + "\n")
	b.WriteString(digestSummary(d, groups) + "\n")
	if len(groups) == 0 {
		b.WriteString("Nothing new in this period.\n")
	}
	for _, g := range groups {
		b.WriteByte('\n')
		b.WriteString(g.heading(style{}) + "\n")
		for _, it := range g.items {
			b.WriteString("  " + digestLine(it, style{}) + "\n")
		}
	}
	return b.String()
}
