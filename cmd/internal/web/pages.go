package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

//go:embed templates
var templateFiles embed.FS

// pageNames are the dashboard's pages: templates/NAME.html, each
// rendered inside templates/layout.html.
func pageNames() []string {
	return []string{"home", "treaty", "events", "participants", "participant", "signin", "record", "import", "error", "compare"}
}

func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"date":      dateText,
		"longDate":  longDateText,
		"when":      recordedText,
		"mark":      instrumentMark,
		"kindText":  participantKind,
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
		"iso":       sortKey,
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

// dateText is a date for people, "22 Jan 2021", in a <time> element
// that carries the ISO date and does not wrap; "—" when there is none.
func dateText(v any) template.HTML { return timeElement(v, friendly) }

// longDateText is dateText with the month in full ("1 June 2026"), for
// sentences.
func longDateText(v any) template.HTML { return timeElement(v, longDate) }

// timeElement formats a Date or *Date with format in a <time> element;
// "—" for none.
func timeElement(v any, format func(events.Date) string) template.HTML {
	var d events.Date
	switch x := v.(type) {
	case *events.Date:
		if x == nil {
			return "—"
		}
		d = *x
	case events.Date:
		d = x
	default:
		return "—"
	}
	if d.IsZero() {
		return "—"
	}
	return template.HTML(`<time datetime="` + d.String() + `">` + format(d) + `</time>`) //nolint:gosec // digits and month names only
}

// friendly is a date as people write it: "22 Jan 2021".
func friendly(d events.Date) string {
	y, m, day := d.YMD()
	return fmt.Sprintf("%d %s %d", day, m.String()[:3], y)
}

// longDate is a date with the month in full: "1 June 2026".
func longDate(d events.Date) string {
	y, m, day := d.YMD()
	return fmt.Sprintf("%d %s %d", day, m, y)
}

// recordedText is a recording time for people, in UTC: "22 Jan 2021
// 14:05 UTC", in a <time> element with the RFC 3339 instant.
func recordedText(t time.Time) template.HTML {
	t = t.UTC()
	d := events.NewDate(t.Year(), t.Month(), t.Day())
	return template.HTML(fmt.Sprintf(`<time datetime="%s">%s %02d:%02d UTC</time>`, t.Format(time.RFC3339), friendly(d), t.Hour(), t.Minute())) //nolint:gosec // digits and month names only
}

// participantKind says a participant's kind of the reference list for
// people.
func participantKind(kind string) string {
	switch kind {
	case events.KindMember:
		return "UN Member State"
	case events.KindObserver:
		return "non-member observer State"
	case events.KindNonMember:
		return "State not a UN member"
	case events.KindREIO:
		return "regional economic integration organization"
	case "":
		return "—"
	}
	return "registered by an officer"
}

// instrumentMark is the UN Treaty Collection's mark for the kind of an
// instrument: a accession, A acceptance, AA approval, d succession, s
// definitive signature, n provisional application, none for ratification.
func instrumentMark(kind events.Action) string {
	switch kind {
	case events.Accession:
		return "a"
	case events.Acceptance:
		return "A"
	case events.Approval:
		return "AA"
	case events.Succession:
		return "d"
	case events.DefinitiveSignature:
		return "s"
	case events.ProvisionalApplication:
		return "n"
	default: // ratification has no mark; other acts are not instruments
		return ""
	}
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
// dashboard; the countdown is said once, beside it (countdown).
func eifText(st projections.Status) template.HTML {
	switch {
	case st.EntryIntoForce == nil && st.ThresholdMetOn != nil:
		return template.HTML("waiting for the parent treaty (" + template.HTMLEscapeString(st.Parent) + ")") //nolint:gosec // escaped
	case st.EntryIntoForce == nil:
		return "not yet known"
	case st.DaysUntilEntryIntoForce != nil:
		return dateText(st.EntryIntoForce) + " (expected)"
	}
	return dateText(st.EntryIntoForce) + " (in force)"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
