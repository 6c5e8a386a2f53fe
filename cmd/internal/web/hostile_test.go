package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/treatyfile"
)

// hostile is text that would be markup in HTML and in Slack mrkdwn:
// a script, attribute-breaking quotes, an event handler, Slack mentions
// and a Slack link, formatting characters and entities.
const hostile = `<script>alert("x")</script>"'><img src=x onerror=alert(1)> <!channel> <@U123> <http://evil.example|click> *bold* _it_ ~s~ ` + "`code`" + ` & &amp;`

// hostileSources are source links a page must not make links of (only
// http and https are links).
var hostileSources = []string{
	"javascript:alert(document.cookie)", " JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>",
	"vbscript:msgbox(1)", `https://ok.example/"><script>alert(2)</script>`, "//evil.example/x",
}

// mustAppendRaw appends a payload to a stream as it is, past the ledger's
// decisions and input checks, as data from elsewhere (an older version, a
// restored file) would be: the pages must show any stored text inertly.
func mustAppendRaw(tb testing.TB, e *env, stream string, p events.Payload, valid events.Date, meta events.Metadata) {
	tb.Helper()
	ctx := context.Background()
	rec, err := e.Ledger.Registry().NewRecord(p, valid, meta)
	if err != nil {
		tb.Fatal(err)
	}
	evs, err := e.Store.ReadStream(ctx, stream)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := e.Store.Append(ctx, events.StreamAppend{Stream: stream, ExpectedVersion: int64(len(evs)), Records: []events.Record{rec}}); err != nil {
		tb.Fatal(err)
	}
}

// mustHostileLedger registers treaty EVIL-1 with hostile titles and
// sources, a participant with a hostile name, and acts with hostile
// notes, subjects, references and sources.
func mustHostileLedger(tb testing.TB, e *env) {
	tb.Helper()
	def, err := treatyfile.Parse([]byte(testTreatyYAML), nil, mustDirectory(tb, e))
	if err != nil {
		tb.Fatal(err)
	}
	def.ID, def.Title, def.ShortTitle, def.Depositary, def.Clause = "EVIL-1", "Convention "+hostile, "Evil "+hostile, hostile, hostile
	def.Sources = hostileSources
	mustAppendRaw(tb, e, events.TreatyStream("EVIL-1"), &events.TreatyRegistered{Definition: def}, events.Date{}, events.Metadata{Actor: hostile})
	name := "Freedonia " + hostile
	mustAppendRaw(tb, e, events.ParticipantsStream, &events.ParticipantRegistered{Participant: events.Participant{Name: name, Kind: events.KindOther}}, events.Date{}, events.Metadata{Actor: "test"})
	d := events.MustDate("2026-03-02")
	mustAppendRaw(tb, e, events.TreatyStream("EVIL-1"), &events.Act{Action: events.Signature, Participant: name, Date: d, Note: hostile, Subject: hostile}, d,
		events.Metadata{Actor: hostile, Reference: hostile, Source: hostileSources[0]})
	for i, src := range hostileSources {
		d := events.MustDate("2026-03-0" + string(rune('3'+i)))
		mustAppendRaw(tb, e, events.TreatyStream(hanoi), &events.Act{Action: events.Declaration, Participant: "Viet Nam", ISO3: "VNM", Date: d, Note: hostile, Subject: hostile}, d,
			events.Metadata{Actor: hostile, Reference: hostile, Source: src})
	}
	if _, err := e.Runner.CatchUp(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

var (
	tagRE  = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>`)
	attrRE = regexp.MustCompile(`([^\s"'=/<>]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?`)
	// chartImgRE is the src of the charts the treaty and compare pages show.
	chartImgRE = regexp.MustCompile(`^\s*id="(treaty|compare)-chart" src="/(treaties/[^"/?]+|compare)/chart\.svg(\?[^"]*)?"`)
)

// assertInert fails when a page carries hostile markup live: a tag the
// templates do not write (a script, an img), an event-handler attribute,
// or a link that is not a local path or an http(s) URL. Escaped text holds
// no "<", so every tag found is the templates' own or an injection.
func assertInert(tb testing.TB, path string, body []byte) {
	tb.Helper()
	page := string(body)
	for _, m := range tagRE.FindAllStringSubmatch(page, -1) {
		tag, attrs := strings.ToLower(m[1]), m[2]
		switch tag {
		case "img":
			// The one image the templates write: a chart, from a chart
			// route of this server (charts.go).
			if !chartImgRE.MatchString(attrs) {
				tb.Errorf("%s has a live <%s> tag: %q", path, tag, m[0])
			}
		case "iframe", "object", "embed", "base", "style", "math":
			tb.Errorf("%s has a live <%s> tag: %q", path, tag, m[0])
		case "script":
			if strings.TrimSpace(attrs) != `src="/static/app.js" defer` {
				tb.Errorf("%s has a live script: %q", path, m[0])
			}
		}
		for _, a := range attrRE.FindAllStringSubmatch(attrs, -1) {
			name, v := strings.ToLower(a[1]), strings.Trim(a[2], `"'`)
			if strings.HasPrefix(name, "on") {
				tb.Errorf("%s has an event handler: %q", path, m[0])
			}
			switch name {
			case "href", "src", "srcset", "action", "formaction", "xlink:href":
			default:
				continue
			}
			v = strings.ReplaceAll(v, "&amp;", "&")
			ok := strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "//") || strings.HasPrefix(v, "#") ||
				strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "?")
			if !ok {
				tb.Errorf("%s has %s=%q: only local paths and http(s) URLs may be links", path, name, v)
			}
		}
	}
	if strings.Contains(page, "<!channel") || strings.Contains(page, "<@U123") {
		tb.Errorf("%s holds an unescaped Slack mention", path)
	}
}

func TestDashboardRendersHostileTextInert(t *testing.T) {
	e := MustEnv(t, envOptions{})
	mustHostileLedger(t, e)
	b := newBrowser(e)
	b.signIn(t, e.Officer)
	for _, path := range []string{
		"/", "/treaties/EVIL-1", "/treaties/hanoi", "/treaties/hanoi?as_of=2026-06-01", "/events", "/events?treaty=EVIL-1",
		"/events?after=0", "/participants", "/participants/Viet%20Nam", "/treaties/EVIL-1/record", "/treaties/EVIL-1/import", "/compare",
	} {
		r := b.get(path)
		wantStatus(t, r, http.StatusOK)
		assertInert(t, path, r.Body)
	}
	// The hostile text is shown, as text.
	r := b.get("/treaties/EVIL-1")
	if !strings.Contains(string(r.Body), "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Errorf("the treaty page does not show the title as text:\n%s", r.Body)
	}
	r = b.get("/events?treaty=hanoi&type=act.declaration")
	assertInert(t, "/events?type=act.declaration", r.Body)
	if !strings.Contains(string(r.Body), "javascript:alert(document.cookie)") || strings.Count(string(r.Body), ">source</a>") != 1 {
		t.Errorf("hostile sources must be shown as text, never as links (only the https one is):\n%s", r.Body)
	}

	// The participant page of the hostile name, reached through its link.
	pr := b.get("/participants")
	m := regexp.MustCompile(`href="(/participants/Freedonia[^"]*)"`).FindStringSubmatch(string(pr.Body))
	if m == nil {
		t.Fatalf("no link to the hostile participant:\n%s", pr.Body)
	}
	r = b.get(strings.ReplaceAll(m[1], "&amp;", "&"))
	wantStatus(t, r, http.StatusOK)
	assertInert(t, m[1], r.Body)

	// A refused form and an import preview echo what was typed, inertly.
	form := map[string][]string{"action": {"declaration"}, "participant": {hostile}, "date": {"2026-03-02"},
		"note": {hostile + "</textarea><script>alert(3)</script>"}, "reference": {hostile}, "source": {hostileSources[0]}, "subject": {hostile}}
	r = b.post("/treaties/hanoi/record", form)
	if r.Status < 400 {
		t.Fatalf("a hostile participant name was recorded: %d", r.Status)
	}
	assertInert(t, "record form", r.Body)
	if strings.Contains(string(r.Body), "</textarea><script>") {
		t.Error("the note breaks out of its textarea")
	}
	csv := "participant,action,date,reference,source,note\n\"" + strings.ReplaceAll(hostile, `"`, `""`) + "\",signature,2026-03-02,\"" + strings.ReplaceAll(hostile, `"`, `""`) + "\",javascript:alert(1),x\n"
	r = b.post("/treaties/hanoi/import", map[string][]string{"csv": {csv + "</textarea><script>alert(4)</script>"}, "step": {"preview"}, "add_participants": {"on"}})
	assertInert(t, "import preview", r.Body)
	if strings.Contains(string(r.Body), "</textarea><script>") {
		t.Error("the CSV breaks out of its textarea")
	}
}

// mrkdwnTexts returns every mrkdwn text of a Block Kit answer, and the
// plain texts.
func mrkdwnTexts(tb testing.TB, body []byte) (mrkdwn, plain []string) {
	tb.Helper()
	var msg any
	if err := json.Unmarshal(body, &msg); err != nil {
		tb.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if t, ok := x["text"].(string); ok {
				switch x["type"] {
				case "mrkdwn":
					mrkdwn = append(mrkdwn, t)
				case "plain_text":
					plain = append(plain, t)
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(msg)
	return mrkdwn, plain
}

// assertSlackInert fails when a mrkdwn text holds a control sequence that
// Slack would act on (a mention, a link, a channel ping) that is not ours,
// or an unescaped &.
func assertSlackInert(tb testing.TB, what string, body []byte) {
	tb.Helper()
	mrkdwn, _ := mrkdwnTexts(tb, body)
	if len(mrkdwn) == 0 {
		tb.Fatalf("%s: no mrkdwn text in %s", what, body)
	}
	ours := regexp.MustCompile(`<#C[0-9A-Z]+>`)
	entity := regexp.MustCompile(`&(amp|lt|gt);`)
	for _, t := range mrkdwn {
		rest := ours.ReplaceAllString(t, "")
		if strings.ContainsAny(rest, "<>") {
			tb.Errorf("%s: mrkdwn text with a live < or >: %q", what, t)
		}
		if strings.Contains(entity.ReplaceAllString(rest, ""), "&") {
			tb.Errorf("%s: mrkdwn text with an unescaped &: %q", what, t)
		}
	}
}

func TestSlashCommandAnswersAreInert(t *testing.T) {
	e := MustEnv(t, envOptions{slackSecret: slackSecret})
	mustHostileLedger(t, e)
	now := time.Now()
	for i, text := range []string{
		"list", "status EVIL-1", "status " + hostile, "subscribe " + hostile, "subscribe hanoi --participant \"<@U123> <!channel>\"",
		"subscribe hanoi --digest \"<!channel> *x*\"", "subscribe hanoi --on \"<http://evil.example|click>\"", hostile, "frobnicate <!here>",
	} {
		r := slashCommand(e, slackSecret, now.Add(-time.Duration(i)*time.Second), text)
		wantStatus(t, r, http.StatusOK)
		assertSlackInert(t, text, r.Body)
	}
	r := slashCommand(e, slackSecret, now.Add(-time.Minute), "status EVIL-1")
	_, plain := mrkdwnTexts(t, r.Body)
	if len(plain) == 0 || !strings.Contains(plain[0], "<script>") {
		t.Errorf("the header should show the title as plain text: %q", plain)
	}
	if mrkdwn, _ := mrkdwnTexts(t, slashCommand(e, slackSecret, now.Add(-2*time.Minute), "list").Body); !strings.Contains(strings.Join(mrkdwn, "\n"), "&lt;!channel&gt;") {
		t.Errorf("the list does not show the escaped title: %q", mrkdwn)
	}
}
