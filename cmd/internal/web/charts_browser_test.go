package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// chartImage is what the browser says of a chart <img> once loaded.
type chartImage struct {
	Src          string  `json:"src"`
	NaturalWidth float64 `json:"natural"`
	Width        float64 `json:"width"`
	Right        float64 `json:"right"`
	Viewport     float64 `json:"viewport"`
}

// loadedChart waits until the image sel has loaded and measures it.
func loadedChart(t *testing.T, ctx context.Context, sel string) chartImage {
	t.Helper()
	return mustRun(t, ctx, "wait for "+sel, chromedp.Poll[chartImage](`(() => {
		const i = document.querySelector('`+sel+`');
		if (!i || !i.complete || i.naturalWidth === 0) return null;
		const r = i.getBoundingClientRect();
		return {src: i.currentSrc, natural: i.naturalWidth, width: r.width, right: r.right, viewport: window.innerWidth};
	})()`))
}

// TestBrowserShowsTheCharts opens the Paris Agreement's treaty page (a
// weighted condition) and the compare page at desktop and phone width:
// the chart loads, the phone gets the phone-sized chart, no chart lies
// past the right edge, and the chart's smallest type (10 pt in the
// drawing) stays at least 10 px tall as shown. Screenshots of the chart
// sections go to the artifacts folder for a person to look at.
func TestBrowserShowsTheCharts(t *testing.T) {
	ctx := newBrowserContext(t)
	e := MustEnv(t, envOptions{})
	dir := artifactsDir(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pages := []struct{ path, img, section, name string }{
		{"/treaties/paris", "#treaty-chart", ".chart-section", "chart-paris"},
		{"/compare?ids=hanoi,XXI-10,XXVI-8,XXVI-9&max_days=1200", "#compare-chart", "main", "compare"},
	}
	for _, p := range pages {
		for _, v := range []struct {
			suffix string
			w, h   int64
			phone  bool
		}{{"", 1280, 900, false}, {"-phone", 390, 844, true}} {
			// A blank page first: resizing a page with a <picture> would
			// start loading the other chart, and leaving then abort it.
			mustDo(t, ctx, "open "+p.path, chromedp.Navigate("about:blank"), chromedp.EmulateViewport(v.w, v.h),
				chromedp.Navigate(e.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.img)))
			img := loadedChart(t, ctx, p.img)
			if got := strings.Contains(img.Src, "size=phone"); got != v.phone {
				t.Errorf("%s at %d px shows %s; want the phone chart: %v", p.path, v.w, img.Src, v.phone)
			}
			if img.Right > img.Viewport+1 {
				t.Errorf("%s at %d px: the chart ends at %.0f px, past the %.0f px viewport", p.path, v.w, img.Right, img.Viewport)
			}
			// 10 pt in the drawing is 13.3 CSS px at its own size.
			if smallest := 10 * 4.0 / 3 * img.Width / img.NaturalWidth; smallest < 10 {
				t.Errorf("%s at %d px: the chart is shown at %.0f of %.0f px, its smallest type %.1f px tall; want at least 10", p.path, v.w, img.Width, img.NaturalWidth, smallest)
			}
			if mustRun(t, ctx, "page width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)) {
				t.Errorf("%s scrolls sideways at %d px", p.path, v.w)
			}
			shot := mustRun(t, ctx, "screenshot "+p.name, chromedp.Screenshot(chromedp.CSS(p.section)))
			if err := os.WriteFile(filepath.Join(dir, p.name+v.suffix+".png"), shot, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	mustDo(t, ctx, "desktop again", chromedp.EmulateViewport(1280, 900))
}
