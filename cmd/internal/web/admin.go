package web

import (
	"net/http"
	"time"

	"github.com/treatywatch/treatywatch/events"
	"github.com/treatywatch/treatywatch/events/treatyfile"
)

// defineResponse answers PUT or POST /api/v1/treaties.
type defineResponse struct {
	Treaty string `json:"treaty"`
	// Changed is false when the definition equals the registered one and
	// nothing was recorded.
	Changed bool             `json:"changed"`
	Event   *events.Envelope `json:"event"`
}

// handleDefine registers a treaty definition (YAML, as `treaty add`
// reads it) or records an amendment of a registered one: 201 for a new
// treaty, 200 for an amendment or an unchanged definition. A share's
// weights must be inline: there is no folder to read a weights_file from.
func (s *Server) handleDefine(w http.ResponseWriter, r *http.Request) error {
	data, err := readBody(r, "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
	if err != nil {
		return err
	}
	dir, err := s.cfg.Ledger.Directory(r.Context())
	if err != nil {
		return err
	}
	def, err := treatyfile.Parse(data, nil, dir)
	if err != nil {
		return err
	}
	e, err := s.cfg.Ledger.AddTreaty(r.Context(), def, meta(r, "", "api"))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if e != nil {
		s.afterWrite(r.Context(), "treaty", 1, e.Position)
		if e.Type == events.TypeTreatyRegistered {
			status = http.StatusCreated
		}
	}
	writeJSON(w, status, defineResponse{Treaty: def.ID, Changed: e != nil, Event: e})
	return nil
}

// tokenRequest is the body of POST /api/v1/tokens.
type tokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// apiToken is a token as the API shows it: without its hash.
type apiToken struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	Revoked   bool      `json:"revoked,omitempty"`
}

func publicToken(t events.Token) apiToken {
	return apiToken{ID: t.ID, Name: t.Name, Role: t.Role, CreatedAt: t.CreatedAt, Revoked: t.Revoked}
}

func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) error {
	var in tokenRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	secret, tok, err := s.cfg.Ledger.CreateToken(r.Context(), in.Name, in.Role, meta(r, "", ""))
	if err != nil {
		return err
	}
	s.afterWrite(r.Context(), "token", 1, 0)
	writeJSON(w, http.StatusCreated, map[string]any{"secret": secret, "token": publicToken(tok)})
	return nil
}

func (s *Server) handleTokenList(w http.ResponseWriter, r *http.Request) error {
	toks, err := s.cfg.Ledger.Tokens(r.Context())
	if err != nil {
		return err
	}
	out := make([]apiToken, len(toks))
	for i, t := range toks {
		out[i] = publicToken(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
	return nil
}

func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Ledger.RevokeToken(r.Context(), r.PathValue("id"), meta(r, "", "")); err != nil {
		return err
	}
	s.tokens.forget()
	s.afterWrite(r.Context(), "token", 1, 0)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
