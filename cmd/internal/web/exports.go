package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/export"
	"github.com/treatywatch/treatywatch/events"
)

// The exports of the API: the event log as the archive or CSV, and a
// treaty's participant table, what `treatywatch export log` and `export
// status` print, byte for byte. They are written as they are read: the
// log one page of the store at a time, flushed after each, so a log of
// any length exports in the memory of one page.

// exportRoutes are the export routes; routeTable lists them.
func (s *Server) exportRoutes() []route {
	log := route{method: http.MethodGet, pattern: "/api/v1/export/log", access: reader, surface: apiSurface, h: s.archiveNeedsAdmin(s.api(s.handleExportLog))}
	log.stream = true // a long log takes longer than the request timeout; the handler lifts the write deadline
	return []route{
		log,
		{method: http.MethodGet, pattern: "/api/v1/treaties/{id}/export", access: reader, surface: apiSurface, h: s.api(s.handleTreatyExport)},
	}
}

// archiveNeedsAdmin lets a request for the archive (format=jsonl) through
// to next only with an admin token: the archive is the whole ledger, as
// a backup is, payloads unredacted (token hashes included), where the
// CSV and the log pages show them redacted to any reader.
func (s *Server) archiveNeedsAdmin(next http.Handler) http.Handler {
	gated := s.authAPI(admin, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("format") == "jsonl" {
			gated.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// handleExportLog answers GET /api/v1/export/log?format=jsonl|csv
// [&treaty=ID][&until=POS|DATE|TIME]: the CSV of the log (the default)
// or the archive (jsonl, for an admin token: every stored field, which
// import-log reads), streamed. A log
// holding a subscription of schema version 1 with its secret in the
// payload is refused as an archive (409 refused) before anything is sent:
// the API has no --include-legacy-secrets.
func (s *Server) handleExportLog(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var (
		f    export.LogFormat
		ct   string
		name string
	)
	switch q.Get("format") {
	case "jsonl":
		f, ct, name = export.LogArchive, "application/jsonl; charset=utf-8", "jsonl"
	case "csv", "":
		f, ct, name = export.LogCSV, "text/csv; charset=utf-8", "csv"
	default:
		return badRequestf("format %q: want jsonl or csv", q.Get("format"))
	}
	u, err := export.ParseUntil(q.Get("until"))
	if ie, ok := errors.AsType[*events.InvalidError](err); ok {
		return badRequestf("until: %s", ie.Reason)
	} else if err != nil {
		return err
	}
	filter := export.LogFilter{Until: u}
	file := "treatywatch-log"
	if t := q.Get("treaty"); t != "" {
		id, err := s.resolveTreaty(r.Context(), t)
		if err != nil {
			return err
		}
		filter.Stream, file = events.TreatyStream(id), fileSafe(id)+"-log"
	}
	if f == export.LogArchive {
		p, err := export.FirstLegacySecret(r.Context(), s.cfg.Log, filter)
		if err != nil {
			return err
		}
		if p != 0 {
			return &export.LegacySecretError{Position: p}
		}
	}
	rc := http.NewResponseController(w)
	// The export outlives the server's write timeout on a long log; the
	// client's pace bounds it (a client that stops reading blocks one
	// page, not the server).
	_ = rc.SetWriteDeadline(time.Time{})
	attachment(w, ct, file+"."+name)
	w.WriteHeader(http.StatusOK)
	out := export.NewLog(w, f)
	n, err := export.Copy(r.Context(), s.cfg.Log, filter, out, func() { _ = rc.Flush() })
	if err == nil {
		err = out.Flush()
	}
	if err != nil {
		// The status is sent: end the response so that the client sees
		// a broken transfer, never a complete-looking shorter log.
		s.logger.ErrorContext(r.Context(), "export failed", "request_id", requestIDOf(r.Context()), "events_written", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// handleTreatyExport answers GET /api/v1/treaties/{id}/export?format=csv|json
// [&as_of=D][&known_at=T]: the participant table as `export status ID
// --format csv` prints it (the default), or the status with its table as `--format
// json` does, written straight to the connection.
func (s *Server) handleTreatyExport(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "json" {
		return badRequestf("format %q: want csv or json", format)
	}
	st, name, err := s.participantTable(r, format)
	if err != nil {
		return err
	}
	if format == "csv" {
		attachment(w, "text/csv; charset=utf-8", name)
		w.WriteHeader(http.StatusOK)
		err = export.ParticipantsCSV(w, st)
	} else {
		attachment(w, "application/json", name)
		w.WriteHeader(http.StatusOK)
		err = export.StatusJSON(w, st)
	}
	if err != nil {
		s.logger.ErrorContext(r.Context(), "export failed", "request_id", requestIDOf(r.Context()), "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}
