package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/treatywatch/treatywatch/cmd/internal/export"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// streamReader is what a Log may also offer: one stream's events
// (the ledger's *sqlite.Store does).
type streamReader interface {
	ReadStream(ctx context.Context, stream string) ([]events.Envelope, error)
}

// streamEvents returns the events of one stream in order: with one read
// when the Log reads streams, else by scanning the log.
func (s *Server) streamEvents(ctx context.Context, stream string) ([]events.Envelope, error) {
	if sr, ok := s.cfg.Log.(streamReader); ok {
		evs, err := sr.ReadStream(ctx, stream)
		if err != nil {
			return nil, fmt.Errorf("read stream %s: %w", stream, err)
		}
		return evs, nil
	}
	var out []events.Envelope
	after := int64(0)
	for {
		page, err := s.cfg.Log.ReadAll(ctx, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("read log after %d: %w", after, err)
		}
		for _, e := range page {
			after = e.Position
			if e.Stream == stream {
				out = append(out, e)
			}
		}
		if len(page) < 1000 {
			return out, nil
		}
	}
}

// attachment sets the headers of a download.
func attachment(w http.ResponseWriter, contentType, filename string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
}

// pageParticipantsDownload answers the participant table as
// `treatywatch status ID --csv` (format "csv") or `--json` ("json") print
// it, for the same as_of and known_at.
func (s *Server) pageParticipantsDownload(format string) pageFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		st, name, err := s.participantTable(r, format)
		if err != nil {
			return err
		}
		var b strings.Builder
		if format == "csv" {
			err = export.ParticipantsCSV(&b, st)
			attachment(w, "text/csv; charset=utf-8", name)
		} else {
			err = export.StatusJSON(&b, st)
			attachment(w, "application/json", name)
		}
		if err != nil {
			return err
		}
		_, _ = w.Write([]byte(b.String()))
		return nil
	}
}

// participantTable returns the status a download of the participant
// table answers (the request's treaty, as_of and known_at) and the
// download's file name for format ("csv", "json").
func (s *Server) participantTable(r *http.Request, format string) (projections.Status, string, error) {
	id, err := s.treatyID(r)
	if err != nil {
		return projections.Status{}, "", err
	}
	asOf, knownAt, err := s.timeAxes(r)
	if err != nil {
		return projections.Status{}, "", err
	}
	st, err := s.cfg.Runner.Status(r.Context(), id, asOf, knownAt)
	if err != nil {
		return projections.Status{}, "", err
	}
	return st, fmt.Sprintf("%s-participants-%s.%s", fileSafe(id), asOf, format), nil
}

// pageEventsDownload answers a treaty's event log as `treatywatch log
// --treaty ID --csv` (format "csv") or `--json` ("jsonl") print it.
func (s *Server) pageEventsDownload(format string) pageFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := s.treatyID(r)
		if err != nil {
			return err
		}
		evs, err := s.streamEvents(r.Context(), events.TreatyStream(id))
		if err != nil {
			return err
		}
		var b strings.Builder
		f, ct := export.LogJSONLines, "application/jsonl; charset=utf-8"
		if format == "csv" {
			f, ct = export.LogCSV, "text/csv; charset=utf-8"
		}
		out := export.NewLog(&b, f)
		for _, e := range evs {
			if err := out.Write(e); err != nil {
				return err
			}
		}
		if err := out.Flush(); err != nil {
			return err
		}
		attachment(w, ct, fmt.Sprintf("%s-events.%s", fileSafe(id), format))
		_, _ = w.Write([]byte(b.String()))
		return nil
	}
}

// fileSafe keeps a treaty id's letters, digits, '-' and '.' for a file
// name (treaty ids hold nothing else).
func fileSafe(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, id)
}
