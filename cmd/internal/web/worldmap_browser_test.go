package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserWorldMap loads the Hanoi Convention's page and the home page
// in chromium, checks that the world map is drawn and visible with the
// signatories coloured, that the legend and the list of participants too
// small to see are there, and saves screenshots at desktop and phone
// width in artifacts/.
func TestBrowserWorldMap(t *testing.T) {
	ctx := newBrowserContext(t)
	e := MustEnv(t, envOptions{})
	dir := artifactsDir(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	save := func(name string, b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	type mapFacts struct {
		Width, Height       float64
		Paths, Signed, None int
		VietNamFill         string
		IndiaFill           string
		VietNamTitle        string
		LegendSigned        string
		SmallNauru          bool
		SmallEU             bool
	}
	const factsJS = `(() => {
	  const svg = document.querySelector('#map-svg');
	  const r = svg.getBoundingClientRect();
	  const vn = svg.querySelector('path[data-m49="704"]'), ind = svg.querySelector('path[data-m49="356"]');
	  const small = Array.from(document.querySelectorAll('.map-small div[data-state="signed"] .name')).map(n => n.textContent);
	  return {
	    Width: r.width, Height: r.height,
	    Paths: svg.querySelectorAll('path').length,
	    Signed: svg.querySelectorAll('path[data-state="signed"]').length,
	    None: svg.querySelectorAll('path[data-state="none"]').length,
	    VietNamFill: getComputedStyle(vn).fill, IndiaFill: getComputedStyle(ind).fill,
	    VietNamTitle: vn.querySelector('title').textContent,
	    LegendSigned: document.querySelector('.map-legend li[data-state="signed"]').dataset.count,
	    SmallNauru: small.includes('Nauru'), SmallEU: small.includes('European Union'),
	  };
	})()`
	check := func(where string, minWidth float64) {
		t.Helper()
		f := mustRun(t, ctx, "read the map", chromedp.Evaluate[mapFacts](factsJS))
		if f.Width < minWidth || f.Height < minWidth/3 {
			t.Errorf("%s: the map is %.0f × %.0f px; want at least %.0f wide", where, f.Width, f.Height, minWidth)
		}
		if f.Paths < 170 || f.Signed < 40 || f.None < 80 {
			t.Errorf("%s: %d paths, %d signed, %d without an act; want ~176 paths, most seeded signatories coloured", where, f.Paths, f.Signed, f.None)
		}
		if f.VietNamFill == f.IndiaFill || f.VietNamFill == "" {
			t.Errorf("%s: Viet Nam is filled %q and India %q; want signed and no act to differ", where, f.VietNamFill, f.IndiaFill)
		}
		if f.VietNamTitle != "Viet Nam: signed 25 Oct 2025" {
			t.Errorf("%s: Viet Nam's title = %q", where, f.VietNamTitle)
		}
		if f.LegendSigned != "69" {
			t.Errorf("%s: legend says %s signed; want the seed's 69", where, f.LegendSigned)
		}
		if !f.SmallNauru || !f.SmallEU {
			t.Errorf("%s: Nauru listed %v, the European Union listed %v beside the map; want both, as signed", where, f.SmallNauru, f.SmallEU)
		}
	}

	mustDo(t, ctx, "open the treaty page", chromedp.Navigate(e.URL+"/treaties/"+hanoi), chromedp.WaitVisible(chromedp.CSS(`#map-svg`)))
	check("treaty page", 600)
	save("map-treaty.png", mustRun(t, ctx, "screenshot the map", chromedp.Screenshot(chromedp.CSS(`#map`))))
	save("map-treaty-page.png", mustRun(t, ctx, "screenshot the page", chromedp.FullScreenshot(100)))

	mustDo(t, ctx, "phone viewport", chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#map-svg`)))
	check("treaty page on a phone", 300)
	save("map-treaty-phone.png", mustRun(t, ctx, "phone screenshot", chromedp.Screenshot(chromedp.CSS(`#map`))))
	if mustRun(t, ctx, "page width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)) {
		t.Error("the treaty page scrolls sideways on a phone")
	}

	// The home page: by default the first treaty on the way to entry into
	// force with an act (here the Hanoi Convention, the only seeded one with
	// acts); the form shows another, and back.
	mustDo(t, ctx, "desktop viewport", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(e.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#map-svg`)))
	check("home page", 600)
	if h := mustRun(t, ctx, "read the map's heading", chromedp.Text(chromedp.CSS(`#map-heading`))); !strings.HasPrefix(h, "Hanoi Convention") {
		t.Errorf("the home page's map heading = %q; want the Hanoi Convention by default", h)
	}
	mustDo(t, ctx, "choose the ATT", chromedp.SetValue(chromedp.CSS(`#map-treaty`), "XXVI-8"))
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`.map-choice button`))); err != nil {
		t.Fatalf("submit the map's form: %v", err)
	}
	mustDo(t, ctx, "wait for the map", chromedp.WaitVisible(chromedp.CSS(`#map-svg`)))
	if u := mustRun(t, ctx, "read the address", chromedp.Evaluate[string](`location.search + location.hash`)); u != "?map=XXVI-8#map-heading" {
		t.Errorf("the form went to %q; want ?map=XXVI-8#map-heading", u)
	}
	if h := mustRun(t, ctx, "read the map's heading", chromedp.Text(chromedp.CSS(`#map-heading`))); !strings.HasPrefix(h, "ATT") {
		t.Errorf("after choosing XXVI-8 the map heading = %q", h)
	}
	mustDo(t, ctx, "back to Hanoi", chromedp.Navigate(e.URL+"/?map=hanoi"), chromedp.WaitVisible(chromedp.CSS(`#map-svg`)))
	check("home page, ?map=hanoi", 600)
	save("map-home.png", mustRun(t, ctx, "screenshot the home map", chromedp.Screenshot(chromedp.CSS(`.map-section`))))
	mustDo(t, ctx, "phone viewport", chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#map-svg`)))
	save("map-home-phone.png", mustRun(t, ctx, "phone screenshot", chromedp.FullScreenshot(100)))
	if mustRun(t, ctx, "page width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)) {
		t.Error("the home page scrolls sideways on a phone")
	}
	t.Logf("screenshots in %s", dir)
}
