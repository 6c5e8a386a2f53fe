package untc_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/untc"
	"github.com/treatywatch/treatywatch/events"
)

func server(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

func TestFetchRefusals(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	base := server(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/unavailable":
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		case "/html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte("<p>Maintenance</p>"))
		case "/big":
			_, _ = w.Write([]byte(strings.Repeat("x", 2048)))
		case "/slow":
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}
	})
	f := untc.NewFetcher(untc.FetcherConfig{Timeout: 200 * time.Millisecond, MaxBytes: 1024})
	host := strings.TrimPrefix(base, "http://")
	for _, tc := range []struct{ url, want string }{
		{base + "/unavailable", "GET " + base + "/unavailable: the server answered 503 Service Unavailable, not 200 OK"},
		{base + "/html", "not a UNTC status file: got HTML from " + base + "/html"},
		{base + "/big", "GET " + base + "/big: the file is larger than 1024 bytes"},
		{base + "/slow", "GET " + base + "/slow: reading the body: no complete answer within 200ms"},
		{"http://officer:s3cret@" + host + "/unavailable", "GET http://officer:xxxxx@" + host + "/unavailable: the server answered 503"},
		{"ftp://treaties.un.org/x.xml", "url: ftp://treaties.un.org/x.xml: want an http:// or https:// URL"},
		{"treaties.un.org/x.xml", "url: treaties.un.org/x.xml: want an http:// or https:// URL"},
	} {
		_, err := f.Fetch(context.Background(), tc.url, untc.Validators{})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: err %v\nwant it to start %q", tc.url, err, tc.want)
		}
	}
	_, err := f.Fetch(context.Background(), "ftp://x/y", untc.Validators{})
	if !errors.Is(err, events.ErrInvalid) {
		t.Errorf("a bad URL: %v, want ErrInvalid", err)
	}
}

func TestFetchSendsTheValidators(t *testing.T) {
	t.Parallel()
	var got http.Header
	base := server(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(http.StatusNotModified)
	})
	prev := untc.Validators{ETag: `"abc"`, LastModified: "Fri, 20 Nov 2026 08:00:00 GMT"}
	res, err := untc.NewFetcher(untc.FetcherConfig{}).Fetch(context.Background(), base+"/x.xml", prev)
	if err != nil {
		t.Fatal(err)
	}
	if !res.NotModified || res.Validators != prev || len(res.Body) != 0 {
		t.Errorf("result %+v", res)
	}
	if got.Get("If-None-Match") != `"abc"` || got.Get("If-Modified-Since") != prev.LastModified {
		t.Errorf("request headers %v", got)
	}
}
