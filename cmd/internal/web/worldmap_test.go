package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// mapState returns the data-state of a country's path on a page's map.
func mapState(tb testing.TB, page []byte, m49 string) string {
	tb.Helper()
	re := regexp.MustCompile(`<path d="[^"]*" fill="[^"]*"(?: stroke="[^"]*")? vector-effect="non-scaling-stroke" data-m49="` + m49 + `" data-state="([a-z-]+)">`)
	m := re.FindSubmatch(page)
	if m == nil {
		tb.Fatalf("no map path for M49 %s on the page", m49)
	}
	return string(m[1])
}

// TestTreatyPageMapIsAsOfThePageDate: the treaty page's map follows the
// page's as-of date, and the home page's map the treaty asked for.
func TestTreatyPageMapIsAsOfThePageDate(t *testing.T) {
	e := MustEnv(t, envOptions{})
	for _, tc := range []struct {
		path, want string
	}{
		{"/treaties/" + hanoi, "signed"},
		{"/treaties/" + hanoi + "?as_of=2025-10-24", "none"}, // the day before the Hanoi signing ceremony
		{"/treaties/hanoi?as_of=2025-10-25", "signed"},
		{"/", "signed"},                        // the default: the Hanoi Convention, the one on its way with acts
		{"/?map=XVIII-16", "signed"},           // by id
		{"/?map=XXVI-8", "none"},               // the ATT: no act shipped in the seed
		{"/?map=hanoi%20convention", "signed"}, // by title, as a treaty page's address
	} {
		res := e.Get(tc.path)
		if res.Status != http.StatusOK {
			t.Errorf("GET %s = %d", tc.path, res.Status)
			continue
		}
		if got := mapState(t, res.Body, "704"); got != tc.want {
			t.Errorf("GET %s: Viet Nam is %q on the map; want %q", tc.path, got, tc.want)
		}
		if n := strings.Count(string(res.Body), `id="map-svg"`); n != 1 {
			t.Errorf("GET %s: %d maps; want one", tc.path, n)
		}
	}
	res := e.Get("/?map=XXVII-99")
	if res.Status != http.StatusNotFound || !strings.Contains(string(res.Body), "XXVII-99") {
		t.Errorf("GET /?map=XXVII-99 = %d; want 404 naming the unknown treaty", res.Status)
	}
}
