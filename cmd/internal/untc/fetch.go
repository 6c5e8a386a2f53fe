package untc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/treatywatch/treatywatch/events"
)

// FetcherConfig configures a Fetcher.
type FetcherConfig struct {
	// Client makes the requests; default a client with Timeout.
	Client *http.Client
	// Timeout bounds one request, body included; default 60 s. It is
	// applied through the request's context, so it holds with any Client.
	Timeout time.Duration
	// MaxBytes is the largest body read; default MaxFileBytes.
	MaxBytes int64
	// UserAgent is sent with every request; default "treatywatch".
	UserAgent string
}

func (c *FetcherConfig) setDefaults() {
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: c.Timeout}
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = MaxFileBytes
	}
	if c.UserAgent == "" {
		c.UserAgent = "treatywatch"
	}
}

// Fetcher gets status files over HTTP(S). It is safe for concurrent use.
type Fetcher struct{ cfg FetcherConfig }

// NewFetcher returns a Fetcher.
func NewFetcher(cfg FetcherConfig) *Fetcher {
	cfg.setDefaults()
	return &Fetcher{cfg: cfg}
}

// Validators are what a server said identifies the version it sent:
// sent back on the next request, they let it answer 304 Not Modified.
type Validators struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// Fetched is one answer.
type Fetched struct {
	// NotModified is true for a 304 answer to a conditional request: Body
	// is empty and the validators are the ones sent.
	NotModified bool
	Body        []byte
	Validators  Validators
}

// CheckURL checks that s is an absolute http or https URL with a host,
// and returns it parsed. Its errors wrap events.ErrInvalid and show the
// URL without a password.
func CheckURL(s string) (*url.URL, error) {
	if err := events.CheckText("url", s, events.LineText); err != nil {
		return nil, err
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, &events.InvalidError{Field: "url", Reason: "not a URL"}
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, &events.InvalidError{Field: "url", Reason: fmt.Sprintf("%s: want an http:// or https:// URL of the status file", u.Redacted())}
	}
	return u, nil
}

// SourceOf is what the acts imported from a URL record as their source:
// the URL without its user and password, which must never enter the log.
func SourceOf(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// FetchError is a fetch that failed: the server's status, a body too
// large, a network error. Its message names the URL without a password.
type FetchError struct {
	URL    string
	Status int // 0 when there was no answer
	Reason string
	Err    error
}

func (e *FetchError) Error() string { return "GET " + e.URL + ": " + e.Reason }

// Unwrap returns the underlying error, if any.
func (e *FetchError) Unwrap() error { return e.Err }

// Fetch gets the file at rawURL. With validators from an earlier answer
// it asks conditionally (If-None-Match, If-Modified-Since); a 304 is a
// Fetched with NotModified. Any other status but 200, a body larger than
// MaxBytes, and an HTML page (by its Content-Type) are errors: a
// *FetchError, or a *NotStatusFileError (wrapping events.ErrInvalid)
// for HTML.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string, prev Validators) (*Fetched, error) {
	u, err := CheckURL(rawURL)
	if err != nil {
		return nil, err
	}
	shown := u.Redacted()
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &FetchError{URL: shown, Reason: err.Error(), Err: err}
	}
	req.Header.Set("User-Agent", f.cfg.UserAgent)
	req.Header.Set("Accept", "application/xml, text/xml;q=0.9, */*;q=0.1")
	if prev.ETag != "" {
		req.Header.Set("If-None-Match", prev.ETag)
	}
	if prev.LastModified != "" {
		req.Header.Set("If-Modified-Since", prev.LastModified)
	}
	resp, err := f.cfg.Client.Do(req)
	if err != nil {
		reason := err.Error()
		var ue *url.Error
		if errors.As(err, &ue) { // its message repeats the URL
			reason = ue.Err.Error()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			reason = fmt.Sprintf("no complete answer within %s", f.cfg.Timeout)
		}
		return nil, &FetchError{URL: shown, Reason: reason, Err: err}
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return &Fetched{NotModified: true, Validators: prev}, nil
	case http.StatusOK:
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, &FetchError{URL: shown, Status: resp.StatusCode, Reason: fmt.Sprintf("the server answered %s, not 200 OK", resp.Status)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.cfg.MaxBytes+1))
	if err != nil {
		reason := err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			reason = fmt.Sprintf("no complete answer within %s", f.cfg.Timeout)
		}
		return nil, &FetchError{URL: shown, Status: resp.StatusCode, Reason: "reading the body: " + reason, Err: err}
	}
	if int64(len(body)) > f.cfg.MaxBytes {
		return nil, &FetchError{URL: shown, Status: resp.StatusCode, Reason: fmt.Sprintf("the file is larger than %d bytes", f.cfg.MaxBytes)}
	}
	// An HTML page, by its content or by its type (unless the body is an
	// XML document a server mislabelled).
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if isHTML(body) || strings.EqualFold(mt, "text/html") && !bytes.HasPrefix(bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\ufeff"))), []byte("<?xml")) {
		return nil, &NotStatusFileError{Got: "HTML" + htmlTitle(body) + " from " + shown}
	}
	return &Fetched{Body: body, Validators: Validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}}, nil
}
