package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/treatywatch/treatywatch/cmd/internal/chart"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// maxCompared is how many treaties one comparison draws at most.
const maxCompared = 12

// compareDays are the days since opening for signature at which the
// compare page lines the treaties up, as `treatywatch compare` does.
func compareDays() []int { return []int{30, 90, 180, 365, 730, 1095, 1825, 3650} }

// curve returns a treaty's curve as of asOf, as known at knownAt, from
// the runner's status (a protocol's computed with its parent's) and the
// ledger's history: what `treatywatch chart` draws.
func (s *Server) curve(ctx context.Context, id string, asOf events.Date, knownAt time.Time) (projections.Curve, error) {
	st, err := s.cfg.Runner.Status(ctx, id, asOf, knownAt)
	if err != nil {
		return projections.Curve{}, err
	}
	h, err := s.cfg.Ledger.History(ctx, id, knownAt)
	if err != nil {
		return projections.Curve{}, err
	}
	dir, err := s.cfg.Ledger.Directory(ctx)
	if err != nil {
		return projections.Curve{}, err
	}
	return projections.CurveOf(h, dir, st), nil
}

// chartLayout reads the size query parameter: desktop (default) or phone.
func chartLayout(r *http.Request) (chart.Layout, error) {
	l, err := chart.ParseLayout(r.URL.Query().Get("size"))
	if err != nil {
		return "", badRequestf("size: %v", err)
	}
	return l, nil
}

// writeDrawing answers a drawing in format: shown in place (an <img>),
// or as an attachment named name when the download parameter is set.
// The SVG's own policy allows its inline styles and nothing else.
func writeDrawing(w http.ResponseWriter, r *http.Request, d *chart.Drawing, format chart.Format, name string) error {
	var buf bytes.Buffer
	if err := d.Write(&buf, format); err != nil {
		return err
	}
	h := w.Header()
	if r.URL.Query().Get("download") != "" {
		attachment(w, format.ContentType(), name+"."+string(format))
	} else {
		h.Set("Content-Type", format.ContentType())
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'")
	_, _ = w.Write(buf.Bytes())
	return nil
}

// pageTreatyChart answers a treaty's chart (`treatywatch chart ID`) as
// SVG or PNG, for as_of, known_at and size.
func (s *Server) pageTreatyChart(format chart.Format) pageFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := s.treatyID(r)
		if err != nil {
			return err
		}
		asOf, knownAt, err := s.timeAxes(r)
		if err != nil {
			return err
		}
		layout, err := chartLayout(r)
		if err != nil {
			return err
		}
		c, err := s.curve(r.Context(), id, asOf, knownAt)
		if err != nil {
			return err
		}
		d, err := chart.Treaty(c, layout)
		if err != nil {
			return err
		}
		return writeDrawing(w, r, d, format, fmt.Sprintf("%s-chart-%s", fileSafe(id), asOf))
	}
}

// chartComparison is what the compare page and chart read from the query:
// the treaties (ids, comma-separated or repeated; default all), the time
// axes and max_days.
type chartComparison struct {
	ids     []string
	asOf    events.Date
	knownAt time.Time
	maxDays int
	curves  []projections.Curve
}

func (s *Server) comparison(r *http.Request) (*chartComparison, error) {
	asOf, knownAt, err := s.timeAxes(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	cmp := &chartComparison{asOf: asOf, knownAt: knownAt}
	if v := q.Get("max_days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, badRequestf("max_days %q: want 0 (no limit) or a positive number of days", v)
		}
		cmp.maxDays = n
	}
	var names []string
	for _, v := range q["ids"] {
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		names = s.cfg.Runner.Treaties()
	}
	if len(names) > maxCompared {
		return nil, badRequestf("ids: %d treaties; at most %d can be compared at once", len(names), maxCompared)
	}
	seen := map[string]bool{}
	for _, n := range names {
		id, err := s.resolveTreaty(r.Context(), n)
		if err != nil {
			return nil, err
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		c, err := s.curve(r.Context(), id, asOf, knownAt)
		if err != nil {
			return nil, err
		}
		cmp.ids = append(cmp.ids, id)
		cmp.curves = append(cmp.curves, c)
	}
	return cmp, nil
}

// query is the comparison's query string, for the chart's and the
// downloads' addresses.
func (c *chartComparison) query(r *http.Request, extra ...string) string {
	v := url.Values{}
	v.Set("ids", strings.Join(c.ids, ","))
	q := r.URL.Query()
	for _, k := range []string{"as_of", "known_at", "max_days"} {
		if q.Get(k) != "" {
			v.Set(k, q.Get(k))
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v.Encode()
}

// pageCompareChart answers the comparison chart (`treatywatch compare
// --out`) as SVG or PNG.
func (s *Server) pageCompareChart(format chart.Format) pageFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		layout, err := chartLayout(r)
		if err != nil {
			return err
		}
		cmp, err := s.comparison(r)
		if err != nil {
			return err
		}
		d, err := chart.Compare(cmp.curves, layout, cmp.maxDays)
		if err != nil {
			return err
		}
		return writeDrawing(w, r, d, format, "compare-"+cmp.asOf.String())
	}
}

// compareRow is a treaty's line in the compare page's alignment table.
type compareRow struct {
	Treaty, Name string
	Opened       events.Date
	Required     int
	// Cells are the instruments counted at each of compareDays, "—" past
	// the as-of date or without an opening date.
	Cells []string
}

// pageCompare shows the comparison chart, its downloads and the
// alignment table for the chosen treaties.
func (s *Server) pageCompare(w http.ResponseWriter, r *http.Request) error {
	cmp, err := s.comparison(r)
	if err != nil {
		return err
	}
	var rows []compareRow
	for _, c := range cmp.curves {
		row := compareRow{Treaty: c.Treaty, Name: c.Title, Opened: c.Opened, Required: c.Required}
		for _, n := range compareDays() {
			cell := "—"
			if d := c.Opened.AddDays(n); !c.Opened.IsZero() && !d.After(c.AsOf) {
				cell = strconv.Itoa(c.CountedOn(d))
			}
			row.Cells = append(row.Cells, cell)
		}
		rows = append(rows, row)
	}
	chosen := map[string]bool{}
	for _, id := range cmp.ids {
		chosen[id] = true
	}
	var all []map[string]any
	for _, id := range s.cfg.Runner.Treaties() {
		name := id
		if st, err := s.cfg.Runner.Status(r.Context(), id, cmp.asOf, cmp.knownAt); err == nil {
			name = treatyName(st)
		}
		all = append(all, map[string]any{"ID": id, "Name": name, "Checked": chosen[id]})
	}
	d, err := chart.Compare(cmp.curves, chart.Desktop, cmp.maxDays)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	return s.render(w, r, http.StatusOK, "compare", map[string]any{
		"Rows": rows, "Days": compareDays(), "All": all, "AsOf": cmp.asOf, "AsOfParam": q.Get("as_of"), "KnownAt": q.Get("known_at"),
		"MaxDays": q.Get("max_days"), "Alt": d.Description,
		"SVG":         "/compare/chart.svg?" + cmp.query(r),
		"PhoneSVG":    "/compare/chart.svg?" + cmp.query(r, "size", "phone"),
		"SVGDownload": "/compare/chart.svg?" + cmp.query(r, "download", "1"),
		"PNGDownload": "/compare/chart.png?" + cmp.query(r, "download", "1"),
	})
}
