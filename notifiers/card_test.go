package notifiers_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
)

// handCard is a card no notice gives: a title, a lead with every style,
// fields (one on two lines) and context lines with sources, written in
// plain words with characters that Slack's mrkdwn would escape or read as
// markup.
func handCard() notifiers.Card {
	return notifiers.Card{
		Kind:  notifiers.KindDeposit,
		Title: "Hanoi Convention: Accession by Côte d'Ivoire & <Ghana>",
		Lead: notifiers.Text{
			{Text: "Côte d'Ivoire", Style: notifiers.Strong},
			{Text: " acceded on "},
			{Text: "2 October 2026", Style: notifiers.Strong},
			{Text: " — "},
			{Text: "provisionally", Style: notifiers.Emphasis},
			{Text: ".\nProgress "},
			{Text: "28 of 40", Style: notifiers.Code},
		},
		Fields: []notifiers.Field{
			{Label: "Participant", Value: "Côte d'Ivoire"},
			{Label: "Depositary reference", Value: "C.N.512.2026 & annex\nC.N.513.2026"},
		},
		Context: []notifiers.Text{
			{{Text: "Source: "}, {Text: "https://treaties.un.org/doc/XVIII-16.en.xml (UNTC <status>)", Style: notifiers.Link}},
			{{Text: "Ledger position 816"}},
		},
		Counted: 28, Required: 40,
	}
}

// handCardText is handCard in plain text, written out by hand.
const handCardText = "Hanoi Convention: Accession by Côte d'Ivoire & <Ghana>\n" +
	"Côte d'Ivoire acceded on 2 October 2026 — provisionally.\n" +
	"Progress 28 of 40\n" +
	"  Participant           Côte d'Ivoire\n" +
	"  Depositary reference  C.N.512.2026 & annex\n" +
	"                        C.N.513.2026\n" +
	"Source: https://treaties.un.org/doc/XVIII-16.en.xml (UNTC <status>) · Ledger position 816\n"

// TestConsoleAndWebhookRenderTheCard sends a message whose card was built
// by hand and whose notice says something else: the console prints the
// card, and the webhook's text is the card, so neither renders from the
// notice nor from Block Kit. The webhook still sends the notice as it was.
func TestConsoleAndWebhookRenderTheCard(t *testing.T) {
	notice := find(t, hanoiNotices(), "signature")
	msg := notifiers.Message{Notice: notice, Card: handCard(), DeliveryID: 7}
	if got := notifiers.PlainText(msg.Card); got != handCardText {
		t.Fatalf("PlainText =\n%s\nwant\n%s", got, handCardText)
	}

	var out bytes.Buffer
	if _, err := notifiers.NewConsole(&out).Send(t.Context(), consoleSub(), msg); err != nil {
		t.Fatal(err)
	}
	if out.String() != handCardText+"\n" {
		t.Errorf("console printed\n%s\nwant the card's text\n%s", out.String(), handCardText)
	}

	srv, received := mustReceiver(t, http.StatusNoContent, nil)
	if _, err := sendWebhook(t, nil, srv.URL, msg); err != nil {
		t.Fatal(err)
	}
	reqs := received()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	var p notifiers.WebhookPayload
	if err := json.Unmarshal(reqs[0].body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Text != handCardText {
		t.Errorf("webhook text =\n%s\nwant the card's text\n%s", p.Text, handCardText)
	}
	if p.Notice.Kind != notifiers.KindSignature || p.Notice.Participant != "Viet Nam" || p.Notice.Position != notice.Position {
		t.Errorf("webhook notice = %+v, want the message's notice", p.Notice)
	}
	// The payload's fields are the ones receivers have always read.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(reqs[0].body, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"notice", "text", "subscription", "delivery_id", "sent_at"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("webhook payload lacks %q: %s", k, reqs[0].body)
		}
	}
	if len(fields) != 5 {
		t.Errorf("webhook payload has %d fields, want 5: %s", len(fields), reqs[0].body)
	}
}

// TestSlackMessageLaysOutTheCard: the Slack adapter escapes and styles
// what the card says, and only it: the card itself holds plain words.
func TestSlackMessageLaysOutTheCard(t *testing.T) {
	m := notifiers.SlackMessage(handCard())
	b, err := json.Marshal(m.Blocks.BlockSet)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"type":"header","text":{"type":"plain_text","text":"Hanoi Convention: Accession by Côte d'Ivoire \u0026 \u003cGhana\u003e","emoji":true}},` +
		`{"type":"section","text":{"type":"mrkdwn","text":"*Côte d'Ivoire* acceded on *2 October 2026* — _provisionally_.\nProgress ` + "`28 of 40`" + `"},` +
		`"fields":[{"type":"mrkdwn","text":"*Participant*\nCôte d'Ivoire"},{"type":"mrkdwn","text":"*Depositary reference*\nC.N.512.2026 \u0026amp; annex\nC.N.513.2026"}]},` +
		`{"type":"context","elements":[{"type":"mrkdwn","text":"Source: \u003chttps://treaties.un.org/doc/XVIII-16.en.xml|treaties.un.org\u003e (UNTC \u0026lt;status\u0026gt;)"},{"type":"mrkdwn","text":"Ledger position 816"}]}]`
	if string(b) != want {
		t.Errorf("blocks =\n%s\nwant\n%s", b, want)
	}
	if wantText := "Hanoi Convention: Accession by Côte d'Ivoire &amp; &lt;Ghana&gt;\nCôte d'Ivoire acceded on 2 October 2026 — provisionally.\nProgress 28 of 40"; m.Text != wantText {
		t.Errorf("fallback = %q, want %q", m.Text, wantText)
	}
	c := handCard()
	c.Summary = "Côte d'Ivoire & Ghana"
	if got := notifiers.SlackMessage(c).Text; got != "Côte d'Ivoire &amp; Ghana" {
		t.Errorf("fallback with a summary = %q", got)
	}
}

// TestCardHoldsNoSlackSyntax builds the card of every golden notice: its
// texts are the notice's words, unescaped, and mrkdwn appears only once
// the Slack adapter lays the card out.
func TestCardHoldsNoSlackSyntax(t *testing.T) {
	for _, tc := range hanoiNotices() {
		c := notifiers.CardOf(tc.notice)
		var all []string
		all = append(all, c.Title, c.Lead.Plain())
		for _, f := range c.Fields {
			all = append(all, f.Label, f.Value)
		}
		for _, l := range c.Context {
			all = append(all, l.Plain())
		}
		for _, g := range c.Groups {
			all = append(all, g.Heading.Plain())
			for _, it := range g.Items {
				all = append(all, it.Plain())
			}
		}
		for _, s := range all {
			for _, syntax := range []string{"&amp;", "&lt;", "&gt;", "*", "_", "`", "|"} {
				if strings.Contains(s, syntax) {
					t.Errorf("%s: card text %q holds Slack syntax %q", tc.name, s, syntax)
				}
			}
		}
	}
	retraction := notifiers.CardOf(find(t, hanoiNotices(), "retraction"))
	if !strings.Contains(retraction.Lead.Plain(), "<not an instrument of accession>") {
		t.Errorf("retraction lead %q lost the notice's words", retraction.Lead.Plain())
	}
	if got := notifiers.SlackMessage(retraction).Text; !strings.Contains(got, "&lt;not an instrument of accession&gt;") {
		t.Errorf("Slack fallback %q is not escaped", got)
	}
	deposit := notifiers.CardOf(find(t, hanoiNotices(), "deposit"))
	if deposit.Counted != 28 || deposit.Required != 40 || deposit.Kind != notifiers.KindDeposit ||
		deposit.Lead[0] != (notifiers.Span{Text: "Viet Nam", Style: notifiers.Strong}) {
		t.Errorf("deposit card: kind %q, %d of %d, lead %+v", deposit.Kind, deposit.Counted, deposit.Required, deposit.Lead)
	}
}

// TestCardOpensSentencesWithACapital: a treaty whose name starts with a
// lower-case "the" opens a sentence with "The" in every sink. Slack used
// to write "*the Paris Agreement* enters into force…".
func TestCardOpensSentencesWithACapital(t *testing.T) {
	n := notifiers.Notice{Kind: notifiers.KindInForce, Treaty: "XXVII-7-d", TreatyName: "the Paris Agreement",
		Date: events.MustDate("2016-11-04"), Counted: 55, Required: 55}
	c := notifiers.CardOf(n)
	if got := c.Lead.Plain(); !strings.HasPrefix(got, "The Paris Agreement enters into force today") {
		t.Errorf("plain lead %q", got)
	}
	section := notifiers.SlackMessage(c).Blocks.BlockSet[1]
	b, err := json.Marshal(section)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"text":"*The Paris Agreement* enters into force today, *4 November 2016*.`) {
		t.Errorf("Slack section %s", b)
	}
}

// TestCardRepairsInvalidUTF8: a notice with bytes that are not UTF-8
// (the ledger refuses them at input; an old event could hold them) gives
// valid text in the card and in every sink, one U+FFFD per bad run.
func TestCardRepairsInvalidUTF8(t *testing.T) {
	bad := "Viet \xff\xfeNam"
	n := find(t, hanoiNotices(), "deposit")
	n.Participant, n.TreatyName, n.Source = bad, "Hanoi \xc3Convention", "https://treaties.un.org/\xff (UNTC \xfe)"
	c := notifiers.CardOf(n)
	if !strings.Contains(c.Title, "Viet \uFFFDNam") || !strings.Contains(c.Title, "Hanoi \uFFFDConvention") {
		t.Errorf("title %q", c.Title)
	}
	m := notifiers.SlackMessage(c)
	b, err := json.Marshal(m.Blocks.BlockSet)
	if err != nil {
		t.Fatal(err)
	}
	for what, s := range map[string]string{"plain text": notifiers.PlainText(c), "fallback": m.Text, "blocks": string(b)} {
		if !utf8.ValidString(s) || strings.Contains(s, "\uFFFD\uFFFD") || strings.Contains(s, `\ufffd\ufffd`) {
			t.Errorf("%s: %q", what, s)
		}
	}
}

// TestBlockKitOnlyInTheSlackAdapter: in package notifiers, only the Slack
// adapter's files (slack*.go) use Block Kit; the message, the card, the
// plain text, the console and the webhook sinks do not even import
// slack-go (errors.go and outcome.go do, to classify Slack's errors).
func TestBlockKitOnlyInTheSlackAdapter(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	neutral := []string{"sink.go", "card.go", "digestcard.go", "plaintext.go", "console.go", "webhook.go"}
	seen := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		seen[name] = true
		local := ""
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); path == "github.com/slack-go/slack" {
				local = "slack"
				if imp.Name != nil {
					local = imp.Name.Name
				}
			}
		}
		if local == "" {
			continue
		}
		if slices.Contains(neutral, name) {
			t.Errorf("%s imports slack-go: it must say nothing in Slack's terms", name)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == local && !strings.HasPrefix(name, "slack") && isBlockKit(sel.Sel.Name) {
				t.Errorf("%s uses %s.%s: Block Kit belongs to the Slack adapter (slack*.go)", name, local, sel.Sel.Name)
			}
			return true
		})
	}
	for _, name := range neutral {
		if !seen[name] {
			t.Errorf("%s not found: is the test running in the package folder?", name)
		}
	}
}

// isBlockKit reports whether a slack-go name belongs to Block Kit or to
// message building.
func isBlockKit(name string) bool {
	for _, part := range []string{"Block", "TextObject", "MarkdownType", "PlainTextType", "MixedElement", "Msg"} {
		if strings.Contains(name, part) {
			return true
		}
	}
	return false
}
