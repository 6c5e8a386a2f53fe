package notifiers_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/notifiers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The Hanoi Convention (UNTC XVIII-16): 40 instruments, in force on the
// ninetieth day after the fortieth; open for signature until 31 December
// 2026. Viet Nam's signature (25 October 2025, first at the Hanoi opening
// ceremony) and its reference are real. No deposit of ratification had
// been verified when these fixtures were written (see the seed's README),
// so every deposit below — participants, dates, counts and depositary
// references — is an illustrative scenario on the real treaty's rule:
// the 40th instrument on 15 March 2027 gives entry into force on
// 13 June 2027 (15 March + 90 days).
const (
	hanoi     = "XVIII-16"
	hanoiName = "Hanoi Convention"
	untc      = "https://treaties.un.org/doc/Publication/MTDSG/Volume%20II/Chapter%20XVIII/XVIII-16.en.xml"
	vovworld  = "https://m.vovworld.vn/de-DE/nachrichten/vietnam-wird-verantwortungsvoll-zur-globalen-cybersicherheit-beitragen-1434985.vov (first signatory at the 25 Oct opening ceremony)"
)

type renderCase struct {
	name   string
	notice notifiers.Notice
}

// hanoiNotices returns one notice per kind (two for countdowns), named
// after their golden files.
func hanoiNotices() []renderCase {
	thresholdDay, inForceDay := events.MustDate("2027-03-15"), events.MustDate("2027-06-13")
	base := notifiers.Notice{Treaty: hanoi, TreatyName: hanoiName, Required: 40}
	with := func(f func(n *notifiers.Notice)) notifiers.Notice {
		n := base
		f(&n)
		return n
	}
	deposit := with(func(n *notifiers.Notice) {
		n.Kind, n.Position = notifiers.KindDeposit, 812
		n.Participant, n.Action, n.Date = "Viet Nam", events.Ratification, events.MustDate("2026-09-15")
		n.Reference, n.Source, n.Counted = "C.N.512.2026.TREATIES-XVIII.16", untc, 28
	})
	completing := with(func(n *notifiers.Notice) {
		n.Kind, n.Position = notifiers.KindDeposit, 1040
		n.Participant, n.Action, n.Date = "Azerbaijan", events.Ratification, thresholdDay
		n.Reference, n.Source, n.Counted, n.EntryIntoForce = "C.N.88.2027.TREATIES-XVIII.16", untc, 40, inForceDay
	})
	return []renderCase{
		{"signature", with(func(n *notifiers.Notice) {
			n.Kind, n.Position = notifiers.KindSignature, 70
			n.Participant, n.Action, n.Date = "Viet Nam", events.Signature, events.MustDate("2025-10-25")
			n.Reference, n.Source = "C.N.196.2025.TREATIES-XVIII.16", vovworld
		})},
		{"deposit", deposit},
		{"deposit-completes-threshold", completing},
		{"act", with(func(n *notifiers.Notice) {
			n.Kind, n.Position = notifiers.KindAct, 540
			n.Participant, n.Action, n.Date = "Azerbaijan", events.ParliamentaryApproval, events.MustDate("2026-02-10")
			n.Source = "Milli Majlis approval law (trend.az, report.az)"
			n.Text = "Approved with declarations and reservations; no instrument deposited yet."
		})},
		{"milestone", with(func(n *notifiers.Notice) {
			n.Kind, n.Position, n.Percent = notifiers.KindMilestone, 700, 50
			n.Participant, n.Action, n.Date = "Qatar", events.Ratification, events.MustDate("2026-07-01")
			n.Reference, n.Counted = "C.N.401.2026.TREATIES-XVIII.16", 20
		})},
		{"to-go", with(func(n *notifiers.Notice) {
			n.Kind, n.Position = notifiers.KindToGo, 990
			n.Participant, n.Action, n.Date = "Uruguay", events.Ratification, events.MustDate("2027-01-20")
			n.Reference, n.Counted = "C.N.31.2027.TREATIES-XVIII.16", 35
		})},
		{"threshold", with(func(n *notifiers.Notice) {
			*n = completing
			n.Kind = notifiers.KindThreshold
		})},
		{"in-force", with(func(n *notifiers.Notice) {
			n.Kind, n.Date, n.EntryIntoForce, n.Counted = notifiers.KindInForce, inForceDay, inForceDay, 40
		})},
		{"countdown-30", with(func(n *notifiers.Notice) {
			n.Kind, n.Date, n.EntryIntoForce, n.Counted, n.DaysLeft = notifiers.KindCountdown, inForceDay.AddDays(-30), inForceDay, 40, 30
		})},
		{"countdown-1", with(func(n *notifiers.Notice) {
			n.Kind, n.Date, n.EntryIntoForce, n.Counted, n.DaysLeft = notifiers.KindCountdown, inForceDay.AddDays(-1), inForceDay, 40, 1
		})},
		{"signature-window", with(func(n *notifiers.Notice) {
			n.Kind, n.Date, n.DaysLeft, n.Counted, n.Source = notifiers.KindSignatureWindow, events.MustDate("2026-12-31"), 30, 12, untc
		})},
		{"protocol", with(func(n *notifiers.Notice) {
			n.Kind, n.Position, n.Action, n.Date = notifiers.KindProtocol, 1200, events.ProtocolProposed, events.MustDate("2027-09-01")
			n.Text = "Draft protocol supplementary to the Convention, addressing additional criminal offences."
			n.Counted, n.EntryIntoForce = 40, inForceDay
		})},
		{"correction", with(func(n *notifiers.Notice) {
			n.Kind, n.Position = notifiers.KindCorrection, 815
			n.Participant, n.Action, n.Date = "Viet Nam", events.Ratification, events.MustDate("2026-09-16")
			n.Reference, n.Counted = "C.N.512.2026.TREATIES-XVIII.16", 28
			n.Text = "Date of deposit corrected from 2026-09-15 to 2026-09-16 (the depositary re-issued C.N.512.2026 & its annex)."
		})},
		{"retraction", with(func(n *notifiers.Notice) {
			n.Kind, n.Position = notifiers.KindRetraction, 816
			n.Participant, n.Action, n.Date = "Côte d'Ivoire", events.Accession, events.MustDate("2026-10-02")
			n.Counted = 27
			n.Text = "Recorded in error: the notification was a declaration <not an instrument of accession>."
		})},
		{"digest", notifiers.Notice{Kind: notifiers.KindDigest, Digest: &notifiers.Digest{
			Since: time.Date(2027, 3, 8, 9, 0, 0, 0, time.UTC),
			Until: time.Date(2027, 3, 15, 9, 0, 0, 0, time.UTC),
			Items: []notifiers.Notice{
				with(func(n *notifiers.Notice) {
					n.Kind, n.Participant, n.Action, n.Date, n.Counted = notifiers.KindDeposit, "Chile", events.Ratification, events.MustDate("2027-03-09"), 38
				}),
				with(func(n *notifiers.Notice) {
					n.Kind, n.Participant, n.Action, n.Date, n.Counted = notifiers.KindDeposit, "France", events.Approval, events.MustDate("2027-03-12"), 39
				}),
				completing,
				with(func(n *notifiers.Notice) { *n = completing; n.Kind = notifiers.KindThreshold }),
			},
			Progress: []notifiers.Progress{{Treaty: hanoi, TreatyName: hanoiName, Counted: 40, Required: 40, EntryIntoForce: inForceDay}},
		}}},
	}
}

// TestRenderGolden renders one notice of each kind and compares the
// Block Kit JSON of its card (SlackMessage) and its plain text
// (PlainText, the console's) with testdata/<name>.golden and
// testdata/<name>.txt.
func TestRenderGolden(t *testing.T) {
	kinds := map[string]bool{}
	for _, tc := range hanoiNotices() {
		t.Run(tc.name, func(t *testing.T) {
			kinds[tc.notice.Kind] = true
			msg := notifiers.Render(tc.notice)
			blocks := notifiers.SlackMessage(msg.Card).Blocks.BlockSet
			checkLimits(t, blocks)
			golden(t, tc.name+".golden", mustIndent(t, blocks))
			golden(t, tc.name+".txt", []byte(notifiers.PlainText(msg.Card)))
			if tc.notice.Kind == notifiers.KindDigest {
				if msg.ThreadKey != "" {
					t.Errorf("digest ThreadKey = %q, want none", msg.ThreadKey)
				}
			} else if msg.ThreadKey != hanoi {
				t.Errorf("ThreadKey = %q, want %q", msg.ThreadKey, hanoi)
			}
			if msg.ThreadTS != "" || msg.DeliveryID != 0 {
				t.Errorf("Render set ThreadTS %q / DeliveryID %d; the caller sets them", msg.ThreadTS, msg.DeliveryID)
			}
		})
	}
	for _, k := range []string{notifiers.KindDeposit, notifiers.KindSignature, notifiers.KindAct, notifiers.KindMilestone,
		notifiers.KindToGo, notifiers.KindThreshold, notifiers.KindInForce, notifiers.KindCountdown, notifiers.KindSignatureWindow,
		notifiers.KindProtocol, notifiers.KindCorrection, notifiers.KindRetraction, notifiers.KindDigest} {
		if !kinds[k] {
			t.Errorf("no golden case for kind %q", k)
		}
	}
}

func TestRenderFallbackText(t *testing.T) {
	want := map[string]string{
		"signature": "Hanoi Convention: Signature by Viet Nam\nViet Nam signed the Hanoi Convention on 25 October 2025.",
		"deposit":   "Hanoi Convention: Ratification by Viet Nam\nViet Nam deposited an instrument of ratification on 15 September 2026.",
		"deposit-completes-threshold": "Hanoi Convention: Ratification by Azerbaijan\nAzerbaijan deposited an instrument of ratification on 15 March 2027.\n" +
			"This is the 40th instrument: the threshold is reached. The Hanoi Convention enters into force on 13 June 2027.",
		"countdown-1":  "Hanoi Convention: 1 day to entry into force\nThe Hanoi Convention enters into force on 13 June 2027 — in 1 day.",
		"retraction":   "Hanoi Convention: Retraction: Accession by Côte d'Ivoire\nA recorded act was retracted: the treaty's standing no longer takes it into account.\nWhat changed: Recorded in error: the notification was a declaration &lt;not an instrument of accession&gt;.",
		"digest":       "treatywatch digest — 15 March 2027: From 8 March 2027 09:00 UTC to 15 March 2027 09:00 UTC · 4 updates on 1 treaty",
		"to-go":        "Hanoi Convention: 5 to go\nThe Hanoi Convention needs 5 more instruments to enter into force (35 of 40 deposited).\nLatest: Ratification by Uruguay on 20 January 2027.",
		"threshold":    "Hanoi Convention: Threshold reached — in force on 13 June 2027\nThe 40th instrument was deposited by Azerbaijan on 15 March 2027. The Hanoi Convention enters into force on 13 June 2027.",
		"in-force":     "Hanoi Convention: Enters into force today\nThe Hanoi Convention enters into force today, 13 June 2027. 40 instruments counted towards its entry into force.",
		"milestone":    "Hanoi Convention: 50% of the threshold reached\nThe Hanoi Convention now has 20 of the 40 instruments it needs to enter into force.\nLatest: Ratification by Qatar on 1 July 2026.",
		"protocol":     "Hanoi Convention: Protocol proposed\nA protocol to the Hanoi Convention was proposed on 1 September 2027.\nDraft protocol supplementary to the Convention, addressing additional criminal offences.",
		"countdown-30": "Hanoi Convention: 30 days to entry into force\nThe Hanoi Convention enters into force on 13 June 2027 — in 30 days.",
	}
	for _, tc := range hanoiNotices() {
		w, ok := want[tc.name]
		if !ok {
			continue
		}
		if got := notifiers.SlackMessage(notifiers.CardOf(tc.notice)).Text; got != w {
			t.Errorf("%s: Text =\n%q\nwant\n%q", tc.name, got, w)
		}
	}
}

func TestProgressBar(t *testing.T) {
	tests := []struct {
		name              string
		counted, required int
		want              string
	}{
		{"hanoi, 28 of 40", 28, 40, "▓▓▓▓▓▓▓░░░ 28 of 40 — 12 to go"},
		{"nothing deposited", 0, 40, "░░░░░░░░░░ 0 of 40 — 40 to go"},
		{"one short is not full", 39, 40, "▓▓▓▓▓▓▓▓▓░ 39 of 40 — 1 to go"},
		{"threshold", 40, 40, "▓▓▓▓▓▓▓▓▓▓ 40 of 40 — threshold reached"},
		{"past the threshold", 41, 40, "▓▓▓▓▓▓▓▓▓▓ 41 of 40 — threshold reached"},
		{"UNCAC, 30th instrument", 30, 30, "▓▓▓▓▓▓▓▓▓▓ 30 of 30 — threshold reached"},
		{"no threshold known", 3, 0, "3 counted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notifiers.ProgressBar(tt.counted, tt.required); got != tt.want {
				t.Errorf("ProgressBar(%d, %d) = %q, want %q", tt.counted, tt.required, got, tt.want)
			}
		})
	}
}

// TestRenderCutsLongTexts proves that texts longer than Slack's limits
// are cut on rune boundaries, with an ellipsis, in every block.
func TestRenderCutsLongTexts(t *testing.T) {
	long := strings.Repeat("Việt Nam — Công ước Hà Nội & <Liên Hợp Quốc>. ", 400) // ~18,000 runes, multibyte, escapes
	n := notifiers.Notice{
		Kind: notifiers.KindCorrection, Treaty: hanoi, Required: 40, Counted: 28,
		TreatyName:  strings.Repeat("Công ước của Liên Hợp Quốc về chống tội phạm mạng ", 6),
		Participant: strings.Repeat("Cộng hòa Xã hội chủ nghĩa Việt Nam ", 80),
		Action:      events.Ratification, Date: events.MustDate("2026-09-16"),
		Reference: strings.Repeat("C.N.512.2026.TREATIES-XVIII.16 ", 100),
		Source:    untc + " " + long,
		Text:      long,
	}
	msg := notifiers.SlackMessage(notifiers.CardOf(n))
	blocks := msg.Blocks.BlockSet
	checkLimits(t, blocks)
	h := blocks[0].(*slack.HeaderBlock)
	if got := utf8.RuneCountInString(h.Text.Text); got != notifiers.MaxHeaderText || !strings.HasSuffix(h.Text.Text, "…") {
		t.Errorf("header: %d runes ending %q, want exactly %d ending with …", got, lastRunes(h.Text.Text, 3), notifiers.MaxHeaderText)
	}
	s := blocks[1].(*slack.SectionBlock)
	if got := utf8.RuneCountInString(s.Text.Text); got > notifiers.MaxSectionText || got < notifiers.MaxSectionText-5 || !strings.HasSuffix(s.Text.Text, "…") {
		t.Errorf("section text: %d runes ending %q, want about %d ending with …", got, lastRunes(s.Text.Text, 3), notifiers.MaxSectionText)
	}
	if utf8.RuneCountInString(msg.Text) > notifiers.MaxFallbackText || !utf8.ValidString(msg.Text) {
		t.Errorf("fallback text: %d runes, valid UTF-8 %v", utf8.RuneCountInString(msg.Text), utf8.ValidString(msg.Text))
	}
}

// TestRenderLargeDigest feeds digests far beyond one Slack message: the
// 69 real Hanoi signatures (seed/hanoi-convention.csv) and five long
// correction notes per signatory, with 20 or 60 further followed
// treaties that had no news. The message must keep to 50 blocks and
// 3,000 characters per section, show every treaty's standing before
// further items while blocks last, and say how much it left out.
func TestRenderLargeDigest(t *testing.T) {
	sigs := hanoiSignatures(t)
	note := strings.Repeat("Tên gọi được chỉnh sửa theo danh sách của Tổng Thư ký Liên Hợp Quốc; ", 30)
	tests := []struct {
		name                   string
		others                 int
		hiddenTreaties         int
		minShownItems          int
		wantAllTreatiesVisible bool
	}{
		// 2 blocks of header and period, 1 for "and N more": 47 left; 21
		// headings, 26 sections of further Hanoi items.
		{"21 treaties", 20, 0, 69, true},
		// 61 treaties: 47 headings fit, 14 treaties are left out.
		{"61 treaties", 60, 14, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &notifiers.Digest{
				Since:    time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC),
				Until:    time.Date(2026, 1, 12, 9, 0, 0, 0, time.UTC),
				Progress: []notifiers.Progress{{Treaty: hanoi, TreatyName: hanoiName, Counted: 0, Required: 40}},
			}
			for i, s := range sigs {
				s.Position = int64(i + 1)
				d.Items = append(d.Items, s)
			}
			for _, s := range sigs {
				for k := range 5 {
					c := s
					c.Kind, c.Text = notifiers.KindCorrection, fmt.Sprintf("note %d: %s", k+1, note)
					d.Items = append(d.Items, c)
				}
			}
			for i := range tt.others {
				// Synthetic followed treaties with no news.
				d.Progress = append(d.Progress, notifiers.Progress{Treaty: fmt.Sprintf("TEST-%02d", i+1), TreatyName: fmt.Sprintf("Test treaty %d", i+1), Counted: i, Required: 60})
			}
			blocks := notifiers.SlackMessage(notifiers.CardOf(notifiers.Notice{Kind: notifiers.KindDigest, Digest: d})).Blocks.BlockSet
			checkLimits(t, blocks)
			if len(blocks) != notifiers.MaxBlocks {
				t.Errorf("%d blocks, want the message filled to %d", len(blocks), notifiers.MaxBlocks)
			}
			shownItems, shownTreaties := 0, 0
			var all strings.Builder
			for _, b := range blocks[2 : len(blocks)-1] {
				text := b.(*slack.SectionBlock).Text.Text
				all.WriteString(text + "\n")
				shownItems += strings.Count("\n"+text, "\n• ")
				if !strings.HasPrefix(text, "• ") {
					shownTreaties++
				}
			}
			if got, want := shownTreaties, 1+tt.others-tt.hiddenTreaties; got != want {
				t.Errorf("%d treaties shown, want %d", got, want)
			}
			if shownItems < tt.minShownItems {
				t.Errorf("%d items shown, want at least %d", shownItems, tt.minShownItems)
			}
			if tt.wantAllTreatiesVisible {
				for _, p := range d.Progress {
					if !strings.Contains(all.String(), "("+p.Treaty+")") {
						t.Errorf("treaty %s missing", p.Treaty)
					}
				}
			}
			last, ok := blocks[len(blocks)-1].(*slack.ContextBlock)
			if !ok {
				t.Fatalf("last block is %T, want the context \"and N more\" line", blocks[len(blocks)-1])
			}
			want := fmt.Sprintf("…and %d more updates not shown here.", len(d.Items)-shownItems)
			if tt.hiddenTreaties > 0 {
				want = fmt.Sprintf("…and %d more updates and %d more treaties not shown here.", len(d.Items)-shownItems, tt.hiddenTreaties)
			}
			if got := last.ContextElements.Elements[0].(*slack.TextBlockObject).Text; got != want {
				t.Errorf("last line = %q, want %q", got, want)
			}
			// The console has no limit: every item is printed.
			if got := strings.Count(notifiers.RenderText(notifiers.Notice{Kind: notifiers.KindDigest, Digest: d}), "\n  • "); got != len(d.Items) {
				t.Errorf("RenderText printed %d items, want %d", got, len(d.Items))
			}
		})
	}
}

func TestRenderEmptyDigest(t *testing.T) {
	n := notifiers.Notice{Kind: notifiers.KindDigest, Digest: &notifiers.Digest{
		Since: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC),
		Until: time.Date(2026, 1, 6, 9, 0, 0, 0, time.UTC),
	}}
	blocks := notifiers.SlackMessage(notifiers.CardOf(n)).Blocks.BlockSet
	checkLimits(t, blocks)
	if len(blocks) != 3 {
		t.Fatalf("%d blocks, want header, period and \"nothing new\"", len(blocks))
	}
	if got := blocks[2].(*slack.SectionBlock).Text.Text; got != "_Nothing new in this period._" {
		t.Errorf("section = %q", got)
	}
	wantText := "treatywatch digest — 6 January 2026\nFrom 5 January 2026 09:00 UTC to 6 January 2026 09:00 UTC · 0 updates on 0 treaties\nNothing new in this period.\n"
	if got := notifiers.RenderText(n); got != wantText {
		t.Errorf("RenderText =\n%q\nwant\n%q", got, wantText)
	}
}

// hanoiSignatures reads the shipped seed's real signatures.
func hanoiSignatures(tb testing.TB) []notifiers.Notice {
	tb.Helper()
	f, err := os.Open(filepath.Join("..", "seed", "hanoi-convention.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	var out []notifiers.Notice
	for _, r := range rows[1:] {
		out = append(out, notifiers.Notice{
			Kind: notifiers.KindSignature, Treaty: hanoi, TreatyName: hanoiName, Required: 40,
			Participant: r[0], Action: events.Action(r[1]), Date: events.MustDate(r[2]), Source: r[3],
		})
	}
	if len(out) != 69 {
		tb.Fatalf("%d signatures in the seed, want 69", len(out))
	}
	return out
}

// checkLimits fails the test if blocks break one of Slack's limits or
// hold invalid UTF-8.
func checkLimits(tb testing.TB, blocks []slack.Block) {
	tb.Helper()
	if len(blocks) == 0 || len(blocks) > notifiers.MaxBlocks {
		tb.Errorf("%d blocks, want 1 to %d", len(blocks), notifiers.MaxBlocks)
	}
	text := func(where string, o *slack.TextBlockObject, limit int) {
		if o == nil {
			return
		}
		if n := utf8.RuneCountInString(o.Text); n > limit || n == 0 {
			tb.Errorf("%s: %d characters, want 1 to %d", where, n, limit)
		}
		if !utf8.ValidString(o.Text) {
			tb.Errorf("%s: invalid UTF-8", where)
		}
	}
	for i, b := range blocks {
		where := fmt.Sprintf("block %d (%s)", i, b.BlockType())
		switch b := b.(type) {
		case *slack.HeaderBlock:
			text(where, b.Text, notifiers.MaxHeaderText)
			if b.Text.Type != slack.PlainTextType {
				tb.Errorf("%s: header text is %s, want plain_text", where, b.Text.Type)
			}
		case *slack.SectionBlock:
			text(where, b.Text, notifiers.MaxSectionText)
			if len(b.Fields) > notifiers.MaxFields {
				tb.Errorf("%s: %d fields, want at most %d", where, len(b.Fields), notifiers.MaxFields)
			}
			for j, f := range b.Fields {
				text(fmt.Sprintf("%s field %d", where, j), f, notifiers.MaxFieldText)
			}
			if b.Text == nil && len(b.Fields) == 0 {
				tb.Errorf("%s: empty section", where)
			}
		case *slack.ContextBlock:
			if n := len(b.ContextElements.Elements); n == 0 || n > notifiers.MaxContextElements {
				tb.Errorf("%s: %d elements", where, n)
			}
			for j, e := range b.ContextElements.Elements {
				text(fmt.Sprintf("%s element %d", where, j), e.(*slack.TextBlockObject), notifiers.MaxSectionText)
			}
		default:
			tb.Errorf("%s: unexpected block type %T", where, b)
		}
	}
}

// mustIndent marshals v as indented JSON, as the golden files hold it.
func mustIndent(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return append(b, '\n')
}

// golden compares got with testdata/name, or rewrites the file with
// -update.
func golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func lastRunes(s string, n int) string {
	r := []rune(s)
	return string(r[max(0, len(r)-n):])
}
