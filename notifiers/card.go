package notifiers

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// Card is what a message says, before any sink gives it a form: a title,
// a lead, labelled facts and footnotes, in no sink's syntax. CardOf builds
// one from a Notice; the Slack adapter lays it out as Block Kit
// (SlackMessage) and the console and webhook sinks as plain text
// (PlainText). Every string in a card is valid UTF-8 and unescaped: a sink
// escapes what its format needs.
//
// A notice's card reads top to bottom: Title, Lead, Fields, Context. A
// digest's card (Kind KindDigest) puts its period in Context, right under
// the Title, then Lead (a remark when the period is empty), then one Group
// per treaty.
type Card struct {
	// Kind says what the card is about: the kind of the notice it was
	// built from (KindDeposit, …, KindDigest), or "" for a card that
	// comes from no notice (StatusCard).
	Kind string
	// Title is one line of plain text naming the treaty and what happened
	// ("Hanoi Convention: Ratification by Viet Nam").
	Title string
	// Headline is Title without the treaty's name ("Ratification by Viet
	// Nam"), for lists of notices such as digests; "" for a digest's or a
	// status's card.
	Headline string
	// Lead says what happened, in sentences; lines are separated by "\n".
	Lead Text
	// Fields are the facts, labelled, in order. No value is empty.
	Fields []Field
	// Context holds footnote lines: where the news comes from (a Link
	// span), the treaty id, the ledger position; for a digest, its period.
	Context []Text
	// Summary, when set, is the card in one short line of plain text, for
	// where it cannot be shown whole (Slack's notification text); when
	// empty, sinks use the Title and the Lead.
	Summary string
	// Counted and Required are the progress figures after the event:
	// the instruments that count towards entry into force and the number
	// required (0 when not known). ProgressBar draws them.
	Counted, Required int
	// Groups are a digest's treaties, in order; empty for other cards.
	Groups []Group
}

// Field is one labelled fact of a card ("Date of deposit", "15 September
// 2026"). Label and Value are plain text; a value may span lines.
type Field struct {
	Label string
	Value string
}

// Group is one treaty's part of a digest: its standing and the items of
// the period that concern it.
type Group struct {
	// Treaty is the treaty's id.
	Treaty string
	// Heading names the treaty and gives its standing, one fact a line:
	// name and id, progress, entry into force, and a remark when the
	// period brought nothing.
	Heading Text
	// Items are the period's notices about the treaty, one line each:
	// date, headline, count, what changed, source.
	Items []Text
	// Counted and Required are the treaty's progress figures at the end
	// of the period (Required 0: not known).
	Counted, Required int
}

// Style is how a Span is set. A sink shows the styles it can (Slack:
// *bold*, _italic_, `code`, links) and the words alone otherwise.
type Style string

// The styles of a Span.
const (
	Plain    Style = ""         // the words as they are
	Strong   Style = "strong"   // what the sentence is about: a participant, a treaty, a date
	Emphasis Style = "emphasis" // an aside ("No new acts in this period.")
	Code     Style = "code"     // literal text: a command to type, a progress bar
	// Link is a source as recorded: a URL, optionally followed by a
	// space and a comment ("https://… (first signatory)"), or any other
	// reference. A sink that can make links makes the URL one.
	Link Style = "link"
)

// Span is a run of text in one style.
type Span struct {
	Text  string
	Style Style
}

// Text is sink-neutral rich text: spans in order, lines separated by "\n"
// inside spans. The zero Text is empty.
type Text []Span

// Plain returns the words of t alone, as plain text shows them.
func (t Text) Plain() string {
	var b strings.Builder
	for _, s := range t {
		b.WriteString(s.Text)
	}
	return b.String()
}

// text joins strings (plain), Spans and Texts into one Text, merging
// neighbouring plain runs and dropping empty spans. Other values are
// written with fmt.Sprint.
func text(parts ...any) Text {
	var t Text
	add := func(s Span) {
		switch {
		case s.Text == "":
		case s.Style == Plain && len(t) > 0 && t[len(t)-1].Style == Plain:
			t[len(t)-1].Text += s.Text
		default:
			t = append(t, s)
		}
	}
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			add(Span{Text: v})
		case Span:
			add(v)
		case Text:
			for _, s := range v {
				add(s)
			}
		default:
			add(Span{Text: fmt.Sprint(v)})
		}
	}
	return t
}

func strong(s string) Span   { return Span{Text: s, Style: Strong} }
func emphasis(s string) Span { return Span{Text: s, Style: Emphasis} }
func code(s string) Span     { return Span{Text: s, Style: Code} }

// link is a source span: the source as recorded, trimmed.
func link(src string) Span { return Span{Text: strings.TrimSpace(src), Style: Link} }

// joinLines puts b on a line after a; either may be empty.
func joinLines(a, b Text) Text {
	switch {
	case a.Plain() == "":
		return b
	case b.Plain() == "":
		return a
	}
	return text(a, "\n", b)
}

// capitalized returns t with its first letter in upper case, to open a
// sentence ("the Hanoi Convention" → "The Hanoi Convention").
func capitalized(t Text) Text {
	if len(t) == 0 {
		return t
	}
	out := append(Text(nil), t...)
	r, n := utf8.DecodeRuneInString(out[0].Text)
	out[0].Text = string(unicode.ToUpper(r)) + out[0].Text[n:]
	return out
}

func (c *Card) add(label, value string) {
	if value != "" {
		c.Fields = append(c.Fields, Field{label, value})
	}
}

// CardOf says what a notice means: a pure function of the notice, which
// every sink renders. Text that is not valid UTF-8 is repaired (each run
// of bad bytes becomes U+FFFD).
//
// Field conventions by kind: for KindSignatureWindow, Date is the last
// day the treaty is open for signature and DaysLeft the days until then;
// for KindCountdown and KindInForce, EntryIntoForce is the date counted
// down to (Date is used when EntryIntoForce is zero); for KindDigest,
// Digest holds the period, its items and each treaty's progress.
func CardOf(n Notice) Card {
	n = validNotice(n)
	if n.Kind == KindDigest {
		return digestCard(n)
	}
	return noticeCard(n)
}

// noticeCard is the card of a notice other than a digest; n is valid
// UTF-8.
func noticeCard(n Notice) Card {
	c := Card{Kind: n.Kind, Counted: n.Counted, Required: n.Required}
	treaty := treatyName(n)
	// "the Hanoi Convention" in a sentence, "The Hanoi Convention" to open one.
	object := text(strong(treaty))
	switch {
	case n.TreatyName == "" && n.Treaty != "":
		object = text("treaty ", object)
	case !strings.HasPrefix(strings.ToLower(treaty), "the "):
		object = text("the ", object)
	}
	subject := capitalized(object)
	who := strong(n.Participant)
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
		c.Lead = text(who, " ", depositPhrase(n.Action), " on ", date, ".")
		if n.Required > 0 && n.Counted == n.Required {
			c.Lead = text(c.Lead, "\nThis is the ", ordinal(n.Required), " instrument: the threshold is reached.")
			if !n.EntryIntoForce.IsZero() {
				c.Lead = text(c.Lead, " ", subject, " enters into force on ", strong(formatDate(n.EntryIntoForce)), ".")
			}
		}
		c.add("Participant", n.Participant)
		c.add("Instrument", act)
		c.add("Date of deposit", date)
		c.add("Depositary reference", n.Reference)
		c.add("Progress", progress)
		c.add("Entry into force", formatDate(n.EntryIntoForce))
	case KindSignature:
		headline = byWhom("Signature", n.Participant, "Signature")
		c.Lead = text(who, " signed ", object, " on ", date, ".")
		c.add("Participant", n.Participant)
		c.add("Act", act)
		c.add("Date of signature", date)
		c.add("Depositary reference", n.Reference)
		c.add("Instruments deposited", progress)
	case KindAct:
		headline = byWhom(act, n.Participant, "Act")
		c.Lead = joinLines(text(who, " ", actPhrase(n.Action), " on ", date, "."), text(n.Text))
		c.add("Participant", n.Participant)
		c.add("Act", act)
		c.add("Date", date)
		c.add("Depositary reference", n.Reference)
		c.add("Instruments deposited", progress)
	case KindMilestone:
		headline = fmt.Sprintf("%d%% of the threshold reached", n.Percent)
		c.Lead = text(subject, " now has ", strong(fmt.Sprint(n.Counted)), fmt.Sprintf(" of the %d instruments it needs to enter into force.", n.Required))
		c.Lead = joinLines(c.Lead, latest(n))
		c.add("Progress", progress)
		c.add("Latest instrument", latestAct(n))
		c.add("Date of deposit", date)
		c.add("Depositary reference", n.Reference)
	case KindToGo:
		left := n.Remaining()
		headline = fmt.Sprintf("%d to go", left)
		c.Lead = text(subject, " needs ", strong(plural(left, "more instrument")), fmt.Sprintf(" to enter into force (%d of %d deposited).", n.Counted, n.Required))
		c.Lead = joinLines(c.Lead, latest(n))
		c.add("Progress", progress)
		c.add("Latest instrument", latestAct(n))
		c.add("Date of deposit", date)
		c.add("Depositary reference", n.Reference)
	case KindThreshold:
		headline = "Threshold reached"
		eif := formatDate(n.EntryIntoForce)
		if eif != "" {
			headline += " — in force on " + eif
		}
		if n.Participant != "" {
			c.Lead = text("The ", ordinal(n.Required), " instrument was deposited by ", who, " on ", date, ".")
		} else {
			c.Lead = text("The ", ordinal(n.Required), " instrument has been deposited.")
		}
		if eif != "" {
			c.Lead = text(c.Lead, " ", subject, " enters into force on ", strong(eif), ".")
		}
		c.add("Progress", progress)
		c.add("Completed by", latestAct(n))
		c.add("Date of deposit", date)
		c.add("Depositary reference", n.Reference)
		c.add("Entry into force", eif)
	case KindInForce:
		eif := formatDate(eventDay(n))
		headline = "Enters into force today"
		c.Lead = text(subject, " enters into force today, ", strong(eif), ".")
		if n.Counted > 0 {
			c.Lead = text(c.Lead, " ", plural(n.Counted, "instrument"), " counted towards its entry into force.")
		}
		c.add("Entry into force", eif)
		c.add("Progress", progress)
	case KindCountdown:
		eif := formatDate(eventDay(n))
		headline = plural(n.DaysLeft, "day") + " to entry into force"
		c.Lead = text(subject, " enters into force on ", strong(eif), " — in ", plural(n.DaysLeft, "day"), ".")
		c.add("Entry into force", eif)
		c.add("Days left", fmt.Sprint(n.DaysLeft))
		c.add("Progress", progress)
	case KindSignatureWindow:
		headline = "Signature closes in " + plural(n.DaysLeft, "day")
		c.Lead = text(subject, " is open for signature until ", strong(date), " — ", plural(n.DaysLeft, "day"), " left.")
		c.add("Last day for signature", date)
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
		c.Lead = text("A protocol to ", object, " ", verb, " on ", date)
		if n.Participant != "" {
			c.Lead = text(c.Lead, " by ", who)
		}
		c.Lead = joinLines(text(c.Lead, "."), text(n.Text))
		c.add("Act", act)
		c.add("Date", date)
		c.add("By", n.Participant)
		c.add("Depositary reference", n.Reference)
	case KindCorrection, KindRetraction:
		lead := "A recorded act was corrected."
		headline = "Correction"
		if n.Kind == KindRetraction {
			headline, lead = "Retraction", "A recorded act was retracted: the treaty's standing no longer takes it into account."
		}
		if n.Participant != "" {
			headline += ": " + byWhom(act, n.Participant, "act")
		}
		c.Lead = joinLines(text(lead), whatChanged(n))
		c.add("Participant", n.Participant)
		c.add("Act", act)
		c.add("Date", date)
		c.add("Depositary reference", n.Reference)
		c.add("Progress", progress)
	default:
		headline = n.Kind
		c.Lead = text(n.Text)
		c.add("Progress", progress)
	}
	c.Headline = headline
	c.Title = treaty + ": " + headline
	if n.Source != "" {
		c.Context = append(c.Context, text("Source: ", link(n.Source)))
	}
	if n.Treaty != "" {
		c.Context = append(c.Context, text("Treaty ", n.Treaty))
	}
	if n.Position > 0 {
		c.Context = append(c.Context, text(fmt.Sprintf("Ledger position %d", n.Position)))
	}
	return c
}

// StatusCard says where a treaty stands, for an answer on request (the
// Slack command's "status"): its name and id, its progress, the number
// of signatories and parties, when the threshold was met, when it enters
// into force, and the date and rule it was computed for.
func StatusCard(st projections.Status) Card {
	name := st.ShortTitle
	if name == "" {
		name = st.Title
	}
	progress := ProgressBar(st.Counted, st.Required)
	c := Card{
		Title:    fmt.Sprintf("%s (%s)", name, st.Treaty),
		Lead:     text(code(progress)),
		Summary:  fmt.Sprintf("%s (%s): %s", name, st.Treaty, progress),
		Context:  []Text{text(fmt.Sprintf("As of %s · %s", st.AsOf, st.Rule))},
		Counted:  st.Counted,
		Required: st.Required,
	}
	threshold := "—"
	if d := st.ThresholdMetOn; d != nil && !d.IsZero() {
		threshold = d.String()
	}
	c.add("Signatories", fmt.Sprint(st.Signatories))
	c.add("Parties", fmt.Sprint(st.Parties))
	c.add("Threshold met", threshold)
	c.add("Entry into force", entryIntoForceText(st))
	return c
}

// entryIntoForceText says when a treaty enters (or entered) into force.
func entryIntoForceText(st projections.Status) string {
	switch {
	case st.EntryIntoForce == nil && st.ThresholdMetOn != nil:
		return "waiting for the parent treaty (" + st.Parent + ")"
	case st.EntryIntoForce == nil:
		return "not yet known"
	case st.DaysUntilEntryIntoForce != nil:
		return fmt.Sprintf("%s (in %s)", st.EntryIntoForce, plural(*st.DaysUntilEntryIntoForce, "day"))
	case st.DaysSinceEntryIntoForce != nil && *st.DaysSinceEntryIntoForce == 0:
		return fmt.Sprintf("%s (in force from today)", st.EntryIntoForce)
	}
	return fmt.Sprintf("%s (in force)", st.EntryIntoForce)
}

// progressWidth is the number of cells of a progress bar.
const progressWidth = 10

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

// validNotice repairs every text of n (and of its digest) that is not
// valid UTF-8.
func validNotice(n Notice) Notice {
	v := func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
	n.Kind, n.Treaty, n.TreatyName = v(n.Kind), v(n.Treaty), v(n.TreatyName)
	n.Participant, n.Action = v(n.Participant), events.Action(v(string(n.Action)))
	n.Reference, n.Source, n.Text = v(n.Reference), v(n.Source), v(n.Text)
	if d := n.Digest; d != nil {
		c := *d
		c.Items = make([]Notice, len(d.Items))
		for i, it := range d.Items {
			c.Items[i] = validNotice(it)
		}
		c.Progress = make([]Progress, len(d.Progress))
		for i, p := range d.Progress {
			p.Treaty, p.TreatyName = v(p.Treaty), v(p.TreatyName)
			c.Progress[i] = p
		}
		n.Digest = &c
	}
	return n
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

func latest(n Notice) Text {
	if n.Participant == "" {
		return nil
	}
	return text("Latest: ", latestAct(n), " on ", formatDate(n.Date), ".")
}

func whatChanged(n Notice) Text {
	if n.Text == "" {
		return nil
	}
	return text("What changed: ", n.Text)
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
