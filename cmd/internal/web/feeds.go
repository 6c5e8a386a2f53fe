package web

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// feedLimit is the number of entries a feed holds, the latest first.
const feedLimit = 200

// atomFeed is an Atom 1.0 feed (RFC 4287).
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	ID       string       `xml:"id"`
	Title    string       `xml:"title"`
	Updated  string       `xml:"updated"`
	Link     atomLink     `xml:"link"`
	Category atomCategory `xml:"category"`
	Summary  string       `xml:"summary"`
	updated  time.Time
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

// feedID is the stable id of a feed or entry: a tag URI (RFC 4151) that
// depends on the treaty and the ledger's positions only, never on the
// host serving it.
func feedID(parts ...string) string {
	id := "tag:treatywatch,2025:"
	for i, p := range parts {
		if i > 0 {
			id += "/"
		}
		id += url.PathEscape(p)
	}
	return id
}

// treatyEntries are a treaty's feed entries as of asOf: each act, each
// milestone reached, and the entry into force once its date is known.
// Updated times come from the ledger: when the act was recorded (or its
// latest correction), and for a milestone or the entry into force, when
// the latest act dated on or before the day it was reached was recorded.
func treatyEntries(base string, st projections.Status, h *events.History, recordedAt map[int64]time.Time) []atomEntry {
	page := base + "/treaties/" + url.PathEscape(st.Treaty)
	name := treatyName(st)
	facts := h.Facts()
	var out []atomEntry
	knownBy := func(d events.Date) time.Time {
		var t time.Time
		for _, f := range facts {
			if !f.Date.After(d) {
				u := f.RecordedAt
				if f.CorrectedBy > 0 && recordedAt[f.CorrectedBy].After(u) {
					u = recordedAt[f.CorrectedBy]
				}
				if u.After(t) {
					t = u
				}
			}
		}
		return t
	}
	for _, f := range facts {
		if f.Date.After(st.AsOf) {
			continue
		}
		u := f.RecordedAt
		if f.CorrectedBy > 0 && recordedAt[f.CorrectedBy].After(u) {
			u = recordedAt[f.CorrectedBy]
		}
		title := fmt.Sprintf("%s: %s by %s on %s", name, f.Action.Label(), f.Participant, longDate(f.Date))
		if f.Subject != "" {
			title += " (" + f.Subject + ")"
		}
		sum := title + "."
		if f.Reference != "" {
			sum += " Depositary notification " + f.Reference + "."
		}
		if f.Note != "" {
			sum += " " + f.Note
		}
		out = append(out, atomEntry{ID: feedID(st.Treaty, "act", fmt.Sprint(f.Position)), Title: title, updated: u,
			Link: atomLink{Rel: "alternate", Type: "text/html", Href: page}, Category: atomCategory{Term: "act"}, Summary: sum})
	}
	for _, m := range st.Milestones {
		if m.Date == nil {
			continue
		}
		title := fmt.Sprintf("%s: %d %% of the instruments needed (%d of %d) reached on %s", name, m.Percent, m.Target, st.Required, longDate(*m.Date))
		out = append(out, atomEntry{ID: feedID(st.Treaty, "milestone", fmt.Sprint(m.Percent)), Title: title, updated: knownBy(*m.Date),
			Link: atomLink{Rel: "alternate", Type: "text/html", Href: page}, Category: atomCategory{Term: "milestone"}, Summary: title + "."})
	}
	if st.EntryIntoForce != nil && st.ThresholdMetOn != nil {
		verb := "enters"
		if !st.EntryIntoForce.After(st.AsOf) {
			verb = "entered"
		}
		title := fmt.Sprintf("%s %s into force on %s", name, verb, longDate(*st.EntryIntoForce))
		out = append(out, atomEntry{ID: feedID(st.Treaty, "entry-into-force"), Title: title, updated: knownBy(*st.ThresholdMetOn),
			Link: atomLink{Rel: "alternate", Type: "text/html", Href: page}, Category: atomCategory{Term: "entry-into-force"},
			Summary: fmt.Sprintf("%s; the conditions of its clause were met on %s. %s", title, longDate(*st.ThresholdMetOn), st.Rule)})
	}
	return out
}

// feedBase is the absolute URL of the server as the request reached it.
func feedBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// recordedTimes maps the positions of a treaty's events to their
// recording times.
func (s *Server) recordedTimes(ctx context.Context, id string) (map[int64]time.Time, time.Time, error) {
	evs, err := s.streamEvents(ctx, events.TreatyStream(id))
	if err != nil {
		return nil, time.Time{}, err
	}
	out := make(map[int64]time.Time, len(evs))
	var last time.Time
	for _, e := range evs {
		out[e.Position] = e.RecordedAt
		if e.RecordedAt.After(last) {
			last = e.RecordedAt
		}
	}
	return out, last, nil
}

func (s *Server) treatyFeedEntries(ctx context.Context, base, id string, asOf events.Date) ([]atomEntry, time.Time, error) {
	st, err := s.cfg.Runner.Status(ctx, id, asOf, time.Time{})
	if err != nil {
		return nil, time.Time{}, err
	}
	h, err := s.cfg.Ledger.History(ctx, id, time.Time{})
	if err != nil {
		return nil, time.Time{}, err
	}
	rec, last, err := s.recordedTimes(ctx, id)
	if err != nil {
		return nil, time.Time{}, err
	}
	return treatyEntries(base, st, h, rec), last, nil
}

// writeFeed sorts entries (latest first, then by id), keeps feedLimit of
// them and writes the feed.
func writeFeed(w http.ResponseWriter, f atomFeed, entries []atomEntry, last time.Time) error {
	sort.SliceStable(entries, func(i, j int) bool {
		if !entries[i].updated.Equal(entries[j].updated) {
			return entries[i].updated.After(entries[j].updated)
		}
		return entries[i].ID > entries[j].ID
	})
	if len(entries) > feedLimit {
		entries = entries[:feedLimit]
	}
	for i := range entries {
		entries[i].Updated = entries[i].updated.UTC().Format(time.RFC3339)
		if entries[i].updated.After(last) {
			last = entries[i].updated
		}
	}
	f.Entries = entries
	f.Updated = last.UTC().Format(time.RFC3339)
	f.Author = atomPerson{Name: "treatywatch"}
	b, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode feed: %w", err)
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b)
	_, _ = w.Write([]byte("\n"))
	return nil
}

// pageTreatyFeed answers /treaties/{id}/feed.atom.
func (s *Server) pageTreatyFeed(w http.ResponseWriter, r *http.Request) error {
	id, err := s.treatyID(r)
	if err != nil {
		return err
	}
	base := feedBase(r)
	entries, last, err := s.treatyFeedEntries(r.Context(), base, id, s.today())
	if err != nil {
		return err
	}
	st, err := s.cfg.Runner.Status(r.Context(), id, s.today(), time.Time{})
	if err != nil {
		return err
	}
	page := base + "/treaties/" + url.PathEscape(id)
	return writeFeed(w, atomFeed{ID: feedID(id), Title: treatyName(st) + " (" + id + ") · treatywatch",
		Links: []atomLink{{Rel: "self", Type: "application/atom+xml", Href: page + "/feed.atom"}, {Rel: "alternate", Type: "text/html", Href: page}}}, entries, last)
}

// pageLedgerFeed answers /feed.atom: the entries of every treaty.
func (s *Server) pageLedgerFeed(w http.ResponseWriter, r *http.Request) error {
	base := feedBase(r)
	var all []atomEntry
	var last time.Time
	for _, id := range s.cfg.Runner.Treaties() {
		entries, l, err := s.treatyFeedEntries(r.Context(), base, id, s.today())
		if err != nil {
			return err
		}
		all = append(all, entries...)
		if l.After(last) {
			last = l
		}
	}
	return writeFeed(w, atomFeed{ID: feedID("ledger"), Title: "Every tracked treaty · treatywatch",
		Links: []atomLink{{Rel: "self", Type: "application/atom+xml", Href: base + "/feed.atom"}, {Rel: "alternate", Type: "text/html", Href: base + "/"}}}, all, last)
}
