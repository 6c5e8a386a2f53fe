package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// shoot saves a screenshot of the page at path, at desktop width
// (artifacts/NAME.png) and at phone width (artifacts/NAME-phone.png),
// waiting for sel each time.
func shoot(t *testing.T, ctx context.Context, url, sel, name string) {
	t.Helper()
	dir := artifactsDir(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		suffix string
		w, h   int64
	}{{"", 1280, 900}, {"-phone", 390, 844}} {
		mustDo(t, ctx, "open "+name, chromedp.EmulateViewport(v.w, v.h), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(sel)))
		shot := mustRun(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
		if err := os.WriteFile(filepath.Join(dir, name+v.suffix+".png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustDo(t, ctx, "desktop again", chromedp.EmulateViewport(1280, 900))
}

// TestBrowserFiltersTheParticipantTable filters the table as a reader
// would, by name, region and status, with no page load; the address
// keeps the filter, and the same address opened again (by the server)
// shows the same rows.
func TestBrowserFiltersTheParticipantTable(t *testing.T) {
	ctx := newBrowserContext(t)
	e := MustEnv(t, envOptions{})
	mustRecord(t, e, statementActs()...)
	shown := `Array.from(document.querySelectorAll('#participants tbody tr')).filter(r => !r.hidden && r.offsetParent !== null).map(r => r.cells[0].querySelector('a').textContent).join('|')`

	mustDo(t, ctx, "open the treaty page",
		chromedp.Navigate(e.URL+"/treaties/hanoi"),
		chromedp.WaitVisible(chromedp.CSS(`#filter-q`)),
		chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`),
		chromedp.SendKeys(chromedp.CSS(`#filter-q`), "viet"),
		chromedp.Poll[chromedp.Void](`document.getElementById('shown-count').textContent === '1'`, chromedp.WithPollingTimeout(5*time.Second)))
	if got := mustRun(t, ctx, "rows shown", chromedp.Evaluate[string](shown)); got != "Viet Nam" {
		t.Errorf("name filter shows %q", got)
	}
	mustDo(t, ctx, "filter by status and region",
		chromedp.Evaluate[chromedp.Void](`(q => { q.value = ''; q.dispatchEvent(new Event('input')); })(document.getElementById('filter-q'))`),
		chromedp.Evaluate[chromedp.Void](`(s => { s.value = 'party'; s.dispatchEvent(new Event('change')); })(document.getElementById('filter-status'))`),
		chromedp.Poll[chromedp.Void](`document.getElementById('shown-count').textContent === '3'`, chromedp.WithPollingTimeout(5*time.Second)))
	if got := mustRun(t, ctx, "rows shown", chromedp.Evaluate[string](shown)); got != "France|Japan|Viet Nam" {
		t.Errorf("status filter shows %q", got)
	}
	mustDo(t, ctx, "filter by region",
		chromedp.Evaluate[chromedp.Void](`(s => { s.value = 'Europe'; s.dispatchEvent(new Event('change')); })(document.getElementById('filter-region'))`),
		chromedp.Poll[chromedp.Void](`document.getElementById('shown-count').textContent === '1'`, chromedp.WithPollingTimeout(5*time.Second)))
	if got := mustRun(t, ctx, "rows shown", chromedp.Evaluate[string](shown)); got != "France" {
		t.Errorf("region and status filter shows %q", got)
	}
	// Pressing Enter in the form does not load a page either.
	mustDo(t, ctx, "submit", chromedp.Click(chromedp.CSS(`#participant-filter button[type=submit]`)))
	same := mustRun(t, ctx, "same document", chromedp.Evaluate[bool](`window.__sameDocument === true`))
	if !same {
		t.Error("filtering loaded a new page")
	}
	loc := mustRun(t, ctx, "address", chromedp.Evaluate[string](`location.search`))
	if loc != "?status=party&region=Europe" {
		t.Errorf("address after filtering = %q", loc)
	}
	shoot(t, ctx, e.URL+"/treaties/hanoi"+loc, `#participants`, "treaty-filtered")
	if got := mustRun(t, ctx, "rows shown after a load", chromedp.Evaluate[string](shown)); got != "France" {
		t.Errorf("the filtered address, loaded, shows %q", got)
	}
}

// TestBrowserStatementColumns opens a reservation's text from the R
// column and checks the CoE letters and the legend are there.
func TestBrowserStatementColumns(t *testing.T) {
	ctx := newBrowserContext(t)
	e := MustEnv(t, envOptions{})
	mustRecord(t, e, statementActs()...)
	austriaR := `Array.from(document.querySelectorAll('#participants tbody tr')).find(r => r.cells[0].querySelector('a').textContent === 'Austria').querySelector('td[data-label="Reservations"]')`
	mustDo(t, ctx, "open the treaty page", chromedp.Navigate(e.URL+"/treaties/hanoi"), chromedp.WaitVisible(chromedp.CSS(`#participants`)))
	letters := mustRun(t, ctx, "column letters", chromedp.Evaluate[string](`Array.from(document.querySelectorAll('#participants thead th.letter')).map(th => th.textContent).join('')`))
	if letters != "RDTCOP" {
		t.Errorf("statement columns %q; want RDTCOP", letters)
	}
	if mustRun(t, ctx, "closed", chromedp.Evaluate[bool](austriaR+`.querySelector('ul').checkVisibility()`)) {
		t.Error("the reservation's text shows before it is asked for")
	}
	mustDo(t, ctx, "open Austria's R", chromedp.Evaluate[chromedp.Void](austriaR+`.querySelector('summary').scrollIntoView()`),
		chromedp.Evaluate[chromedp.Void](austriaR+`.querySelector('summary').focus()`), chromedp.KeyEvent("\r"),
		chromedp.Poll[chromedp.Void](austriaR+`.querySelector('details').open`, chromedp.WithPollingTimeout(5*time.Second)))
	if !mustRun(t, ctx, "open", chromedp.Evaluate[bool](austriaR+`.querySelector('ul').checkVisibility()`)) {
		t.Error("the reservation's text is not shown once asked for")
	}
	text := mustRun(t, ctx, "reservation text", chromedp.Evaluate[string](austriaR+`.querySelector('ul').innerText`))
	if !strings.Contains(text, `=HYPERLINK("http://evil.example","article 22(2) does not apply")`) || !strings.Contains(text, "10 May 2026") {
		t.Errorf("the reservation reads %q", text)
	}
	open := mustRun(t, ctx, "screenshot of the open reservation", chromedp.CaptureScreenshot())
	if err := os.MkdirAll(artifactsDir(t), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(artifactsDir(t), "treaty-statement-open.png"), open, 0o644); err != nil {
		t.Fatal(err)
	}
	legend := mustRun(t, ctx, "legend", chromedp.Text(chromedp.CSS(`#participants-legend`)))
	for _, w := range []string{"accession", "approval", "succession", "provisional application", "Council of Europe"} {
		if !strings.Contains(legend, w) {
			t.Errorf("legend lacks %q", w)
		}
	}
	shoot(t, ctx, e.URL+"/treaties/hanoi", `#participants`, "treaty-page-statements")
}

// TestBrowserDownloads clicks each download button and compares the file
// the browser saved with the server's answer.
func TestBrowserDownloads(t *testing.T) {
	ctx := newBrowserContext(t)
	e := MustEnv(t, envOptions{})
	mustRecord(t, e, statementActs()...)
	dir := t.TempDir()
	mustDo(t, ctx, "open the treaty page", chromedp.Navigate(e.URL+"/treaties/hanoi"), chromedp.WaitVisible(chromedp.CSS(`#download-participants-csv`)))
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	for _, d := range []struct{ button, path, file string }{
		{"download-participants-csv", "/treaties/XVIII-16/participants.csv", "XVIII-16-participants-2026-06-15.csv"},
		{"download-participants-json", "/treaties/XVIII-16/participants.json", "XVIII-16-participants-2026-06-15.json"},
		{"download-events-csv", "/treaties/XVIII-16/events.csv", "XVIII-16-events.csv"},
		{"download-events-jsonl", "/treaties/XVIII-16/events.jsonl", "XVIII-16-events.jsonl"},
	} {
		mustDo(t, ctx, "click "+d.button, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById(%q).click()`, d.button)))
		path := filepath.Join(dir, d.file)
		var got []byte
		deadline := time.Now().Add(15 * time.Second)
		for {
			b, err := os.ReadFile(path)
			if err == nil && len(b) > 0 {
				got = b
				break
			}
			if time.Now().After(deadline) {
				entries, _ := os.ReadDir(dir)
				t.Fatalf("%s: no %s downloaded (folder holds %v)", d.button, d.file, entries)
			}
			time.Sleep(50 * time.Millisecond)
		}
		res, err := http.Get(e.URL + d.path)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(got) != string(want) {
			t.Errorf("%s: the browser saved %d bytes unlike the %d the server sends", d.button, len(got), len(want))
		}
	}
}

// TestBrowserPhoneWidth reads the pages on a phone: no page scrolls
// sideways, no column of the participant table or of the import preview
// lies past the right edge, chart labels are at least 10 px tall, and no
// date wraps.
func TestBrowserPhoneWidth(t *testing.T) {
	ctx := newBrowserContext(t)
	e := MustEnv(t, envOptions{})
	mustRecord(t, e, statementActs()...)
	offRight := func(table string) string {
		return `Array.from(document.querySelectorAll('` + table + ` tbody tr')).filter(r => !r.hidden).flatMap(r => Array.from(r.cells)).filter(c => c.offsetParent !== null && c.getBoundingClientRect().right > window.innerWidth + 1).length`
	}
	wrapped := `Array.from(document.querySelectorAll('main time')).filter(t => t.offsetParent !== null && t.getClientRects().length > 1).length`
	sideways := `document.documentElement.scrollWidth > window.innerWidth + 1`

	mustDo(t, ctx, "phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(e.URL+"/treaties/hanoi"), chromedp.WaitVisible(chromedp.CSS(`#curve`)))
	if mustRun(t, ctx, "page width", chromedp.Evaluate[bool](sideways)) {
		t.Error("the treaty page scrolls sideways on a phone")
	}
	if n := mustRun(t, ctx, "cells off the edge", chromedp.Evaluate[int](offRight("#participants"))); n > 0 {
		t.Errorf("%d cells of the participant table lie past the right edge", n)
	}
	labelled := func(sel string) string {
		return `Array.from(` + sel + `.cells).filter(c => c.offsetParent !== null).map(c => getComputedStyle(c, '::before').content.replace(/^"|"$/g, '') + c.innerText.trim()).join(' | ')`
	}
	austria := mustRun(t, ctx, "Austria's row", chromedp.Evaluate[string](labelled(`Array.from(document.querySelectorAll('#participants tbody tr')).find(r => r.cells[0].querySelector('a').textContent === 'Austria')`)))
	if !strings.Contains(austria, "Reservations: R") || !strings.Contains(austria, "Declarations: D") || !strings.Contains(austria, "Signature: 25 Oct 2025") {
		t.Errorf("on a phone Austria's row reads %q; want its R and D cells labelled", austria)
	}
	if n := mustRun(t, ctx, "wrapped dates", chromedp.Evaluate[int](wrapped)); n > 0 {
		t.Errorf("%d dates wrap on a phone", n)
	}
	// The chart's type size on a phone: TestBrowserShowsTheCharts.

	for _, p := range []string{"/", "/participants/Austria", "/events?treaty=hanoi", "/participants"} {
		mustDo(t, ctx, "open "+p, chromedp.Navigate(e.URL+p), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
		if mustRun(t, ctx, "page width", chromedp.Evaluate[bool](sideways)) {
			t.Errorf("%s scrolls sideways on a phone", p)
		}
		if n := mustRun(t, ctx, "wrapped dates", chromedp.Evaluate[int](wrapped)); n > 0 {
			t.Errorf("%d dates wrap on %s on a phone", n, p)
		}
	}

	// The import preview, every column on screen.
	mustDo(t, ctx, "sign in", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(e.URL+"/signin?next=/treaties/hanoi/import"),
		chromedp.WaitVisible(chromedp.CSS(`#token`)), chromedp.SendKeys(chromedp.CSS(`#token`), e.Officer), chromedp.Submit(chromedp.CSS(`#token`)),
		chromedp.WaitVisible(chromedp.CSS(`#csv`)),
		chromedp.SetValue(chromedp.CSS(`#csv`), "participant,action,date,reference,source,note,subject\n"+
			"Brazil,ratification,2026-06-01,C.N.200.2026.TREATIES-XVIII.16,https://treaties.un.org/doc/Publication/CN/2026/CN.200.2026-Eng.pdf,Deposited at a ceremony in New York,\n"+
			"Brazil,objection,2026-06-02,C.N.201.2026.TREATIES-XVIII.16,https://treaties.un.org/doc/Publication/CN/2026/CN.201.2026-Eng.pdf,Brazil objects to the reservation,Austria\n"),
		chromedp.Click(chromedp.CSS(`form.stack button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#preview`)))
	dirA := artifactsDir(t)
	shot := mustRun(t, ctx, "import preview", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dirA, "import-preview.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	mustDo(t, ctx, "phone", chromedp.EmulateViewport(390, 844), chromedp.WaitVisible(chromedp.CSS(`#preview`)))
	if n := mustRun(t, ctx, "preview cells off the edge", chromedp.Evaluate[int](offRight("#preview"))); n > 0 {
		t.Errorf("%d cells of the import preview lie past the right edge on a phone", n)
	}
	cols := mustRun(t, ctx, "preview columns", chromedp.Evaluate[string](labelled(`document.querySelectorAll('#preview tbody tr')[1]`)))
	for _, w := range []string{"Line: 3", "Participant: Brazil", "Subject: Austria", "Note: Brazil objects", "Source: https://treaties.un.org/doc/Publication/CN/2026/CN.201.2026-Eng.pdf"} {
		if !strings.Contains(cols, w) {
			t.Errorf("the preview on a phone reads %q; want %q", cols, w)
		}
	}
	if mustRun(t, ctx, "page width", chromedp.Evaluate[bool](sideways)) {
		t.Error("the import preview scrolls sideways on a phone")
	}
	shot = mustRun(t, ctx, "import preview phone", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dirA, "import-preview-phone.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserScreenshots saves every page this work changed, at desktop
// and phone width, for a person to look at.
func TestBrowserScreenshots(t *testing.T) {
	ctx := newBrowserContext(t)
	e := MustEnv(t, envOptions{})
	mustRecord(t, e, statementActs()...)
	for _, p := range []struct{ path, sel, name string }{
		{"/", ".cards", "home"},
		{"/treaties/hanoi", "#participants", "treaty"},
		{"/participants/Austria", "#participant-treaties", "participant-austria"},
		{"/participants/Japan", "#participant-treaties", "participant-japan"},
		{"/events?treaty=hanoi", "table.events", "events"},
	} {
		shoot(t, ctx, e.URL+p.path, p.sel, p.name)
	}
}
