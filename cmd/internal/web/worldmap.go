package web

import (
	"html/template"
	"net/http"

	"github.com/treatywatch/treatywatch/cmd/internal/worldmap"
	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/projections"
)

// worldMap draws a treaty status on the world map: every participant of
// the directory, coloured by its state on the status's date.
func (s *Server) worldMap(st projections.Status, dir *events.Directory) (template.HTML, error) {
	return s.maps.Render(worldmap.FromStatus(treatyName(st), st, dir))
}

// homeMap adds the home page's world map to data, as of today: the treaty
// named (id or title, as in a treaty page's address) by the query
// parameter "map"; by default the first treaty listed that is on the way
// to entry into force (the home page's subject) and has an act, else the
// first with an act, else the first. An unknown name is the ledger's
// unknown-treaty error (404).
// A map of one treaty is what a visitor expects from a treaty tracker
// (the UNTC, ICAN and the High Seas Alliance draw one per treaty): its
// colours mean what they mean on the treaty page, whereas a count of
// treaties per participant would add up treaties with different
// thresholds and subjects.
func (s *Server) homeMap(r *http.Request, sts []projections.Status, data map[string]any) error {
	data["Map"], data["MapStatus"] = nil, nil
	if len(sts) == 0 {
		return nil
	}
	st := defaultMapTreaty(sts)
	if name := r.URL.Query().Get("map"); name != "" {
		id, err := s.resolveTreaty(r.Context(), name)
		if err != nil {
			return err
		}
		for _, c := range sts {
			if c.Treaty == id {
				st = c
			}
		}
	}
	dir, err := s.cfg.Ledger.Directory(r.Context())
	if err != nil {
		return err
	}
	m, err := s.worldMap(st, dir)
	if err != nil {
		return err
	}
	data["Map"], data["MapStatus"] = m, st
	return nil
}

// defaultMapTreaty is the home map's treaty when none is asked for.
func defaultMapTreaty(sts []projections.Status) projections.Status {
	for _, st := range sts {
		if !st.InForce && len(st.Participants) > 0 {
			return st
		}
	}
	for _, st := range sts {
		if len(st.Participants) > 0 {
			return st
		}
	}
	return sts[0]
}
