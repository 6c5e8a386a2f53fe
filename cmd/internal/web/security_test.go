package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/web"
	"github.com/treatywatch/treatywatch/events"
)

// routePath fills a route pattern's wildcards with real values.
func routePath(pattern string) string {
	return strings.NewReplacer("{id}", "hanoi", "{pos}", "1", "{name}", "Viet%20Nam", "{file...}", "style.css", "{$}", "").Replace(pattern)
}

// badTokens are Authorization headers that must all get 401: none, other
// schemes, empty, malformed, unknown, revoked, a valid secret with junk.
func badTokens(tb testing.TB, e *env) map[string]string {
	tb.Helper()
	ctx := context.Background()
	revoked, tok, err := e.Ledger.CreateToken(ctx, "Gone Gus", events.RoleAdmin, events.Metadata{Actor: "test"})
	if err != nil {
		tb.Fatal(err)
	}
	if err := e.Ledger.RevokeToken(ctx, tok.ID, events.Metadata{Actor: "test"}); err != nil {
		tb.Fatal(err)
	}
	return map[string]string{
		"missing":              "",
		"basic scheme":         "Basic " + "YWRtaW46YWRtaW4=",
		"bearer without token": "Bearer",
		"bearer blank":         "Bearer    ",
		"token scheme":         "Token " + e.Admin,
		"no scheme":            e.Admin,
		"not a tw_ token":      "Bearer abc.def.ghi",
		"unknown tw_ token":    "Bearer tw_" + strings.Repeat("0", 64),
		"truncated token":      "Bearer " + e.Admin[:len(e.Admin)-1],
		"token with junk":      "Bearer " + e.Admin + "x",
		"two tokens":           "Bearer " + e.Admin + " " + e.Officer,
		"non-ASCII token":      "Bearer tw_é" + strings.Repeat("0", 63),
		"long token":           "Bearer tw_" + strings.Repeat("a", 8000),
		"revoked token":        "Bearer " + revoked,
	}
}

// TestEveryProtectedRouteChecksItsToken sends every API and ops route that
// needs a role (on a private instance, where reads need one too) every bad
// Authorization header (401) and every token of a role too low (403),
// with an Idempotency-Key: nothing is written, nothing is kept.
func TestEveryProtectedRouteChecksItsToken(t *testing.T) {
	e := MustEnv(t, envOptions{private: true})
	bad := badTokens(t, e)
	before := e.Head()
	roles := map[string]string{"viewer": e.Viewer, "officer": e.Officer, "admin": e.Admin}
	rank := map[string]int{"reader": 1, "viewer": 1, "officer": 2, "admin": 3}
	checked := 0
	for _, rt := range web.Routes(e.Server) {
		if rt.Access == "" || rt.Surface == "page" || strings.HasSuffix(rt.Pattern, "/stream") {
			continue
		}
		path := routePath(rt.Pattern)
		t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
			for name, h := range bad {
				var headers []string
				if h != "" {
					headers = append(headers, "Authorization: "+h)
				}
				r := e.Do(rt.Method, path, "", "application/json", []byte(`{}`), append(headers, "Idempotency-Key: auth-"+name)...)
				if r.Status != http.StatusUnauthorized || r.Err(t).Code != "unauthorized" || r.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: %d %s, want 401 unauthorized with WWW-Authenticate", name, r.Status, r.Body)
				}
			}
			for role, secret := range roles {
				if rank[role] >= rank[rt.Access] {
					continue
				}
				r := e.Do(rt.Method, path, secret, "application/json", []byte(`{}`), "Idempotency-Key: role-"+role)
				if r.Status != http.StatusForbidden || r.Err(t).Code != "forbidden" || !strings.Contains(r.Err(t).Message, "needs role "+roleName(rt.Access)) {
					t.Errorf("%s token: %d %s, want 403", role, r.Status, r.Body)
				}
			}
		})
		checked++
	}
	if checked < 14 {
		t.Errorf("only %d protected routes checked", checked)
	}
	// The live stream: the same refusals before it starts.
	for name, h := range bad {
		var headers []string
		if h != "" {
			headers = append(headers, "Authorization: "+h)
		}
		wantStatus(t, e.Do(http.MethodGet, "/api/v1/events/stream", "", "", nil, headers...), http.StatusUnauthorized)
		_ = name
	}
	// A refused request writes nothing and keeps no answer: the same key
	// with a good token does the write.
	if e.Head() != before {
		t.Errorf("refused requests moved the log from %d to %d", before, e.Head())
	}
	r := e.PostJSON("/api/v1/treaties/hanoi/actions", e.Officer, ratification(), "Idempotency-Key: role-viewer")
	wantStatus(t, r, http.StatusCreated)
}

func roleName(access string) string {
	if access == "reader" {
		return "viewer"
	}
	return access
}

// TestOfficerPagesNeedAnOfficerSession checks the dashboard's officer
// pages: no session → sign-in (GET) or 403 (POST); a viewer's session →
// 403; a revoked token's session ends.
func TestOfficerPagesNeedAnOfficerSession(t *testing.T) {
	e := MustEnv(t, envOptions{})
	for _, rt := range web.Routes(e.Server) {
		if rt.Surface != "page" || rt.Access != "officer" {
			continue
		}
		path := routePath(rt.Pattern)
		anon := newBrowser(e)
		viewer := newBrowser(e)
		viewer.signIn(t, e.Viewer)
		var r, rv response
		if rt.Method == http.MethodGet {
			r, rv = anon.get(path), viewer.get(path)
			wantStatus(t, r, http.StatusSeeOther)
			if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/signin?next=") {
				t.Errorf("GET %s without a session: Location %q", path, loc)
			}
		} else {
			r = anon.post(path, url.Values{"action": {"ratification"}, "participant": {"Viet Nam"}, "date": {"2026-05-04"}, "csrf": {"x"}})
			wantStatus(t, r, http.StatusForbidden)
			page := viewer.get("/treaties/hanoi")
			rv = viewer.post(path, url.Values{"action": {"ratification"}, "participant": {"Viet Nam"}, "date": {"2026-05-04"}, "csrf": {csrfIn(t, page)}})
		}
		if rv.Status != http.StatusForbidden || !bytes.Contains(rv.Body, []byte("needs role officer")) {
			t.Errorf("%s %s as a viewer: %d", rt.Method, path, rv.Status)
		}
	}
}

// TestPrivateInstanceReads checks --private: every read (API, live
// stream, /metrics, dashboard) needs a viewer token or session; the
// health checks, the OpenAPI description and the static files do not.
func TestPrivateInstanceReads(t *testing.T) {
	e := MustEnv(t, envOptions{private: true})
	for _, rt := range web.Routes(e.Server) {
		if rt.Method != http.MethodGet || strings.HasSuffix(rt.Pattern, "/stream") {
			continue
		}
		path := routePath(rt.Pattern)
		r := e.Get(path)
		switch {
		case rt.Access == "" || rt.Pattern == "/signin":
			wantStatus(t, r, http.StatusOK)
		case rt.Surface == "page":
			wantStatus(t, r, http.StatusSeeOther)
		default:
			if r.Status != http.StatusUnauthorized {
				t.Errorf("GET %s without a token: %d, want 401", path, r.Status)
			}
			if rt.Access == "reader" {
				wantStatus(t, e.Do(http.MethodGet, path, e.Viewer, "", nil), http.StatusOK)
			}
		}
	}
	// Named explicitly, whatever the routing table says.
	for _, path := range []string{"/healthz", "/readyz", "/api/v1/openapi.json", "/static/app.js", "/signin"} {
		wantStatus(t, e.Get(path), http.StatusOK)
	}
	wantStatus(t, e.Get("/metrics"), http.StatusUnauthorized)
	wantStatus(t, e.Do(http.MethodGet, "/metrics", "", "", nil, "Authorization: Bearer tw_"+strings.Repeat("0", 64)), http.StatusUnauthorized)
	r := e.Do(http.MethodGet, "/metrics", e.Viewer, "", nil)
	wantStatus(t, r, http.StatusOK)
	if !bytes.Contains(r.Body, []byte("treatywatch_log_head_position")) {
		t.Errorf("/metrics with a viewer token: %s", r.Body)
	}
	// A public instance keeps /metrics public.
	pub := MustEnv(t, envOptions{})
	wantStatus(t, pub.Get("/metrics"), http.StatusOK)
}

// TestOversizedBodies sends each kind of body one byte over its limit:
// 413 too_large, nothing written.
func TestOversizedBodies(t *testing.T) {
	e := MustEnv(t, envOptions{slackSecret: slackSecret})
	before := e.Head()
	bigJSON := []byte(`{"action":"ratification","participant":"Viet Nam","date":"2026-05-04","note":"` + strings.Repeat("a", 1<<20) + `"}`)
	bigCSV := []byte("participant,action,date,note\nViet Nam,ratification,2026-05-04," + strings.Repeat("a", 10<<20) + "\n")
	bigYAML := []byte(testTreatyYAML + "clause: " + strings.Repeat("a", 1<<20) + "\n")
	for _, c := range []struct {
		name, method, path, ct string
		body                   []byte
		headers                []string
	}{
		{"JSON action", http.MethodPost, "/api/v1/treaties/hanoi/actions", "application/json", bigJSON, nil},
		{"JSON action with a key", http.MethodPost, "/api/v1/treaties/hanoi/actions", "application/json", bigJSON, []string{"Idempotency-Key: big"}},
		{"JSON correction", http.MethodPost, "/api/v1/treaties/hanoi/events/5/correction", "application/json", bigJSON, nil},
		{"JSON retraction", http.MethodPost, "/api/v1/treaties/hanoi/events/5/retraction", "application/json", bigJSON, nil},
		{"JSON token", http.MethodPost, "/api/v1/tokens", "application/json", bigJSON, nil},
		{"CSV import", http.MethodPost, "/api/v1/treaties/hanoi/imports", "text/csv", bigCSV, nil},
		{"CSV import with a key", http.MethodPost, "/api/v1/treaties/hanoi/imports", "text/csv", bigCSV, []string{"Idempotency-Key: big-csv"}},
		{"YAML definition", http.MethodPut, "/api/v1/treaties", "application/yaml", bigYAML, nil},
		{"body on a route that takes none", http.MethodDelete, "/api/v1/tokens/x", "application/json", bigJSON, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.Do(c.method, c.path, e.Admin, c.ct, c.body, c.headers...)
			if c.method == http.MethodDelete {
				if r.Status != http.StatusNotFound && r.Status != http.StatusRequestEntityTooLarge {
					t.Errorf("%d %s", r.Status, r.Body)
				}
				return
			}
			wantStatus(t, r, http.StatusRequestEntityTooLarge)
			if er := r.Err(t); er.Code != "too_large" || !strings.Contains(er.Message, "limit") {
				t.Errorf("body %s", r.Body)
			}
		})
	}
	// The Slack command (64 KiB) and a dashboard form (1 MiB).
	big := signSlack(t, slackSecret, time.Now(), "status "+strings.Repeat("a", 64<<10))
	wantStatus(t, e.slack(big), http.StatusRequestEntityTooLarge)
	b := newBrowser(e)
	b.signIn(t, e.Officer)
	page := b.get("/treaties/hanoi/record")
	r := b.post("/treaties/hanoi/record", url.Values{"csrf": {csrfIn(t, page)}, "action": {"declaration"}, "participant": {"Viet Nam"}, "date": {"2026-05-04"}, "note": {strings.Repeat("a", 1<<20)}})
	wantStatus(t, r, http.StatusRequestEntityTooLarge)
	if e.Head() != before {
		t.Errorf("oversized bodies moved the log from %d to %d", before, e.Head())
	}
}

// TestJSONBodiesOverHTTP sends each JSON route bodies with the wrong
// Content-Type (415) and malformed bodies (400): nothing is written.
func TestJSONBodiesOverHTTP(t *testing.T) {
	e := MustEnv(t, envOptions{})
	before := e.Head()
	valid := `{"action":"ratification","participant":"Viet Nam","date":"2026-05-04","reason":"x","name":"n","role":"viewer"}`
	routes := []string{"/api/v1/treaties/hanoi/actions", "/api/v1/treaties/hanoi/events/5/correction", "/api/v1/treaties/hanoi/events/5/retraction", "/api/v1/tokens"}
	for _, path := range routes {
		for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "application/merge-patch+json", "text/json", "application/json; foo=bar"} {
			r := e.Do(http.MethodPost, path, e.Admin, ct, []byte(valid))
			if r.Status != http.StatusUnsupportedMediaType || r.Err(t).Code != "unsupported_media_type" || r.Err(t).Details["content_type"] != ct {
				t.Errorf("%s with Content-Type %q: %d %s, want 415", path, ct, r.Status, r.Body)
			}
		}
		for name, body := range map[string]string{
			"duplicate key":  `{"reason":"a","reason":"b","action":"ratification"}`,
			"trailing data":  `{"reason":"a"} {"reason":"b"}`,
			"not UTF-8":      "{\"reason\":\"\xff\xfe\"}",
			"too deep":       `{"reason":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
			"an array":       `[{"reason":"a"}]`,
			"unknown field":  `{"reason":"a","admin":true}`,
			"field by case":  `{"REASON":"a"}`,
			"lone surrogate": `{"reason":"\udead"}`,
		} {
			r := e.Do(http.MethodPost, path, e.Admin, "application/json; charset=utf-8", []byte(body))
			if r.Status != http.StatusBadRequest || r.Err(t).Code != "bad_request" {
				t.Errorf("%s, %s: %d %s, want 400", path, name, r.Status, r.Body)
			}
		}
	}
	r := e.Do(http.MethodPost, routes[0], e.Officer, "application/json", []byte(`{"action":"ratification","action":"signature","participant":"Viet Nam","date":"2026-05-04"}`))
	if er := r.Err(t); r.Status != http.StatusBadRequest || !strings.Contains(er.Message, `duplicate key "action"`) || er.Details["key"] != "action" {
		t.Errorf("the duplicate key is not named: %s", r.Body)
	}
	if e.Head() != before {
		t.Errorf("malformed bodies moved the log from %d to %d", before, e.Head())
	}
	wantStatus(t, e.Do(http.MethodPost, routes[0], e.Officer, "Application/JSON; Charset=UTF-8", mustJSON(t, ratification())), http.StatusCreated)
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestNoResponseHoldsASinkSecret subscribes webhook sinks with secret URLs
// and HMAC secrets (and plants a subscription of an earlier version whose
// payload holds them), then reads every page and endpoint that shows the
// log or subscriptions: no body holds a secret.
func TestNoResponseHoldsASinkSecret(t *testing.T) {
	e := MustEnv(t, envOptions{slackSecret: slackSecret})
	ctx := context.Background()
	secrets := []string{"T0SECRET/B0SECRET/xoxSecretPath1", "whsec_0123456789abcdefSECRET", "hook-path-SECRET-42", "legacyHMAC-SECRET", "legacy-path-SECRET"}
	if _, err := e.Ledger.Subscribe(ctx, events.Subscription{Sink: events.SinkSlackWebhook, Treaties: []string{hanoi}},
		events.SinkSecret{URL: "https://hooks.slack.com/services/" + secrets[0]}, events.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Ledger.Subscribe(ctx, events.Subscription{Sink: events.SinkWebhook, Treaties: []string{hanoi}},
		events.SinkSecret{URL: "https://ngo.example/" + secrets[2], Secret: secrets[1]}, events.Metadata{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	legacy := fmt.Sprintf(`{"subscription":{"id":"legacy1","sink":"webhook","url":"https://old.example/%s","secret":"%s","treaties":["XVIII-16"],"on":["all"]}}`, secrets[4], secrets[3])
	if _, err := e.Store.Append(ctx, events.StreamAppend{Stream: events.SubscriptionStream("legacy1"), Records: []events.Record{{
		Type: events.TypeSubscriptionCreated, SchemaVersion: 1, Meta: events.Metadata{Actor: "old"}, Payload: json.RawMessage(legacy)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Runner.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	stream, _ := openStream(t, e, "0", "")
	head := e.Head()
	b := newBrowser(e)
	b.signIn(t, e.Admin)
	var bodies []string
	for _, path := range []string{"/api/v1/events?limit=1000", "/api/v1/events?type=subscription.*", "/api/v1/tokens", "/api/v1/treaties",
		"/events", "/events?type=subscription.*", "/events?after=0", "/", "/treaties/hanoi"} {
		r := b.get(path)
		if path == "/api/v1/tokens" {
			r = e.Do(http.MethodGet, path, e.Admin, "", nil)
		}
		wantStatus(t, r, http.StatusOK)
		bodies = append(bodies, path+": "+string(r.Body))
	}
	for ev := range stream {
		b, _ := json.Marshal(ev.Data)
		bodies = append(bodies, fmt.Sprintf("stream %d: %s", ev.ID, b))
		if ev.ID >= head {
			break
		}
	}
	bodies = append(bodies, "slack: "+string(slashCommand(e, slackSecret, time.Now(), "subscribe hanoi --on deposits").Body))
	seenLegacy := false
	for _, body := range bodies {
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("a response holds the secret %q:\n%.400s", s, body)
			}
		}
		seenLegacy = seenLegacy || strings.Contains(body, "legacy1")
	}
	if !seenLegacy {
		t.Error("the planted subscription is in no response: the scan saw nothing")
	}
}

// TestBadIdempotencyKeys: a key too long or with anything but printable
// ASCII is 400, and nothing is written.
func TestBadIdempotencyKeys(t *testing.T) {
	e := MustEnv(t, envOptions{})
	before := e.Head()
	for name, key := range map[string]string{
		"256 characters": strings.Repeat("k", 256),
		"a tab":          "key\tone",
		"non-ASCII":      "clé",
	} {
		r := e.PostJSON("/api/v1/treaties/hanoi/actions", e.Officer, ratification(), "Idempotency-Key: "+key)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Err(t).Message, "Idempotency-Key") {
			t.Errorf("%s: %d %s, want 400 naming the header", name, r.Status, r.Body)
		}
	}
	if e.Head() != before {
		t.Errorf("the log moved from %d to %d", before, e.Head())
	}
	wantStatus(t, e.PostJSON("/api/v1/treaties/hanoi/actions", e.Officer, ratification(), "Idempotency-Key: "+strings.Repeat("k", 255)), http.StatusCreated)
}
