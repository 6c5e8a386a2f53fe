package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

//go:embed templates
var templateFiles embed.FS

// pageNames are the dashboard's pages: templates/NAME.html, each
// rendered inside templates/layout.html.
func pageNames() []string {
	return []string{"home", "treaty", "events", "participants", "participant", "signin", "record", "import", "error"}
}

func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"date":      dateText,
		"label":     func(a events.Action) string { return a.Label() },
		"pct":       func(f float64) string { return fmt.Sprintf("%.1f", f) },
		"eif":       eifText,
		"name":      treatyName,
		"countdown": countdown,
		"isURL":     isHTTPURL,
		"seg":       url.PathEscape, // a name as one path segment: "a/b" → "a%2Fb"
		"summary":   summary,
		"query":     query,
		"lower":     strings.ToLower,
		"sortKey":   sortKey,
	}
}

// parsePages parses every page with the layout.
func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range pageNames() {
		t, err := template.New("layout.html").Funcs(templateFuncs()).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// pageFunc is a dashboard handler; a returned error is rendered as an
// error page with the status toAPIError gives it.
type pageFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) page(f pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			s.renderError(w, r, err)
		}
	})
}

// render renders a page with the data every page has: the signed-in
// token, the CSRF token, today.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("no page template %q", name)
	}
	if data == nil {
		data = map[string]any{}
	}
	data["User"] = tokenOf(r.Context())
	data["CSRF"] = csrfOf(r.Context())
	data["Today"] = s.today()
	data["Private"] = s.cfg.Private
	if r.Method == http.MethodGet && r.URL.Path != "/signin" {
		data["Path"] = r.URL.RequestURI()
	} else {
		data["Path"] = ""
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
	return nil
}

// renderError renders an error page.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPIError(err)
	if ae.Status >= 500 {
		s.logger.ErrorContext(r.Context(), "page failed", "request_id", requestIDOf(r.Context()), "path", r.URL.Path, "err", err)
	}
	data := map[string]any{"Status": ae.Status, "StatusText": http.StatusText(ae.Status), "Error": ae}
	if rerr := s.render(w, r, ae.Status, "error", data); rerr != nil {
		s.logger.ErrorContext(r.Context(), "render error page", "err", rerr)
		http.Error(w, ae.Message, ae.Status)
	}
}

func dateText(v any) string {
	switch d := v.(type) {
	case *events.Date:
		return orDash(d)
	case events.Date:
		return orDash(&d)
	}
	return "—"
}

// countdown says how far entry into force is from the status's date.
func countdown(st projections.Status) string {
	switch {
	case st.DaysUntilEntryIntoForce != nil:
		return "in " + plural(*st.DaysUntilEntryIntoForce, "day")
	case st.DaysSinceEntryIntoForce != nil && *st.DaysSinceEntryIntoForce == 0:
		return "in force from today"
	case st.DaysSinceEntryIntoForce != nil:
		return "in force for " + plural(*st.DaysSinceEntryIntoForce, "day")
	case st.Required > 0:
		return fmt.Sprintf("%d more instruments needed", st.Remaining)
	}
	return ""
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// query builds a query string from key, value pairs, leaving out empty
// values.
func query(kv ...string) template.URL {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return ""
	}
	return template.URL("?" + v.Encode()) //nolint:gosec // url.Values.Encode escapes every key and value
}

// sortKey is a date's sort key in the participant table: ISO text, or ""
// (sorted last) when there is none.
func sortKey(d *events.Date) string {
	if d == nil || d.IsZero() {
		return ""
	}
	return d.String()
}

// treatyName is the short title, or the title.
func treatyName(st projections.Status) string {
	if st.ShortTitle != "" {
		return st.ShortTitle
	}
	return st.Title
}

// eifText says when a treaty enters (or entered) into force, for the
// dashboard.
func eifText(st projections.Status) string {
	switch {
	case st.EntryIntoForce == nil && st.ThresholdMetOn != nil:
		return "waiting for the parent treaty (" + st.Parent + ")"
	case st.EntryIntoForce == nil:
		return "not yet known"
	case st.DaysUntilEntryIntoForce != nil:
		return fmt.Sprintf("%s (in %s)", st.EntryIntoForce, plural(*st.DaysUntilEntryIntoForce, "day"))
	case st.DaysSinceEntryIntoForce != nil && *st.DaysSinceEntryIntoForce == 0:
		return fmt.Sprintf("%s (in force from today)", st.EntryIntoForce)
	}
	return fmt.Sprintf("%s (in force)", st.EntryIntoForce)
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func orDash(d *events.Date) string {
	if d == nil || d.IsZero() {
		return "—"
	}
	return d.String()
}
