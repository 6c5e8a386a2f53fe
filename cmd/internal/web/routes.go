package web

import (
	"context"
	"net/http"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/chart"
)

// access is what a route needs from its caller.
type access int

const (
	public  access = iota // anyone
	reader                // anyone, or a viewer token when Config.Private
	officer               // a token of role officer or admin
	admin                 // a token of role admin
)

// surface tells how a route authenticates and reports errors.
type surface int

const (
	apiSurface  surface = iota // bearer token, JSON errors
	pageSurface                // session cookie and CSRF, HTML errors
	opsSurface                 // plain answers; a bearer token when access asks for one
)

// route is one entry of the routing table: the OpenAPI test checks every
// one against openapi.json.
type route struct {
	method  string
	pattern string // net/http pattern: /api/v1/treaties/{id}/status
	access  access
	surface surface
	maxBody int64 // 0: no body expected
	stream  bool  // long-lived: no request timeout, no write deadline
	// idempotent routes honour the Idempotency-Key header.
	idempotent bool
	// secretAnswer routes answer with a secret, which no cache may keep:
	// only the answer the handler declares is kept for retries.
	secretAnswer bool
	h            http.Handler
}

// requestTimeout bounds the handling of every request but a stream.
const requestTimeout = 30 * time.Second

func (s *Server) routeTable() []route {
	api := func(method, pattern string, acc access, h apiFunc) route {
		return route{method: method, pattern: pattern, access: acc, surface: apiSurface, h: s.api(h)}
	}
	write := func(method, pattern string, acc access, limit int64, h apiFunc) route {
		return route{method: method, pattern: pattern, access: acc, surface: apiSurface, maxBody: limit, idempotent: true, h: s.api(h)}
	}
	page := func(method, pattern string, acc access, h pageFunc) route {
		r := route{method: method, pattern: pattern, access: acc, surface: pageSurface, h: s.page(h)}
		if method == http.MethodPost {
			r.maxBody = maxFormBody
		}
		return r
	}
	ops := func(method, pattern string, h http.Handler) route {
		return route{method: method, pattern: pattern, access: public, surface: opsSurface, h: h}
	}
	stream := api(http.MethodGet, "/api/v1/events/stream", reader, s.handleStream)
	stream.stream = true
	importPage := page(http.MethodPost, "/treaties/{id}/import", officer, s.pageImportPost)
	importPage.maxBody = maxCSVBody + maxFormBody
	tokenCreate := write(http.MethodPost, "/api/v1/tokens", admin, maxJSONBody, s.handleTokenCreate)
	tokenCreate.secretAnswer = true
	// /metrics tells the log's size, the write rate and who is failing:
	// on a private instance it needs a viewer token, as every read does
	// (Prometheus: authorization: {credentials_file: ...}).
	metricsRoute := ops(http.MethodGet, "/metrics", s.metrics.handler)
	metricsRoute.access = reader
	slackRoute := ops(http.MethodPost, "/slack/commands", http.HandlerFunc(s.handleSlack))
	slackRoute.maxBody = maxSlackBody
	return append([]route{
		// Reads.
		api(http.MethodGet, "/api/v1/treaties", reader, s.handleTreaties),
		api(http.MethodGet, "/api/v1/treaties/{id}", reader, s.handleTreaty),
		api(http.MethodGet, "/api/v1/treaties/{id}/status", reader, s.handleStatus),
		api(http.MethodGet, "/api/v1/treaties/{id}/participants", reader, s.handleTreatyParticipants),
		api(http.MethodGet, "/api/v1/treaties/{id}/participants/{name}", reader, s.handleTreatyParticipant),
		api(http.MethodGet, "/api/v1/treaties/{id}/timeline", reader, s.handleTimeline),
		api(http.MethodGet, "/api/v1/treaties/{id}/diff", reader, s.handleDiff),         // analysis.go
		api(http.MethodGet, "/api/v1/treaties/{id}/forecast", reader, s.handleForecast), // analysis.go
		api(http.MethodGet, "/api/v1/participants", reader, s.handleParticipants),
		api(http.MethodGet, "/api/v1/participants/{name}", reader, s.handleParticipant),
		api(http.MethodGet, "/api/v1/events", reader, s.handleEvents),
		stream,
		// Writes.
		write(http.MethodPost, "/api/v1/treaties/{id}/actions", officer, maxJSONBody, s.handleRecord),
		write(http.MethodPost, "/api/v1/treaties/{id}/imports", officer, maxCSVBody, s.handleImport),
		write(http.MethodPost, "/api/v1/treaties/{id}/events/{pos}/correction", officer, maxJSONBody, s.handleCorrect),
		write(http.MethodPost, "/api/v1/treaties/{id}/events/{pos}/retraction", officer, maxJSONBody, s.handleRetract),
		write(http.MethodPost, "/api/v1/treaties", officer, maxYAMLBody, s.handleDefine),
		write(http.MethodPut, "/api/v1/treaties", officer, maxYAMLBody, s.handleDefine),
		tokenCreate,
		api(http.MethodGet, "/api/v1/tokens", admin, s.handleTokenList),
		write(http.MethodDelete, "/api/v1/tokens/{id}", admin, 0, s.handleTokenRevoke),
		api(http.MethodGet, "/api/v1/openapi.json", public, s.handleOpenAPI),
		// Slack and operations.
		slackRoute,
		ops(http.MethodGet, "/healthz", http.HandlerFunc(s.handleHealth)),
		ops(http.MethodGet, "/readyz", http.HandlerFunc(s.handleReady)),
		metricsRoute,
		ops(http.MethodGet, "/static/{file...}", staticHandler()),
		// Dashboard.
		page(http.MethodGet, "/{$}", reader, s.pageHome),
		page(http.MethodGet, "/treaties/{id}", reader, s.pageTreaty),
		page(http.MethodGet, "/treaties/{id}/participants.csv", reader, s.pageParticipantsDownload("csv")),
		page(http.MethodGet, "/treaties/{id}/participants.json", reader, s.pageParticipantsDownload("json")),
		page(http.MethodGet, "/treaties/{id}/events.csv", reader, s.pageEventsDownload("csv")),
		page(http.MethodGet, "/treaties/{id}/events.jsonl", reader, s.pageEventsDownload("jsonl")),
		page(http.MethodGet, "/treaties/{id}/feed.atom", reader, s.pageTreatyFeed),
		page(http.MethodGet, "/treaties/{id}/chart.svg", reader, s.pageTreatyChart(chart.SVG)),
		page(http.MethodGet, "/treaties/{id}/chart.png", reader, s.pageTreatyChart(chart.PNG)),
		page(http.MethodGet, "/compare", reader, s.pageCompare),
		page(http.MethodGet, "/compare/chart.svg", reader, s.pageCompareChart(chart.SVG)),
		page(http.MethodGet, "/compare/chart.png", reader, s.pageCompareChart(chart.PNG)),
		page(http.MethodGet, "/feed.atom", reader, s.pageLedgerFeed),
		page(http.MethodGet, "/events", reader, s.pageEvents),
		page(http.MethodGet, "/participants", reader, s.pageParticipants),
		page(http.MethodGet, "/participants/{name}", reader, s.pageParticipant),
		page(http.MethodGet, "/signin", public, s.pageSignIn),
		page(http.MethodPost, "/signin", public, s.pageSignInPost),
		page(http.MethodPost, "/signout", public, s.pageSignOut),
		page(http.MethodGet, "/treaties/{id}/record", officer, s.pageRecord),
		page(http.MethodPost, "/treaties/{id}/record", officer, s.pageRecordPost),
		page(http.MethodGet, "/treaties/{id}/import", officer, s.pageImport),
		importPage,
	}, s.exportRoutes()...)
}

// wrap applies a route's body limit, timeout and authentication.
func (s *Server) wrap(rt route) http.Handler {
	h := rt.h
	switch rt.surface {
	case apiSurface:
		if rt.idempotent {
			h = s.idempotency(rt, h)
		}
		h = s.authAPI(rt.access, h)
	case pageSurface:
		h = s.authPage(rt.access, rt.method == http.MethodPost, h)
	case opsSurface:
		if rt.access != public {
			h = s.authAPI(rt.access, h)
		}
	}
	limit, streaming := rt.maxBody, rt.stream
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if limit > 0 {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		} else if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		}
		if !streaming {
			ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		h.ServeHTTP(w, r)
	})
}
