package web

import (
	"context"
	"embed"
	"net/http"
	"strings"
	"time"
)

//go:embed openapi.json
var openapiJSON []byte

//go:embed static
var staticFiles embed.FS

// readyLag is how many events the runner may be behind the log head for
// /readyz to still answer ready.
const readyLag = 100

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReady answers 200 when the ledger is readable and the projection
// runner is caught up (or within readyLag events), else 503.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	head, err := s.head(ctx)
	if err != nil {
		s.logger.WarnContext(ctx, "not ready: ledger unreadable", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "reason": "the ledger cannot be read"})
		return
	}
	pos := s.cfg.Runner.Position()
	lag := max(head-pos, 0)
	body := map[string]any{"status": "ready", "head": head, "projected": pos, "lag": lag}
	if lag > readyLag {
		body["status"] = "catching_up"
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openapiJSON)
	return nil
}

// staticHandler serves the embedded stylesheet and script (no listings).
func staticHandler() http.Handler {
	files := http.FileServerFS(staticFiles)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		if name == "" || strings.HasSuffix(name, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/static/" + name
		files.ServeHTTP(w, r2)
	})
}
