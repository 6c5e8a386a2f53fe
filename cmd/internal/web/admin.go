package web

import (
	"fmt"
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
	keep := func(result any) (int, any) {
		e, _ := result.(*events.Envelope)
		status := http.StatusOK
		if e != nil && e.Type == events.TypeTreatyRegistered {
			status = http.StatusCreated
		}
		return status, defineResponse{Treaty: def.ID, Changed: e != nil, Event: e}
	}
	r = s.answering(r, keep)
	e, err := s.cfg.Ledger.AddTreaty(r.Context(), def, meta(r, "", "api"))
	if err != nil {
		return err
	}
	if e != nil {
		s.afterWrite(r.Context(), "treaty", 1, e.Position)
	}
	s.reply(w, r, e, keep, nil)
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

// handleTokenCreate creates a token and answers with its secret, once. A
// retry with the same Idempotency-Key does not get the secret again (no
// cache keeps it): it gets 409 token_already_created naming the token the
// key created.
func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) error {
	var in tokenRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	key := r.Header.Get(idempotencyHeader)
	keep := func(result any) (int, any) { return tokenAlreadyCreated(s.cfg.Ledger, key, result) }
	r = s.answering(r, keep)
	secret, tok, err := s.cfg.Ledger.CreateToken(r.Context(), in.Name, in.Role, meta(r, "", ""))
	if err != nil {
		return err
	}
	s.afterWrite(r.Context(), "token", 1, 0)
	live := func(any) (int, any) {
		return http.StatusCreated, map[string]any{"secret": secret, "token": publicToken(tok)}
	}
	s.reply(w, r, createdToken{tok}, keep, live)
	return nil
}

// createdToken is the result of a token creation outside the ledger's
// transaction, for tokenAlreadyCreated.
type createdToken struct{ tok events.Token }

// tokenAlreadyCreated is the answer kept for the retries of a token
// creation: which token the key created, without its secret.
func tokenAlreadyCreated(l *events.Ledger, key string, result any) (int, any) {
	var tok events.Token
	switch v := result.(type) {
	case createdToken:
		tok = v.tok
	case *events.Envelope:
		if p, err := l.Registry().Decode(*v); err == nil {
			if tc, ok := p.(*events.TokenCreated); ok {
				tok = tc.Token
			}
		}
	}
	return http.StatusConflict, &apiError{Code: "token_already_created",
		Message: fmt.Sprintf("%s %q already created token %s (%q, role %s); its secret was shown once, in the answer to that request, and is kept nowhere. If that answer was lost, revoke token %s and create another with a new key.",
			idempotencyHeader, key, tok.ID, tok.Name, tok.Role, tok.ID),
		Details: map[string]any{"token": publicToken(tok)}}
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
	keep := func(any) (int, any) { return http.StatusNoContent, nil }
	r = s.answering(r, keep)
	if err := s.cfg.Ledger.RevokeToken(r.Context(), r.PathValue("id"), meta(r, "", "")); err != nil {
		return err
	}
	s.tokens.forget()
	s.afterWrite(r.Context(), "token", 1, 0)
	s.reply(w, r, nil, keep, nil)
	return nil
}
