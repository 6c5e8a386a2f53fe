package web_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// mustRecord records acts on the Hanoi Convention through the ledger, as
// an officer would, and lets the runner fold them.
func mustRecord(tb testing.TB, e *env, acts ...events.RecordInput) []int64 {
	tb.Helper()
	var out []int64
	for _, in := range acts {
		in.Treaty = hanoi
		if in.Meta.Actor == "" {
			in.Meta.Actor = "Officer Ada"
		}
		ev, err := e.Ledger.Record(context.Background(), in)
		if err != nil {
			tb.Fatalf("record %s by %s: %v", in.Action, in.Participant, err)
		}
		out = append(out, ev.Position)
	}
	if _, err := e.Runner.CatchUp(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return out
}

// statementActs are one of each act the statement columns show, plus an
// accession (UNTC mark "a") and an acceptance ("A").
func statementActs() []events.RecordInput {
	return []events.RecordInput{
		{Action: "ratification", Participant: "Viet Nam", Date: "2026-05-04", Meta: events.Metadata{Reference: "C.N.12.2026.TREATIES-XVIII.16"}},
		{Action: "accession", Participant: "Japan", Date: "2026-03-01"},
		{Action: "acceptance", Participant: "France", Date: "2026-04-02"},
		{Action: "reservation", Participant: "Austria", Date: "2026-05-10", Note: `=HYPERLINK("http://evil.example","article 22(2) does not apply")`},
		{Action: "declaration", Participant: "Austria", Date: "2026-05-10", Note: "The Federal Ministry of Justice is designated as the central authority (art. 40(13))."},
		{Action: "objection", Participant: "Belgium", Date: "2026-05-20", Subject: "Austria", Note: "Belgium objects to the reservation of Austria."},
		{Action: "territorial-application", Participant: "Australia", Date: "2026-05-21", Subject: "Norfolk Island"},
		{Action: "intent-announced", Participant: "Chile", Date: "2026-05-22", Note: "The government sent the Convention to Congress."},
	}
}

// rowOf returns the HTML of a participant's row of the participant table.
func rowOf(tb testing.TB, page response, name string) string {
	tb.Helper()
	body := string(page.Body)
	i := strings.Index(body, `<a href="/participants/`+strings.ReplaceAll(name, " ", "%20")+`">`+name+`</a>`)
	if i < 0 {
		tb.Fatalf("no row for %s", name)
	}
	start := strings.LastIndex(body[:i], "<tr ")
	end := strings.Index(body[i:], "</tr>")
	return body[start : i+end]
}

// TestParticipantTableShowsStatementsAndMarks checks the columns after
// the Council of Europe's charts (R, D, T, C, O, P), the text of each
// statement on demand (details/summary, no script needed) and the UNTC's
// marks of the consent kinds.
func TestParticipantTableShowsStatementsAndMarks(t *testing.T) {
	e := MustEnv(t, envOptions{})
	mustRecord(t, e, statementActs()...)
	page := e.Get("/treaties/hanoi")
	wantStatus(t, page, http.StatusOK)
	for _, h := range []string{`<abbr title="Reservations">R</abbr>`, `<abbr title="Declarations">D</abbr>`, `<abbr title="Territorial application">T</abbr>`,
		`<abbr title="Communications and notes">C</abbr>`, `<abbr title="Objections">O</abbr>`, `<abbr title="Provisional application">P</abbr>`} {
		contains(t, page, h)
	}
	// The legend says every mark and letter.
	contains(t, page, `id="participants-legend"`, "<dt>a</dt><dd>accession</dd>", "<dt>AA</dt><dd>approval</dd>", "<dt>d</dt><dd>succession</dd>",
		"<dt>n</dt><dd>provisional application (not counted)</dd>", "<dt>no mark</dt><dd>ratification</dd>", "the Council of Europe&#39;s A")

	austria := rowOf(t, page, "Austria")
	for _, want := range []string{`data-label="Reservations"><details><summary aria-label="Reservations: 1">R</summary>`,
		"<strong>Reservation</strong>, <time datetime=\"2026-05-10\">10 May 2026</time>: =HYPERLINK(&#34;http://evil.example&#34;,&#34;article 22(2) does not apply&#34;)",
		`<summary aria-label="Declarations: 1">D</summary>`, "central authority (art. 40(13))"} {
		if !strings.Contains(austria, want) {
			t.Errorf("Austria's row lacks %q:\n%s", want, austria)
		}
	}
	if belgium := rowOf(t, page, "Belgium"); !strings.Contains(belgium, `<summary aria-label="Objections: 1">O</summary>`) || !strings.Contains(belgium, "(Austria)") {
		t.Errorf("Belgium's row shows no objection to Austria:\n%s", belgium)
	}
	if au := rowOf(t, page, "Australia"); !strings.Contains(au, `<summary aria-label="Territorial application: 1">T</summary>`) || !strings.Contains(au, "Norfolk Island") {
		t.Errorf("Australia's row shows no territorial application:\n%s", au)
	}
	if cl := rowOf(t, page, "Chile"); !strings.Contains(cl, `<summary aria-label="Communications and notes: 1">C</summary>`) || !strings.Contains(cl, "sent the Convention to Congress") {
		t.Errorf("Chile's row shows no communication:\n%s", cl)
	}
	if jp := rowOf(t, page, "Japan"); !strings.Contains(jp, `<abbr class="mark" title="Accession">a</abbr>`) {
		t.Errorf("Japan's accession has no mark a:\n%s", jp)
	}
	if fr := rowOf(t, page, "France"); !strings.Contains(fr, `<abbr class="mark" title="Acceptance">A</abbr>`) {
		t.Errorf("France's acceptance has no mark A:\n%s", fr)
	}
	if vn := rowOf(t, page, "Viet Nam"); strings.Contains(vn, `class="mark"`) || strings.Contains(vn, "<details>") {
		t.Errorf("Viet Nam's ratification has a mark or a statement:\n%s", vn)
	}
}

var rowTag = regexp.MustCompile(`<tr data-name="[^"]*" data-region="([^"]*)" data-status="([^"]*)"( hidden)?>\s*<th scope="row"[^>]*><a href="/participants/[^"]+">([^<]+)</a>`)

// shownRows returns the names of the rows a page shows (not hidden) and
// of all rows.
func shownRows(tb testing.TB, page response) (shown, all []string) {
	tb.Helper()
	for _, m := range rowTag.FindAllStringSubmatch(string(page.Body), -1) {
		name := html.UnescapeString(m[4])
		all = append(all, name)
		if m[3] == "" {
			shown = append(shown, name)
		}
	}
	if len(all) == 0 {
		tb.Fatal("no participant rows")
	}
	return shown, all
}

// TestParticipantFilterByQueryString checks the server side of the
// filter: every row is rendered, those that do not match hidden, for
// links and for browsers without JavaScript.
func TestParticipantFilterByQueryString(t *testing.T) {
	e := MustEnv(t, envOptions{})
	mustRecord(t, e, statementActs()...)
	cases := []struct {
		name, query string
		want        []string
	}{
		{"name, any case and accents", "q=VIET", []string{"Viet Nam"}},
		{"part of a name with an accent", "q=cote", []string{"Côte d'Ivoire"}},
		{"ISO code", "q=aut", []string{"Austria"}},
		{"parties", "status=party", []string{"France", "Japan", "Viet Nam"}},
		{"signed, not yet a party", "status=signed-only&q=ri", []string{"Algeria", "Austria", "Costa Rica", "Mauritius", "Nigeria", "South Africa", "Sri Lanka", "Venezuela (Bolivarian Republic of)"}},
		{"region and status", "region=Europe&status=party", []string{"France"}},
		{"nothing matches", "q=atlantis", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			page := e.Get("/treaties/hanoi?" + c.query)
			wantStatus(t, page, http.StatusOK)
			shown, all := shownRows(t, page)
			if len(all) != 70 { // the 69 signatories and Japan: every row is rendered
				t.Errorf("%d rows rendered; want every participant's", len(all))
			}
			if !slices.Equal(shown, c.want) {
				t.Errorf("shown %q; want %q", shown, c.want)
			}
			contains(t, page, fmt.Sprintf(`Showing <span id="shown-count">%d</span> of %d participants.`, len(c.want), len(all)))
		})
	}
	// The filter survives a sort by a column heading.
	page := e.Get("/treaties/hanoi?status=party&region=Europe")
	contains(t, page, `href="/treaties/XVIII-16?dir=asc&amp;region=Europe&amp;sort=signature&amp;status=party#participants"`)
}

// TestParticipantPage checks that a participant's page tells its region,
// each treaty with signature, consent and its kind, entry into force for
// it, its statements, and its acts in date order; by ISO code too.
func TestParticipantPage(t *testing.T) {
	e := MustEnv(t, envOptions{})
	mustRecord(t, e, statementActs()...)
	page := e.Get("/participants/AUT")
	wantStatus(t, page, http.StatusOK)
	contains(t, page, "<h1>Austria <span class=\"id\">AUT</span></h1>", `<dd id="participant-region">Europe · Western Europe</dd>`,
		`<a href="/treaties/XVIII-16">Hanoi Convention</a>`, `<td data-label="Signature"><time datetime="2025-10-25">25 Oct 2025</time></td>`,
		"Reservations:", "central authority", "Acts concerning the Hanoi Convention", "<dd>UN Member State</dd>",
		`Objections of others to its statements:</p><ul class="statements"><li><a href="/participants/Belgium">Belgium</a>, <time datetime="2026-05-20">20 May 2026</time>: Belgium objects to the reservation of Austria.</li>`)
	body := string(page.Body)
	acts := body[strings.Index(body, `id="acts-list-XVIII-16"`):]
	sig, res, dec := strings.Index(acts, "Signature"), strings.Index(acts, "Reservation"), strings.Index(acts, "Declaration")
	if sig < 0 || res < sig || dec < res {
		t.Errorf("acts not in order (signature %d, reservation %d, declaration %d)", sig, res, dec)
	}
	jp := e.Get("/participants/Japan")
	contains(t, jp, `<time datetime="2026-03-01">1 Mar 2026</time> <span class="kind">Accession (a)</span>`, "party, not yet in force")
}

// TestEventLogPageHidesTokensFromVisitors checks that the public event
// log shows no token event and no actor (a token's name), and that a
// signed-in officer sees both.
func TestEventLogPageHidesTokensFromVisitors(t *testing.T) {
	e := MustEnv(t, envOptions{})
	mustRecord(t, e, statementActs()[0])
	for _, path := range []string{"/events?type=act.ratification&after=0", "/events?type=token.*&after=0"} {
		visitor := e.Get(path)
		wantStatus(t, visitor, http.StatusOK)
		for _, secret := range []string{"API token created", "Officer Ada", "Viewer Vic", ">By<", `value="token.*"`} {
			if strings.Contains(string(visitor.Body), secret) {
				t.Errorf("the public event log %s shows %q", path, secret)
			}
		}
	}
	contains(t, e.Get("/events?type=act.ratification&treaty=XVIII-16&after=0"), "Ratification by Viet Nam on 4 May 2026")
	b := newBrowser(e)
	b.signIn(t, e.Officer)
	contains(t, b.get("/events?type=token.*&after=0"), "API token created", ">By<")
	contains(t, b.get("/events?type=act.ratification&treaty=XVIII-16&after=0"), "Officer Ada")
}

// atom is what the tests read of an Atom feed.
type atom struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Links   []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"link"`
	Entries []struct {
		ID       string `xml:"id"`
		Title    string `xml:"title"`
		Updated  string `xml:"updated"`
		Category struct {
			Term string `xml:"term,attr"`
		} `xml:"category"`
		Link struct {
			Href string `xml:"href,attr"`
		} `xml:"link"`
	} `xml:"entry"`
}

func mustFeed(tb testing.TB, e *env, path string) atom {
	tb.Helper()
	r := e.Get(path)
	wantStatus(tb, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "application/atom+xml; charset=utf-8" {
		tb.Errorf("%s: Content-Type %q", path, ct)
	}
	var f atom
	if err := xml.Unmarshal(r.Body, &f); err != nil {
		tb.Fatalf("%s is not Atom XML: %v\n%s", path, err, r.Body)
	}
	return f
}

// TestAtomFeeds parses the treaty's and the ledger's feeds as XML and
// checks their entries for the seeded Hanoi Convention: one per
// signature, with stable ids and the ledger's recording times, then a
// ratification, a milestone and their times once recorded.
func TestAtomFeeds(t *testing.T) {
	e := MustEnv(t, envOptions{})
	f := mustFeed(t, e, "/treaties/hanoi/feed.atom")
	if f.ID != "tag:treatywatch,2025:XVIII-16" || !strings.HasPrefix(f.Title, "Hanoi Convention (XVIII-16)") {
		t.Errorf("feed id %q, title %q", f.ID, f.Title)
	}
	if len(f.Entries) != 69 {
		t.Fatalf("%d entries; want the 69 seeded signatures", len(f.Entries))
	}
	h, err := e.Ledger.History(t.Context(), hanoi, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]string{}
	for _, fact := range h.Facts() {
		recorded[fmt.Sprintf("tag:treatywatch,2025:XVIII-16/act/%d", fact.Position)] = fact.RecordedAt.UTC().Format(time.RFC3339)
	}
	var vn string
	for _, en := range f.Entries {
		if recorded[en.ID] == "" || en.Updated != recorded[en.ID] || en.Category.Term != "act" {
			t.Errorf("entry %q (%q) updated %q: want an act's id and its recording time %q", en.ID, en.Title, en.Updated, recorded[en.ID])
		}
		if en.Title == "Hanoi Convention: Signature by Viet Nam on 25 October 2025" {
			vn = en.ID
		}
		if !strings.HasSuffix(en.Link.Href, "/treaties/XVIII-16") {
			t.Errorf("entry link %q", en.Link.Href)
		}
	}
	if vn == "" {
		t.Error("no entry for Viet Nam's signature")
	}
	again := mustFeed(t, e, "/treaties/XVIII-16/feed.atom")
	if again.Updated != f.Updated || len(again.Entries) != len(f.Entries) || again.Entries[0].ID != f.Entries[0].ID {
		t.Error("the feed changed between two reads of the same ledger (the clock, not the ledger, set a time)")
	}

	// Ten ratifications reach the 25 % mark (10 of 40).
	var acts []events.RecordInput
	for _, p := range []string{"Algeria", "Angola", "Australia", "Austria", "Azerbaijan", "Belarus", "Belgium", "Brazil", "Chile", "Viet Nam"} {
		acts = append(acts, events.RecordInput{Action: "ratification", Participant: p, Date: "2026-05-04"})
	}
	pos := mustRecord(t, e, acts...)
	h, _ = e.Ledger.History(t.Context(), hanoi, time.Time{})
	last := h.Facts()[len(h.Facts())-1]
	f = mustFeed(t, e, "/treaties/hanoi/feed.atom")
	byID := map[string]string{}
	for _, en := range f.Entries {
		byID[en.ID] = en.Title + " @ " + en.Updated
	}
	want := map[string]string{
		fmt.Sprintf("tag:treatywatch,2025:XVIII-16/act/%d", pos[9]): "Hanoi Convention: Ratification by Viet Nam on 4 May 2026 @ " + last.RecordedAt.UTC().Format(time.RFC3339),
		"tag:treatywatch,2025:XVIII-16/milestone/25":                "Hanoi Convention: 25 % of the instruments needed (10 of 40) reached on 4 May 2026 @ " + last.RecordedAt.UTC().Format(time.RFC3339),
		vn: "Hanoi Convention: Signature by Viet Nam on 25 October 2025 @ " + recorded[vn],
	}
	for id, w := range want {
		if byID[id] != w {
			t.Errorf("entry %s = %q; want %q", id, byID[id], w)
		}
	}
	if f.Updated != last.RecordedAt.UTC().Format(time.RFC3339) {
		t.Errorf("feed updated %q; want the last recording %s", f.Updated, last.RecordedAt.UTC().Format(time.RFC3339))
	}

	// The ledger's feed holds the treaty's entries, and every page links
	// to the feeds.
	all := mustFeed(t, e, "/feed.atom")
	found := false
	for _, en := range all.Entries {
		found = found || en.ID == "tag:treatywatch,2025:XVIII-16/milestone/25"
	}
	if !found {
		t.Error("the ledger's feed lacks the Hanoi Convention's milestone")
	}
	contains(t, e.Get("/"), `<link rel="alternate" type="application/atom+xml" title="Every tracked treaty (Atom)" href="/feed.atom">`)
	contains(t, e.Get("/treaties/hanoi"), `<link rel="alternate" type="application/atom+xml" title="This treaty (Atom)" href="/treaties/XVIII-16/feed.atom">`)
}

// TestCountdownShownOnce records the fortieth instrument and checks that
// the treaty page and the home page say the days to entry into force
// once (beside the date, not also in it), with the date for people.
func TestCountdownShownOnce(t *testing.T) {
	e := MustEnv(t, envOptions{})
	st := e.Status(hanoi)
	var acts []events.RecordInput
	for _, p := range st.Participants {
		if len(acts) == 40 {
			break
		}
		if p.Participant == "European Union" {
			continue // not additional to its member States
		}
		acts = append(acts, events.RecordInput{Action: "ratification", Participant: p.Participant, Date: "2026-06-01"})
	}
	mustRecord(t, e, acts...)
	// Threshold met on 1 June 2026; in force on the ninetieth day after: 30 August 2026, 76 days after 15 June.
	for _, path := range []string{"/treaties/hanoi", "/"} {
		page := e.Get(path)
		wantStatus(t, page, http.StatusOK)
		if n := strings.Count(string(page.Body), "76 days"); n != 1 {
			t.Errorf("%s says the countdown %d times; want once", path, n)
		}
		contains(t, page, `<time datetime="2026-08-30">30 Aug 2026</time> (expected)`, "in 76 days")
	}
}

// TestFriendlyDatesOnTheTreatyPage checks the dates for people: the
// known-at moment, the footer's today, the latest acts; ISO dates stay in
// the datetime attributes.
func TestFriendlyDatesOnTheTreatyPage(t *testing.T) {
	e := MustEnv(t, envOptions{})
	// Recorded times are the wall clock's: known at the end of tomorrow.
	k := time.Now().UTC().AddDate(0, 0, 1)
	page := e.Get("/treaties/hanoi?known_at=" + k.Format("2006-01-02"))
	wantStatus(t, page, http.StatusOK)
	contains(t, page, fmt.Sprintf(`As the ledger knew it at <time datetime="%sT23:59:59Z">%d %s %d 23:59 UTC</time>.`, k.Format("2006-01-02"), k.Day(), k.Month().String()[:3], k.Year()),
		`Today is <time datetime="2026-06-15">15 Jun 2026</time>.`, `Signature by <a href="/participants/Viet%20Nam">Viet Nam</a> on <time datetime="2025-10-25">25 Oct 2025</time>`)
}
