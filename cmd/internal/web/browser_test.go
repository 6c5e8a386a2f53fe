package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium; CI installs it in .ci/run.
const chromiumPath = "/usr/bin/chromium"

// artifactsDir is where the browser test saves its screenshots:
// $TREATYWATCH_ARTIFACTS, or artifacts/ at the repository root (ignored
// by git).
func artifactsDir(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("TREATYWATCH_ARTIFACTS"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "artifacts")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(dir, "artifacts")
		}
	}
}

// newBrowserContext starts headless chromium with a fresh profile and no
// background networking (this machine has no network).
func newBrowserContext(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the end-to-end browser test needs Debian's chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	return bctx
}

func mustRun[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func mustDo(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestBrowserRecordsARatification drives the dashboard as an officer
// would: find the Hanoi Convention's progress, sign in, record a
// ratification, and see the count, the table and the curve change.
func TestBrowserRecordsARatification(t *testing.T) {
	ctx := newBrowserContext(t)
	e := MustEnv(t, envOptions{})

	mustDo(t, ctx, "open the dashboard", chromedp.Navigate(e.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#treaty-XVIII-16 .count`)))
	progress := mustRun(t, ctx, "read the progress", chromedp.Text(chromedp.CSS(`#treaty-XVIII-16 .count`)))
	if !strings.Contains(progress, "0 of 40") {
		t.Errorf("home page progress = %q; want 0 of 40", progress)
	}
	lang := mustRun(t, ctx, "read lang", chromedp.Evaluate[string](`document.documentElement.lang`))
	if lang != "en" {
		t.Errorf("lang = %q", lang)
	}

	mustDo(t, ctx, "open the treaty page",
		chromedp.Click(chromedp.CSS(`#treaty-XVIII-16 h2 a`)),
		chromedp.WaitVisible(chromedp.CSS(`#curve`)))
	before := mustRun(t, ctx, "read the curve", chromedp.AttributeValue(chromedp.CSS(`#curve`), "data-counted"))
	if before.Value != "0" {
		t.Errorf("curve counted = %q before; want 0", before.Value)
	}

	// The table sorter, from the keyboard: focus "Signature", press Enter,
	// and the table sorts in place. (Keyboard rather than a mouse click at
	// coordinates, which a late layout shift can make miss on a busy
	// machine; it also proves the sorter is keyboard-accessible.)
	mustDo(t, ctx, "sort by signature",
		chromedp.WaitVisible(chromedp.CSS(`#participants th[data-key="signature"] button`)),
		chromedp.Focus(chromedp.CSS(`#participants th[data-key="signature"] button`)),
		chromedp.KeyEvent("\r"),
		chromedp.Poll[chromedp.Void](`document.querySelector('#participants th[data-key="signature"]').getAttribute("aria-sort") === "ascending"`,
			chromedp.WithPollingTimeout(5*time.Second)))
	sorted := mustRun(t, ctx, "read aria-sort", chromedp.AttributeValue(chromedp.CSS(`#participants th[data-key="signature"]`), "aria-sort"))
	if sorted.Value != "ascending" {
		t.Errorf("aria-sort after Enter on the column's button = %q", sorted.Value)
	}

	mustDo(t, ctx, "sign in",
		chromedp.Click(chromedp.CSS(`#signin-link`)),
		chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SendKeys(chromedp.CSS(`#token`), e.Officer),
		chromedp.Submit(chromedp.CSS(`#token`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/treaties/XVIII-16/record"]`)))
	who := mustRun(t, ctx, "read who", chromedp.Text(chromedp.CSS(`.who`)))
	if !strings.Contains(who, "Officer Ada") {
		t.Errorf("header says %q; want Officer Ada signed in", who)
	}

	mustDo(t, ctx, "record a ratification",
		chromedp.Click(chromedp.CSS(`a[href="/treaties/XVIII-16/record"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#participant`)),
		chromedp.SetValue(chromedp.CSS(`#action`), "ratification"),
		chromedp.SendKeys(chromedp.CSS(`#participant`), "Viet Nam"),
		chromedp.SetValue(chromedp.CSS(`#date`), "2026-05-04"),
		chromedp.SendKeys(chromedp.CSS(`#reference`), "C.N.12.2026.TREATIES-XVIII.16"),
		chromedp.Click(chromedp.CSS(`form.stack button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)))

	count := mustRun(t, ctx, "read the count", chromedp.Text(chromedp.CSS(`#count`)))
	if !strings.Contains(count, "1 of 40") {
		t.Errorf("count after recording = %q; want 1 of 40", count)
	}
	row := mustRun(t, ctx, "read Viet Nam's row", chromedp.Evaluate[string](
		`Array.from(document.querySelectorAll('#participants tbody tr')).find(r => r.cells[0].querySelector('a').textContent.trim() === 'Viet Nam').cells[2].innerHTML`))
	// A ratification carries no UNTC mark (an accession would show "a").
	if !strings.Contains(row, `<time datetime="2026-05-04">4 May 2026</time>`) || strings.Contains(row, `class="mark"`) {
		t.Errorf("Viet Nam's consent cell = %q; want its ratification of 4 May 2026, without a mark", row)
	}
	after := mustRun(t, ctx, "read the curve", chromedp.AttributeValue(chromedp.CSS(`#curve`), "data-counted"))
	points := mustRun(t, ctx, "read the curve", chromedp.AttributeValue(chromedp.CSS(`#curve`), "data-points"))
	if after.Value != "1" || points.Value != "1" {
		t.Errorf("curve counted = %q with %q points; want 1 and 1", after.Value, points.Value)
	}

	dir := artifactsDir(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := mustRun(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	path := filepath.Join(dir, "treaty-page.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	mustDo(t, ctx, "phone viewport", chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#curve`)))
	phone := mustRun(t, ctx, "phone screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, "treaty-page-phone.png"), phone, 0o644); err != nil {
		t.Fatal(err)
	}
	overflow := mustRun(t, ctx, "page width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if overflow {
		t.Error("the treaty page scrolls sideways on a phone")
	}
	t.Logf("screenshots in %s", dir)
}
